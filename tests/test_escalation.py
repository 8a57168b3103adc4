"""Escalation ladders: each rung at its instant, exactly once, in every order."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from bowtie.models import Notification
from handoffs import clocks, escalation
from handoffs.escalation import sweep
from handoffs.models import EscalationRule, LadderStep, Lead, Milestone, SlaPolicy
from handoffs.services import intake_lead, log_touch
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    OutOfOfficeFactory,
    PersonFactory,
    TeamFactory,
)

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
DUE = NOW + timedelta(minutes=5)
HAND_RAISER = {
    "email": "zoe@globex.com",
    "first_name": "Zoë",
    "last_name": "Doe",
    "company_name": "Globex",
    "form_type": "demo_request",
}


def take_in(submission=HAND_RAISER, now=NOW) -> Lead:
    return intake_lead(submission, channel="form", now=now).lead


def steps_of(lead: Lead, key="first_response") -> dict[str, LadderStep]:
    return {
        step.action: step
        for step in LadderStep.objects.filter(
            milestone__handoff__lead=lead, milestone__key=key
        )
    }


def notified(person) -> list[str]:
    return list(
        Notification.objects.filter(recipient=person)
        .order_by("created_at", "pk")
        .values_list("subject", flat=True)
    )


def test_intake_schedules_the_default_ladder_at_exact_instants(sales_team):
    lead = take_in()

    steps = steps_of(lead)

    assert {action: step.due_at for action, step in steps.items()} == {
        "warn": NOW + timedelta(minutes=3, seconds=45),
        "notify_manager": DUE,
        "reassign": DUE + timedelta(hours=24),
        "escalate": DUE + timedelta(hours=48),
    }
    assert steps["reassign"].rule_text == (
        "Reassign to another eligible person 24 h after the due time"
    )


def test_disposition_clock_gets_the_long_ladder_without_reassignment(sales_team):
    lead = take_in()

    steps = steps_of(lead, key="disposition")

    assert {action: step.due_at for action, step in steps.items()} == {
        "warn": NOW + timedelta(days=10, hours=12),
        "notify_manager": NOW + timedelta(days=14),
        "escalate": NOW + timedelta(days=21),
    }


def test_warning_goes_to_the_owner_once_and_not_a_moment_early(sales_team):
    lead = take_in()
    warn_at = NOW + timedelta(minutes=3, seconds=45)

    early = sweep(warn_at - timedelta(seconds=1))
    on_time = sweep(warn_at)
    again = sweep(warn_at + timedelta(seconds=5))

    assert (early["steps"], on_time["steps"], again["steps"]) == (0, 1, 0)
    assert notified(lead.owner) == [
        "New lead: Zoë Doe",
        "Due soon: First response for Zoë Doe",
    ]
    step = steps_of(lead)["warn"]
    assert (step.taken_at, step.outcome) == (warn_at, f"Warned {lead.owner}.")


def test_breach_tells_the_owner_and_the_manager(sales_team):
    lead = take_in()
    sweep(NOW + timedelta(minutes=4))

    done = sweep(DUE)

    manager = sales_team["manager"]
    assert done == {"breaches": 1, "steps": 1}
    assert notified(lead.owner)[-1] == "SLA breached: First response for Zoë Doe"
    assert notified(manager) == [
        "SLA breached in your team: First response for Zoë Doe"
    ]
    assert Notification.objects.get(recipient=manager).body == (
        "First response was due 2025-03-04 10:05 CET and is 0 min overdue "
        f"({lead.owner} has it)."
    )


def test_manager_of_the_owner_is_told_before_the_team_head(sales_team):
    lead = take_in()
    direct_manager = PersonFactory(full_name="Dora Direct", role="manager")
    lead.owner.manager = direct_manager
    lead.owner.save()

    sweep(DUE)

    assert notified(direct_manager) == [
        "SLA breached in your team: First response for Zoë Doe"
    ]
    assert notified(sales_team["manager"]) == []


def test_a_response_in_time_closes_every_waiting_rung(sales_team):
    lead = take_in()
    log_touch(lead, lead.owner, "call", now=NOW + timedelta(minutes=2))

    # Three days on: every rung of the response clock would have fired, and
    # the disposition clock's first rung is still a week away.
    done = sweep(NOW + timedelta(days=3))

    steps = steps_of(lead)
    assert done["steps"] == 0
    assert {step.taken_at for step in steps.values()} == {NOW + timedelta(minutes=2)}
    assert {step.outcome for step in steps.values()} == {
        "Not needed: the clock stopped in time."
    }
    assert notified(sales_team["manager"]) == []


def test_reassignment_goes_to_the_next_eligible_never_back(sales_team):
    rep_a, rep_b, rep_c = sales_team["reps"]
    lead = take_in()
    assert lead.owner == rep_a
    sweep(DUE)

    reassign_at = DUE + timedelta(hours=24)
    sweep(reassign_at)

    lead.refresh_from_db()
    handoff = lead.handoffs.get()
    decision = lead.decisions.latest("decided_at")
    assert lead.owner == rep_b
    assert handoff.receiver == rep_b
    assert decision.step == "sla_reassignment"
    assert decision.reason == (
        "First response breached (Reassign to another eligible person 24 h after "
        "the due time). Reassigned from Rep A to Rep B, the next eligible in "
        "Inbound EMEA who had not had it."
    )
    assert notified(rep_b)[-1] == "Lead reassigned to you: Zoë Doe"
    assert notified(rep_a)[-1] == "Lead reassigned: Zoë Doe"
    assert steps_of(lead)["reassign"].outcome == "Reassigned from Rep A to Rep B."


def test_reassignment_skips_whoever_is_away_and_finds_nobody_when_all_are(
    sales_team,
):
    rep_a, rep_b, rep_c = sales_team["reps"]
    lead = take_in()
    reassign_at = DUE + timedelta(hours=24)
    for rep in (rep_b, rep_c):
        OutOfOfficeFactory(
            person=rep, starts_at=NOW, ends_at=reassign_at + timedelta(days=1)
        )

    sweep(reassign_at)

    lead.refresh_from_db()
    assert lead.owner == rep_a
    assert steps_of(lead)["reassign"].outcome == (
        "Nobody else eligible (Rep A: had this lead already; Rep B: out of office; "
        "Rep C: out of office); left as it was."
    )


def test_reassignment_skips_a_deactivated_rep(sales_team):
    rep_a, rep_b, rep_c = sales_team["reps"]
    lead = take_in()
    rep_b.is_active = False
    rep_b.save()

    sweep(DUE + timedelta(hours=24))

    lead.refresh_from_db()
    assert lead.owner == rep_c


def test_final_escalation_reaches_the_head_above_the_manager(sales_team):
    region = TeamFactory(name="EMEA")
    vp = PersonFactory(full_name="Vera VP", role="manager", team=region)
    region.head = vp
    region.save()
    team = sales_team["team"]
    team.parent = region
    team.save()
    lead = take_in()

    sweep(DUE + timedelta(hours=48))

    assert notified(vp) == ["Escalation: First response for Zoë Doe"]
    assert steps_of(lead)["escalate"].outcome == (
        "Escalated to Vera VP, head of the team."
    )


def test_a_sweeper_down_for_two_days_takes_every_rung_once_on_return(sales_team):
    lead = take_in()
    back_at = NOW + timedelta(days=2, hours=1)

    first = sweep(back_at)
    second = sweep(back_at + timedelta(seconds=5))

    steps = steps_of(lead)
    assert first == {"breaches": 1, "steps": 4}
    assert second == {"breaches": 0, "steps": 0}
    assert steps["warn"].outcome == (
        "Skipped: the clock had run out before the warning was sent."
    )
    assert {step.taken_at for step in steps.values()} == {back_at}
    # The late warning sends nothing; the rest each send one notice.
    assert "Due soon: First response for Zoë Doe" not in notified(lead.owner)
    assert (
        notified(sales_team["manager"]).count(
            "SLA breached in your team: First response for Zoë Doe"
        )
        == 1
    )


def test_a_step_is_taken_by_one_sweeper_only(sales_team):
    lead = take_in()
    step = steps_of(lead)["notify_manager"]

    first = escalation.take_step(step.pk, DUE)
    second = escalation.take_step(step.pk, DUE + timedelta(seconds=1))

    assert (first, second) == (True, False)
    assert len(notified(sales_team["manager"])) == 1


def test_a_sweep_that_dies_mid_step_loses_nothing(sales_team):
    lead = take_in()
    broken = {**escalation.ACTIONS, "notify_manager": mock.Mock(side_effect=OSError)}

    with mock.patch.dict(escalation.ACTIONS, broken):
        crashed = sweep(DUE)
    left_behind = steps_of(lead)["notify_manager"]
    retried = sweep(DUE + timedelta(seconds=5))

    step = steps_of(lead)["notify_manager"]
    # The warning, due earlier, went through; the broken step rolled back.
    assert crashed == {"breaches": 1, "steps": 1}
    assert (left_behind.taken_at, left_behind.outcome) == (None, "")
    assert retried == {"breaches": 0, "steps": 1}
    assert step.taken_at == DUE + timedelta(seconds=5)
    assert len(notified(sales_team["manager"])) == 1


def test_a_worker_killed_mid_breach_batch_loses_nothing_and_doubles_nothing(
    sales_team,
):
    leads = [take_in({**HAND_RAISER, "email": f"p{n}@globex.com"}) for n in range(3)]

    # The process dies while the batch's notices are being written: the
    # transaction never commits.
    with mock.patch.object(clocks, "notify_many", side_effect=KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            sweep(DUE)
    after_crash = Milestone.objects.filter(breached_at__isnull=False).count()
    retried = sweep(DUE + timedelta(seconds=5))
    again = sweep(DUE + timedelta(seconds=10))

    assert after_crash == 0
    assert retried["breaches"] == 3
    assert again["breaches"] == 0
    for lead in leads:
        assert (
            notified(lead.owner).count("SLA breached: First response for Zoë Doe") == 1
        )


def test_an_edited_ladder_applies_to_clocks_started_afterwards(sales_team):
    EscalationRule.objects.filter(
        policy__lead_type="hand_raiser", action="warn"
    ).update(percent_of_target=50)
    EscalationRule.objects.filter(
        policy__lead_type="hand_raiser", action="reassign"
    ).update(is_active=False)

    steps = steps_of(take_in())

    assert steps["warn"].due_at == NOW + timedelta(minutes=2, seconds=30)
    assert "reassign" not in steps


def test_a_rule_must_carry_the_value_its_anchor_needs(sales_team):
    policy = SlaPolicy.objects.get(lead_type="paid", milestone_key="first_response")
    policy.ladder.filter(action="warn").delete()
    rule = EscalationRule(
        policy=policy,
        action="warn",
        anchor="share_of_target",
        percent_of_target=None,
        elapsed_seconds=3600,
    )

    with pytest.raises(ValidationError) as refused:
        rule.full_clean()

    assert refused.value.message_dict == {
        "percent_of_target": ["Give a share from 1 to 100 %."],
        "elapsed_seconds": ["Leave empty for a share of the target."],
    }


def test_lead_page_timeline_shows_each_rung_taken_with_its_rule(sales_team, client):
    rep_a, rep_b, _ = sales_team["reps"]
    lead = take_in()
    for moment in (NOW + timedelta(minutes=4), DUE, DUE + timedelta(hours=24)):
        sweep(moment)
    client.force_login(rep_b.user)

    page = client.get(reverse("lead-detail", args=[lead.pk]))

    timeline = page.context["timeline"]
    assert [(entry.what, entry.state) for entry in timeline[:6]] == [
        ("Handoff opened", "done"),
        ("First response: warn the owner", "done"),
        ("First response due (business time)", "done"),
        ("First response breached", "late"),
        ("First response: notify the owner's manager", "done"),
        ("First response: reassign to another eligible person", "done"),
    ]
    assert timeline[5].detail == (
        "Reassigned from Rep A to Rep B. Rule: Reassign to another eligible "
        "person 24 h after the due time."
    )
    assert ("First response: escalate to the head of the team", "scheduled") in [
        (entry.what, entry.state) for entry in timeline
    ]
    assert "Reassigned from Rep A to Rep B." in page.content.decode()


def test_a_known_accounts_lead_is_never_reassigned_into_rotation(sales_team):
    olga = PersonFactory(full_name="Olga Owner", role="ae", team=sales_team["team"])
    account = AccountFactory(name="Acme", owner=olga)
    AccountDomainFactory(account=account, domain="acme.com")
    lead = take_in({**HAND_RAISER, "email": "zoe@acme.com"})

    sweep(DUE + timedelta(hours=24))

    lead.refresh_from_db()
    assert lead.owner == olga
    assert steps_of(lead)["reassign"].outcome == (
        "Not reassigned: a known account's lead stays with its owner."
    )


def test_work_done_after_a_breach_closes_the_rest_of_the_ladder_as_late(sales_team):
    lead = take_in()
    sweep(DUE)

    log_touch(lead, lead.owner, "call", now=DUE + timedelta(hours=1))

    assert steps_of(lead)["reassign"].outcome == (
        "Not needed any more: the work was done, late."
    )
