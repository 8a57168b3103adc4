"""Customer health: the components, weights, history, kickoff, first value,
the usage import and the trend, on made-up rows and on the RavenStack files."""

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.template import Context, Template
from django.urls import reverse

from bowtie.models import (
    Account,
    JobHeartbeat,
    ProductUsage,
    Subscription,
    SupportTicket,
)
from bowtie.usage_import import DEFAULT_FOLDER_NAME, import_usage
from partners.health import (
    days_to_first_value,
    logins_from_days,
    percent,
    record_first_value,
    responsiveness_from_hours,
    score_account_health,
    score_all_health,
    weighted_score,
)
from partners.models import HealthScore, HealthWeight
from partners.services import log_milestone, log_session
from partners.tasks import score_health
from tests.factories import AccountFactory, ContactFactory, PersonFactory, UserFactory
from tests.partner_fixtures import build_partner_world

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
ON = date(2027, 2, 28)
DEFAULT_WEIGHTS = {
    "milestone_completion": 30,
    "stakeholder_engagement": 20,
    "customer_responsiveness": 20,
    "admin_logins": 20,
    "training_attendance": 10,
}
RAVENSTACK_ON = date(2024, 12, 31)


@pytest.fixture
def world(db):
    with time_machine.travel(NOW, tick=False):
        return build_partner_world()


def add_usage(account, *days, usage_count=3, feature="feature_1"):
    for used_on in days:
        ProductUsage.objects.create(
            account=account,
            source="test",
            external_id=f"U-{account.pk}-{used_on}-{feature}",
            used_on=used_on,
            feature=feature,
            usage_count=usage_count,
        )


def add_ticket(account, submitted_on, hours):
    return SupportTicket.objects.create(
        account=account,
        source="test",
        external_id=f"T-{account.pk}-{submitted_on}-{hours}",
        submitted_on=submitted_on,
        resolution_hours=Decimal(hours),
    )


def log(world, kind, planned_on=None, actual_on=None):
    return log_milestone(
        world.acme_engagement,
        kind,
        world.vendor,
        planned_on=planned_on,
        actual_on=actual_on,
        ae_attended=True if kind == "kickoff" and actual_on else None,
        now=NOW,
    )


def kick_off(world, on=date(2027, 2, 12)):
    log(world, "kickoff", planned_on=date(2027, 2, 10), actual_on=on)


# The pure rules.


def test_responsiveness_is_full_up_to_24_hours_and_nil_from_120():
    mapped = [
        responsiveness_from_hours(Decimal(hours)) for hours in (1, 24, 72, 96, 120, 500)
    ]

    assert mapped == [100, 100, 50, 25, 0, 0]


def test_responsiveness_between_the_edges_is_linear():
    mapped = [responsiveness_from_hours(Decimal(hours)) for hours in ("48", "108")]

    assert mapped == [Decimal(75), Decimal("12.5")]


def test_admin_logins_count_20_days_as_full_and_are_capped_at_100():
    mapped = [logins_from_days(days) for days in (0, 1, 9, 20, 27)]

    assert mapped == [0, 5, 45, 100, 100]


def test_percent_of_nothing_is_not_measured_and_more_than_all_is_capped():
    assert percent(0, 0) is None
    assert percent(1, 4) == 25
    assert percent(5, 4) == 100


def test_score_renormalises_the_weights_of_the_measured_components():
    values = {
        "milestone_completion": Decimal(80),
        "stakeholder_engagement": None,
        "customer_responsiveness": Decimal(50),
        "admin_logins": None,
        "training_attendance": None,
    }

    # (80 × 30 + 50 × 20) / (30 + 20)
    assert weighted_score(values, DEFAULT_WEIGHTS) == Decimal("68.0")


def test_score_rounds_to_a_tenth_half_up():
    values = {"admin_logins": Decimal("33.25"), "milestone_completion": None}

    assert weighted_score(values, DEFAULT_WEIGHTS) == Decimal("33.3")


def test_score_is_none_when_nothing_is_measured():
    nothing = dict.fromkeys(DEFAULT_WEIGHTS)
    weightless = {"admin_logins": Decimal(90)}

    assert weighted_score(nothing, DEFAULT_WEIGHTS) is None
    assert weighted_score(weightless, {**DEFAULT_WEIGHTS, "admin_logins": 0}) is None


# Scoring an engagement's account.


def test_health_of_an_engagement_counts_each_component_in_its_window(world):
    engagement = world.acme_engagement
    account = engagement.account
    ada = account.contacts.get()
    ben = ContactFactory(account=account, first_name="Ben")
    cy = ContactFactory(account=account, first_name="Cy")
    # Kickoff late, first meeting on time, go-live planned and not done yet.
    kick_off(world)
    log(
        world,
        "first_meeting",
        planned_on=date(2027, 2, 15),
        actual_on=date(2027, 2, 15),
    )
    log(world, "go_live", planned_on=date(2027, 2, 25))
    for held_on, kind, invited, attended in [
        (date(2027, 2, 20), "meeting", [ada, ben], [ada]),
        (date(2027, 2, 22), "training", [ada, ben, cy], [ada, ben]),
        # The day before the window (30 days ending on the 28th).
        (date(2027, 1, 29), "training", [cy], [cy]),
    ]:
        log_session(
            engagement,
            world.vendor,
            kind=kind,
            title=f"{kind} on {held_on}",
            held_on=held_on,
            invited=invited,
            attended=attended,
            now=NOW,
        )
    add_ticket(account, date(2027, 2, 20), 48)
    add_ticket(account, date(2027, 2, 25), 96)
    add_ticket(account, date(2027, 1, 20), 200)
    add_usage(account, *[date(2027, 2, day) for day in range(1, 10)])
    add_usage(account, date(2027, 2, 3), feature="feature_2")
    add_usage(account, date(2027, 2, 20), usage_count=0)
    add_usage(account, date(2027, 1, 29))

    health = score_account_health(account, ON, now=NOW)

    # (33.3 × 30 + 66.7 × 20 + 50 × 20 + 45 × 20 + 66.7 × 10) / 100, unrounded
    assert health.score == Decimal("49.0")
    assert health.engagement == engagement
    assert health.computed_at == NOW
    assert health.components == {
        "milestone_completion": {
            "value": 33.3,
            "weight": 30,
            "basis": "1 of 3 milestones due done on time",
        },
        "stakeholder_engagement": {
            "value": 66.7,
            "weight": 20,
            "basis": "2 of 3 stakeholders at a session",
        },
        "customer_responsiveness": {
            "value": 50.0,
            "weight": 20,
            "basis": "median 72.0 h to resolve 2 tickets",
        },
        "admin_logins": {"value": 45.0, "weight": 20, "basis": "9 of 20 days with use"},
        "training_attendance": {
            "value": 66.7,
            "weight": 10,
            "basis": "2 of 3 invitations to training attended",
        },
    }


def test_health_is_not_scored_before_the_kickoff(world):
    account = world.acme_engagement.account
    log(world, "kickoff", planned_on=date(2027, 2, 10))

    before_it_is_held = score_account_health(account, date(2027, 2, 11), now=NOW)
    kick_off(world, on=date(2027, 2, 12))
    day_before = score_account_health(account, date(2027, 2, 11), now=NOW)
    kickoff_day = score_account_health(account, date(2027, 2, 12), now=NOW)

    assert (before_it_is_held, day_before) == (None, None)
    # The kickoff was planned on the 10th and held on the 12th: late.
    assert kickoff_day.score == Decimal("0.0")
    assert list(HealthScore.objects.values_list("scored_on", "score")) == [
        (date(2027, 2, 12), Decimal("0.0"))
    ]


def test_score_all_health_skips_accounts_before_their_kickoff(world):
    kick_off(world)
    plain = AccountFactory(name="Plain")
    add_usage(plain, date(2027, 2, 27))
    # Birch's account has usage and an engagement not kicked off yet.
    add_usage(world.birch_engagement.account, date(2027, 2, 27))
    AccountFactory(name="Nothing to score")

    counts = score_all_health(date(2027, 2, 11), now=NOW)
    later = score_all_health(ON, now=NOW)

    assert counts == {
        "on": "2027-02-11",
        "scored": 1,
        "unmeasured": 0,
        "before_kickoff": 1,
    }
    assert later == {
        "on": "2027-02-28",
        "scored": 2,
        "unmeasured": 0,
        "before_kickoff": 1,
    }
    assert sorted(
        HealthScore.objects.values_list("account__name", "scored_on", "score")
    ) == [
        ("Globex", ON, Decimal("0.0")),
        ("Plain", date(2027, 2, 11), Decimal("0.0")),
        ("Plain", ON, Decimal("5.0")),
    ]


def test_an_account_without_an_engagement_is_scored_on_any_day(db):
    account = AccountFactory(name="Imported")
    add_ticket(account, date(2024, 12, 20), 12)
    add_usage(account, date(2024, 12, 30))

    health = score_account_health(account, date(2024, 12, 31), now=NOW)

    assert health.engagement is None
    assert health.score == Decimal("52.5")
    assert {name: part["value"] for name, part in health.components.items()} == {
        "milestone_completion": None,
        "stakeholder_engagement": None,
        "customer_responsiveness": 100.0,
        "admin_logins": 5.0,
        "training_attendance": None,
    }


def test_an_account_with_nothing_to_measure_has_no_score(db):
    account = AccountFactory(name="Quiet")

    health = score_account_health(account, ON, now=NOW)

    assert health.score is None
    assert health.components["admin_logins"] == {
        "value": None,
        "weight": 20,
        "basis": "no usage data",
    }


def test_usage_history_without_use_in_the_window_scores_no_logins(db):
    account = AccountFactory(name="Lapsed")
    add_usage(account, ON - timedelta(days=30))

    health = score_account_health(account, ON, now=NOW)

    assert health.score == Decimal("0.0")
    assert health.components["admin_logins"]["basis"] == "0 of 20 days with use"


def test_editing_a_weight_changes_the_next_score_and_not_the_last(db):
    account = AccountFactory(name="Weighed")
    add_ticket(account, ON, 12)
    add_usage(account, *[ON - timedelta(days=offset) for offset in range(9)])
    first = score_account_health(account, ON, now=NOW)

    HealthWeight.objects.filter(component="admin_logins").update(weight=60)
    second = score_account_health(account, ON + timedelta(days=1), now=NOW)

    first.refresh_from_db()
    # (100 × 20 + 45 × 20) / 40, then (100 × 20 + 45 × 60) / 80 = 58.75
    assert (first.score, second.score) == (Decimal("72.5"), Decimal("58.8"))
    assert first.components["admin_logins"]["weight"] == 20
    assert second.components["admin_logins"]["weight"] == 60


def test_revops_edits_the_weights_in_the_admin_list(client, db):
    user = UserFactory(username="revops", is_staff=True, is_superuser=True)
    client.force_login(user)
    weights = list(HealthWeight.objects.order_by("component"))
    form = {
        "form-TOTAL_FORMS": str(len(weights)),
        "form-INITIAL_FORMS": str(len(weights)),
        "_save": "Save",
    }
    for index, weight in enumerate(weights):
        form[f"form-{index}-id"] = str(weight.pk)
        form[f"form-{index}-weight"] = (
            "50" if weight.component == "admin_logins" else str(weight.weight)
        )

    page = client.get(reverse("admin:partners_healthweight_changelist"))
    response = client.post(reverse("admin:partners_healthweight_changelist"), form)
    scores = client.get(reverse("admin:partners_healthscore_changelist"))

    assert page.status_code == 200
    assert response.status_code == 302
    assert dict(HealthWeight.objects.values_list("component", "weight")) == {
        **DEFAULT_WEIGHTS,
        "admin_logins": 50,
    }
    assert scores.status_code == 200
    assert b"Add health score" not in scores.content


def test_history_keeps_one_row_per_day_and_a_rescore_rewrites_it(db):
    account = AccountFactory(name="Daily")
    add_usage(account, ON)
    score_account_health(account, ON, now=NOW)
    score_account_health(account, ON + timedelta(days=1), now=NOW)

    add_usage(account, ON - timedelta(days=1))
    later = NOW + timedelta(hours=6)
    rescored = score_account_health(account, ON, now=later)

    assert list(
        HealthScore.objects.order_by("scored_on").values_list(
            "scored_on", "score", "computed_at"
        )
    ) == [
        (ON, Decimal("10.0"), later),
        (ON + timedelta(days=1), Decimal("5.0"), NOW),
    ]
    assert rescored.components["admin_logins"]["basis"] == "2 of 20 days with use"


def test_the_beat_job_scores_today_and_records_its_heartbeat(db):
    account = AccountFactory(name="Beaten")
    add_usage(account, ON)

    with time_machine.travel(datetime(2027, 2, 28, 18, 0, tzinfo=UTC), tick=False):
        first = score_health()
        again = score_health()

    beat = JobHeartbeat.objects.get(name="score-health")
    summary = {"on": "2027-02-28", "scored": 1, "unmeasured": 0, "before_kickoff": 0}
    assert first == again == summary
    assert beat.run_count == 2
    assert beat.last_result == str(summary)
    assert HealthScore.objects.get().score == Decimal("5.0")


def test_the_score_command_builds_an_account_s_history_over_a_range(db):
    account = AccountFactory(name="Ranged")
    add_usage(account, ON - timedelta(days=1), ON)
    output = io.StringIO()

    call_command(
        "score_health",
        "--from",
        "2027-02-26",
        "--to",
        "2027-02-28",
        "--account",
        "Ranged",
        stdout=output,
    )

    assert output.getvalue().splitlines() == [
        "2027-02-26: 0.0 (admin_logins 0.0)",
        "2027-02-27: 5.0 (admin_logins 5.0)",
        "2027-02-28: 10.0 (admin_logins 10.0)",
    ]
    assert HealthScore.objects.filter(account=account).count() == 3


def test_the_score_command_refuses_a_day_and_a_range_together(db):
    with pytest.raises(CommandError) as refused:
        call_command("score_health", "--on", "2027-02-28", "--from", "2027-02-01")

    assert str(refused.value) == "Give --on, or --from and --to, not both."


# Time to first value.


def test_first_value_is_the_first_day_of_use_from_the_kickoff(world):
    engagement = world.acme_engagement
    account = engagement.account
    kick_off(world, on=date(2027, 2, 12))
    add_usage(account, date(2027, 2, 5))
    add_usage(account, date(2027, 2, 13), usage_count=0)
    before_use = record_first_value(engagement)

    add_usage(account, date(2027, 2, 16), date(2027, 2, 20))
    first_value_on = record_first_value(engagement)

    engagement.refresh_from_db()
    assert before_use is None
    assert first_value_on == engagement.first_value_on == date(2027, 2, 16)
    assert days_to_first_value(engagement) == 4


def test_scoring_records_the_first_value(world):
    engagement = world.acme_engagement
    kick_off(world, on=date(2027, 2, 12))
    add_usage(engagement.account, date(2027, 2, 14))

    score_account_health(engagement.account, ON, now=NOW)

    engagement.refresh_from_db()
    assert engagement.first_value_on == date(2027, 2, 14)
    assert days_to_first_value(engagement) == 2


def test_time_to_first_value_is_unknown_before_the_kickoff(world):
    engagement = world.acme_engagement
    add_usage(engagement.account, date(2027, 2, 14))

    assert record_first_value(engagement) is None
    assert days_to_first_value(engagement) is None


# The trend.


def render_trend(account) -> str:
    template = Template("{% load health %}{% health_trend account %}")
    return template.render(Context({"account": account}))


def test_the_trend_says_so_when_there_are_no_scores(db):
    account = AccountFactory(name="New")

    html = render_trend(account)

    assert "No health scores yet for New." in html
    assert "<svg" not in html


def test_the_trend_draws_the_history_then_the_latest_components(db):
    account = AccountFactory(name="Trending")
    add_usage(account, ON - timedelta(days=1), ON)
    score_account_health(account, ON - timedelta(days=1), now=NOW)
    score_account_health(account, ON, now=NOW)

    html = render_trend(account)

    assert html.count("<svg") == 1
    assert "<script" not in html
    assert "27 Feb 2027 – 28 Feb 2027" in html
    assert '<span id="health-latest-score">10.0</span>' in html
    assert "<td>Admin login frequency</td>" in html
    assert "2 of 20 days with use" in html
    assert "No health scores yet" not in html


def test_the_trend_credits_the_source_of_imported_usage(db):
    account = AccountFactory(name="Company_X")
    ProductUsage.objects.create(
        account=account,
        source="ravenstack",
        external_id="U-1",
        used_on=ON,
        feature="feature_1",
        usage_count=1,
    )
    score_account_health(account, ON, now=NOW)

    html = render_trend(account)

    assert "Usage data: RavenStack synthetic SaaS data by River @ Rivalytics." in html


# The usage import, on small files written here.

ACCOUNTS_HEADER = (
    "account_id,account_name,industry,country,signup_date,referral_source,"
    "plan_tier,seats,is_trial,churn_flag"
)
SUBSCRIPTIONS_HEADER = (
    "subscription_id,account_id,start_date,end_date,plan_tier,seats,mrr_amount,"
    "arr_amount,is_trial,upgrade_flag,downgrade_flag,churn_flag,billing_frequency,"
    "auto_renew_flag"
)
USAGE_HEADER = (
    "usage_id,subscription_id,usage_date,feature_name,usage_count,"
    "usage_duration_secs,error_count,is_beta_feature"
)
TICKETS_HEADER = (
    "ticket_id,account_id,submitted_at,closed_at,resolution_time_hours,priority,"
    "first_response_time_minutes,satisfaction_score,escalation_flag"
)


def write_folder(folder, usage_rows=None, ticket_rows=None):
    files = {
        "ravenstack_accounts.csv": [
            ACCOUNTS_HEADER,
            "A-1,Company_1,FinTech,UK,2024-01-01,partner,Pro,5,False,False",
            "A-2,Company_2,EdTech,US,2024-01-01,ads,Basic,3,True,False",
        ],
        "ravenstack_subscriptions.csv": [
            SUBSCRIPTIONS_HEADER,
            "S-1,A-1,2024-06-01,,Pro,5,833,9996,False,False,False,False,monthly,True",
            "S-2,A-2,2024-02-01,2024-05-01,Basic,3,0,0,True,False,True,True,annual,False",
        ],
        "ravenstack_feature_usage.csv": [
            USAGE_HEADER,
            *(
                usage_rows
                or [
                    # Before its subscription starts, as most source rows are.
                    "U-1,S-1,2024-03-02,feature_3,4,120,0,False",
                    # The same usage id on another subscription: another row.
                    "U-1,S-2,2024-03-02,feature_3,2,60,1,True",
                ]
            ),
        ],
        "ravenstack_support_tickets.csv": [
            TICKETS_HEADER,
            *(
                ticket_rows
                or [
                    "T-1,A-1,2024-07-08,2024-07-09 03:00:00,27.0,high,74,4.0,False",
                    "T-2,A-2,2024-07-08,2024-07-08 05:00:00,,low,10,,True",
                ]
            ),
        ],
    }
    for name, lines in files.items():
        (folder / name).write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return folder


def test_the_import_reads_the_source_quirks(tmp_path, db):
    folder = write_folder(tmp_path)

    summary = import_usage(folder)

    account = Account.objects.get(external_id="A-1")
    assert (account.name, account.country, account.industry) == (
        "Company_1",
        "GB",
        "FinTech",
    )
    assert list(
        Subscription.objects.order_by("external_id").values_list(
            "external_id", "ended_on", "is_trial", "was_downgraded", "monthly_amount"
        )
    ) == [
        ("S-1", None, False, False, Decimal("833.00")),
        ("S-2", date(2024, 5, 1), True, True, Decimal("0.00")),
    ]
    assert list(
        ProductUsage.objects.order_by("subscription__external_id").values_list(
            "external_id", "subscription__external_id", "account__name", "usage_count"
        )
    ) == [("U-1", "S-1", "Company_1", 4), ("U-1", "S-2", "Company_2", 2)]
    assert list(
        SupportTicket.objects.order_by("external_id").values_list(
            "external_id", "closed_at", "resolution_hours", "satisfaction"
        )
    ) == [
        ("T-1", datetime(2024, 7, 9, 3, tzinfo=UTC), Decimal("27.0"), 4),
        # No hours given: from midnight of the day submitted, as the source counts.
        ("T-2", datetime(2024, 7, 8, 5, tzinfo=UTC), Decimal("5.0"), None),
    ]
    assert (summary.accounts_created, summary.usage_added) == (2, 2)


def test_the_import_matches_accounts_by_id_then_name_and_keeps_the_owner(tmp_path, db):
    owner = PersonFactory(role="csm")
    by_id = AccountFactory(name="Renamed Ltd", external_id="A-1", industry="")
    by_name = AccountFactory(name="Company_2", owner=owner, country="", industry="Ed")
    folder = write_folder(tmp_path)

    summary = import_usage(folder)

    by_id.refresh_from_db()
    by_name.refresh_from_db()
    assert (by_id.name, by_id.industry, by_id.country) == (
        "Renamed Ltd",
        "FinTech",
        "DE",
    )
    assert (by_name.external_id, by_name.owner, by_name.country, by_name.industry) == (
        "A-2",
        owner,
        "US",
        "Ed",
    )
    assert (summary.accounts_created, summary.accounts_matched) == (0, 2)
    assert summary.accounts_completed == 2
    assert Account.objects.count() == 2


def test_the_import_command_reports_each_file_and_the_counts(tmp_path, db):
    folder = write_folder(tmp_path)
    first, second = io.StringIO(), io.StringIO()

    call_command("import_usage", "--source", "ravenstack", str(folder), stdout=first)
    call_command("import_usage", str(folder), stdout=second)

    lines = first.getvalue().splitlines()
    again = second.getvalue().splitlines()
    assert lines[:7] == [
        f"Importing RavenStack synthetic SaaS data by River @ Rivalytics from {folder}",
        "ravenstack_accounts.csv: 2 accounts, 2 created, 0 matched",
        "ravenstack_subscriptions.csv: 2 subscriptions, 2 added, 0 duplicates skipped",
        "ravenstack_feature_usage.csv: 2 usage rows, 2 added, 0 duplicates skipped",
        "ravenstack_support_tickets.csv: 2 tickets, 2 added, 0 duplicates skipped",
        "Accounts: 2 created, 0 matched (0 with blanks filled in); "
        "subscriptions: 2; usage rows: 2; tickets: 2.",
        "Skipped as duplicates: 0 accounts, 0 subscriptions, 0 usage rows, 0 tickets.",
    ]
    assert lines[7].endswith(
        "Data: RavenStack synthetic SaaS data by River @ Rivalytics."
    )
    assert again[5:7] == [
        "Accounts: 0 created, 2 matched (0 with blanks filled in); "
        "subscriptions: 0; usage rows: 0; tickets: 0.",
        "Skipped as duplicates: 0 accounts, 2 subscriptions, 2 usage rows, 2 tickets.",
    ]


def test_an_unreadable_row_stores_nothing_and_names_file_line_and_column(tmp_path, db):
    folder = write_folder(
        tmp_path,
        usage_rows=[
            "U-1,S-1,2024-03-02,feature_3,4,120,0,False",
            "U-2,S-1,2024-13-01,feature_3,4,120,0,False",
            "U-3,S-1,2024-03-04,feature_3,-1,120,0,Maybe",
        ],
    )
    errors = io.StringIO()

    with pytest.raises(CommandError) as refused:
        call_command(
            "import_usage",
            "--source",
            "ravenstack",
            str(folder),
            stdout=io.StringIO(),
            stderr=errors,
        )

    assert str(refused.value) == (
        f"{folder}: nothing was imported, because of the 3 problem(s) above."
    )
    assert errors.getvalue().splitlines() == [
        "ravenstack_feature_usage.csv, line 3, column usage_date: is not a date "
        "(YYYY-MM-DD) (found '2024-13-01').",
        "ravenstack_feature_usage.csv, line 4, column usage_count: is not a number "
        "of 0 or more (found '-1').",
        "ravenstack_feature_usage.csv, line 4, column is_beta_feature: is not True "
        "or False (found 'Maybe').",
    ]
    assert Account.objects.count() == 0
    assert Subscription.objects.count() == 0
    assert ProductUsage.objects.count() == 0
    assert SupportTicket.objects.count() == 0


# The RavenStack files (RavenStack synthetic data by River @ Rivalytics).


@pytest.mark.sample_data
def test_ravenstack_import_keeps_every_row_and_a_second_run_adds_nothing(
    sample_data, db
):
    folder = sample_data / DEFAULT_FOLDER_NAME

    first = import_usage(folder)
    second = import_usage(folder)

    assert Account.objects.count() == 500
    assert Subscription.objects.count() == 5000
    # 21 usage ids repeat, each on another subscription: all 25,000 are kept.
    assert ProductUsage.objects.count() == 25000
    assert ProductUsage.objects.values("external_id").distinct().count() == 24979
    assert SupportTicket.objects.count() == 2000
    assert Subscription.objects.filter(ended_on__isnull=True).count() == 4514
    assert SupportTicket.objects.filter(satisfaction__isnull=True).count() == 825
    assert Account.objects.filter(country="GB").count() == 58
    assert (
        first.accounts_created,
        first.subscriptions_added,
        first.usage_added,
        first.tickets_added,
    ) == (500, 5000, 25000, 2000)
    assert (second.added_count, second.accounts_matched) == (0, 500)
    assert dict(second.duplicates) == {
        "ravenstack_accounts.csv": 0,
        "ravenstack_subscriptions.csv": 5000,
        "ravenstack_feature_usage.csv": 25000,
        "ravenstack_support_tickets.csv": 2000,
    }


# Expected values worked out from the CSVs by a separate script (median
# resolution hours of the tickets submitted 2 to 31 December 2024, distinct
# days with usage_count > 0 in that window), not by this code.
RAVENSTACK_SCORES = {
    # One ticket, 19 h: within a day, full marks; 1 day of use.
    "Company_0": (
        Decimal("52.5"),
        {"customer_responsiveness": 100.0, "admin_logins": 5.0},
    ),
    # Two tickets, 11 h and 50 h: the median is 30.5 h; 3 days of use.
    "Company_65": (
        Decimal("54.1"),
        {"customer_responsiveness": 93.2, "admin_logins": 15.0},
    ),
    # One ticket, 61 h, submitted on the window's first day; 2 days of use.
    "Company_6": (
        Decimal("35.7"),
        {"customer_responsiveness": 61.5, "admin_logins": 10.0},
    ),
    # No ticket in the window: the score is the logins alone, 9 days.
    "Company_184": (
        Decimal("45.0"),
        {"customer_responsiveness": None, "admin_logins": 45.0},
    ),
    # Usage earlier in the year, none in December, no ticket.
    "Company_175": (
        Decimal("0.0"),
        {"customer_responsiveness": None, "admin_logins": 0.0},
    ),
}


@pytest.mark.sample_data
def test_ravenstack_health_of_named_accounts_on_the_last_day(sample_data, db):
    import_usage(sample_data / DEFAULT_FOLDER_NAME)
    accounts = Account.objects.filter(name__in=RAVENSTACK_SCORES)

    scores = {
        account.name: score_account_health(account, RAVENSTACK_ON, now=NOW)
        for account in accounts
    }

    assert {
        name: (
            health.score,
            {
                component: health.components[component]["value"]
                for component in ("customer_responsiveness", "admin_logins")
            },
        )
        for name, health in scores.items()
    } == RAVENSTACK_SCORES
    # Without an engagement, the other three cannot be measured.
    assert {
        health.components[name]["value"]
        for health in scores.values()
        for name in (
            "milestone_completion",
            "stakeholder_engagement",
            "training_attendance",
        )
    } == {None}
