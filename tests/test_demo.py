from handoffs.demo import load_demo
from handoffs.models import Lead, Milestone, RoutingDecision


def test_demo_workspace_has_leads_in_every_state(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        logins = load_demo()

    statuses = set(Lead.objects.values_list("status", flat=True))
    assert statuses == {"new", "working", "qualified", "disqualified", "nurture"}
    assert (
        Lead.objects.filter(owner__isnull=True, team__name="Inbound Nordics").count()
        == 1
    )
    assert RoutingDecision.objects.filter(step="account_owner").count() == 2
    assert Milestone.objects.filter(breached_at__isnull=False).count() == 4
    assert logins["jonas"] == "bowtie-demo"


def test_demo_routes_nordic_lead_to_fallback_queue_with_reasons(db):
    load_demo()

    decision = RoutingDecision.objects.get(lead__email="aino.korhonen@saimaa-soft.fi")
    assert decision.step == "fallback_queue"
    assert decision.reason == (
        "Matched rule “Nordic languages to Nordics” to Inbound Nordics, but nobody "
        "there is eligible (Astrid Berg: does not speak Finnish; Mikko Virtanen: "
        "out of office): waiting in the team's fallback queue."
    )
