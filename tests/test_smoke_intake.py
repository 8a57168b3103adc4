from handoffs.models import Lead
from handoffs.services import intake_lead


def test_intake_routes_first_lead_to_first_rep(sales_team):
    result = intake_lead(
        {"email": "zoe@example.org", "first_name": "Zoë", "form_type": "demo_request"},
        channel="api",
    )

    lead = Lead.objects.get()
    assert result.created is True
    assert lead.owner == sales_team["reps"][0]
    assert lead.lead_type == "hand_raiser"
    assert lead.score is None
