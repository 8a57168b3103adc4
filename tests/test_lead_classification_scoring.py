"""Lead types from form, UTM and referral data; scores with editable weights."""

import pytest
from django.core.exceptions import ValidationError

from handoffs.classification import classify_lead
from handoffs.models import Lead, ScoringModel
from handoffs.scoring import fit_score, intent_score, score_lead
from handoffs.services import intake_lead
from tests.factories import AccountDomainFactory, AccountFactory

# Fit 90 (500 staff 40, a VP 35, a company domain 15), intent 40 (6 visits 15,
# 10 minutes 10, 2 pages 5, an opened e-mail 10), third-party intent 70.
SCORED_SUBMISSION = {
    "email": "vp@globex.com",
    "employee_count": "500",
    "job_title": "VP Sales",
    "visits": "6",
    "time_on_site_seconds": "600",
    "page_views_per_visit": "2",
    "last_activity": "Email Opened",
    "third_party_intent": "70",
    "utm_medium": "organic",
}


@pytest.mark.parametrize(
    ("values", "lead_type"),
    [
        ({"form_type": "demo_request"}, "hand_raiser"),
        ({"form_type": "contact_sales", "utm_medium": "cpc"}, "hand_raiser"),
        ({"form_type": "pricing"}, "hand_raiser"),
        ({"utm_medium": "cpc"}, "paid"),
        ({"utm_medium": "paid_social"}, "paid"),
        ({"source": "google ads"}, "paid"),
        ({"utm_medium": "organic", "source": "google"}, "organic"),
        ({}, "organic"),
        ({"form_type": "webinar", "utm_medium": "cpc"}, "nurture"),
        ({"form_type": "content_download"}, "nurture"),
        (
            {"referral_code": "PARTNER-7", "form_type": "demo_request"},
            "partner_referral",
        ),
        ({"source": "partner", "utm_medium": "cpc"}, "partner_referral"),
        ({"source": "reference"}, "partner_referral"),
    ],
)
def test_classify_lead_gives_type_by_the_product_rule(values, lead_type):
    assert classify_lead(values) == lead_type


def test_classify_lead_reads_normalised_values_when_taken_in(sales_team):
    result = intake_lead(
        {"email": "zoe@globex.com", "form_type": " Demo_Request ", "utm_medium": "CPC"},
        channel="api",
    )

    assert result.lead.lead_type == "hand_raiser"


def test_hand_raiser_bypasses_scoring(sales_team):
    submission = SCORED_SUBMISSION | {"form_type": "demo_request"}

    result = intake_lead(submission, channel="api")

    lead = Lead.objects.get(pk=result.lead.pk)
    assert lead.lead_type == "hand_raiser"
    assert lead.score is None
    assert lead.fit_score is None
    assert lead.intent_score is None
    assert lead.third_party_score is None
    assert lead.score_weights == {}


def test_score_is_weighted_40_40_20_by_default(sales_team):
    result = intake_lead(SCORED_SUBMISSION, channel="api")

    lead = Lead.objects.get(pk=result.lead.pk)
    assert lead.lead_type == "organic"
    assert lead.fit_score == 90
    assert lead.intent_score == 40
    assert lead.third_party_score == 70
    assert lead.score == 66
    assert lead.score_weights == {"fit": 40, "intent": 40, "third_party": 20}


def test_score_follows_the_weights_when_scoring_model_is_edited(sales_team):
    weights = ScoringModel.current()
    weights.fit_weight, weights.intent_weight, weights.third_party_weight = 60, 20, 20
    weights.save()

    result = intake_lead(SCORED_SUBMISSION, channel="api")

    lead = Lead.objects.get(pk=result.lead.pk)
    assert lead.score == 76
    assert lead.score_weights == {"fit": 60, "intent": 20, "third_party": 20}


def test_score_counts_a_matched_account_as_the_best_domain_fit(sales_team):
    AccountDomainFactory(account=AccountFactory(name="Globex"), domain="globex.com")

    result = intake_lead(SCORED_SUBMISSION, channel="api")

    lead = Lead.objects.get(pk=result.lead.pk)
    assert lead.fit_score == 100
    assert lead.score == 70


def test_score_lead_is_the_rounded_weighted_mean():
    score = score_lead(
        {
            "employee_count": 5,
            "job_title": "Student",
            "email_domain": "gmail.com",
            "third_party_intent": 90,
        },
        {
            "visits": 12,
            "time_on_site_seconds": 1800,
            "page_views_per_visit": 6,
            "last_activity": "Had a Phone Conversation",
        },
        {"fit": 20, "intent": 30, "third_party": 50},
    )

    assert score.fit == 10
    assert score.intent == 100
    assert score.third_party == 90
    assert score.total == 77
    assert score.weights == {"fit": 20, "intent": 30, "third_party": 50}


def test_scoring_model_refuses_weights_that_do_not_add_up_to_100():
    weights = ScoringModel(fit_weight=50, intent_weight=40, third_party_weight=20)

    with pytest.raises(ValidationError) as refused:
        weights.clean()

    assert refused.value.messages == ["The three weights must add up to 100, not 110."]


@pytest.mark.parametrize(
    ("title", "points"),
    [
        ("VP Sales", 35),
        ("Director of IT", 35),
        ("Co-Founder", 35),
        ("Head of Revenue", 35),
        ("Marketing Coordinator", 10),
        ("Account Manager", 25),
        ("International Account Manager", 25),
        ("Team Leader", 25),
        ("Student", 0),
        ("Interns", 0),
        ("Accountant", 10),
        ("", 0),
    ],
)
def test_fit_score_credits_title_words_only_as_whole_words(title, points):
    assert fit_score({"job_title": title}) == points


@pytest.mark.parametrize(
    ("employees", "points"), [(5, 10), (10, 25), (199, 25), (200, 40), (None, 0)]
)
def test_fit_score_credits_company_size_by_band(employees, points):
    assert fit_score({"employee_count": employees}) == points


def test_fit_score_gives_no_domain_points_when_free_mail():
    assert fit_score({"email_domain": "gmail.com"}) == 0
    assert fit_score({"email_domain": "globex.com"}) == 15


def test_intent_score_saturates_and_subtracts_bad_activity():
    assert (
        intent_score(
            {"visits": 50, "time_on_site_seconds": 7200, "page_views_per_visit": 20}
        )
        == 75
    )
    assert intent_score({"visits": 2, "last_activity": "Email Marked Spam"}) == 0
    assert intent_score({}) == 0
