"""The partner area: a partner's people see and log only their engagements."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from bowtie.models import Pipeline
from partners.models import (
    CustomerSession,
    EngagementComment,
    Partner,
    PartnerMember,
)
from partners.services import assign_partner, log_milestone
from tests.partner_fixtures import PASSWORD, build_partner_world, build_won_deal

# A Wednesday morning; the members read dates in UTC.
NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
TODAY = date(2027, 3, 10)
CONDITIONS = [
    "tasks_work",
    "people_trained",
    "data_migrated",
    "support_plan",
    "rollback_plan",
]


@pytest.fixture
def world(db):
    with time_machine.travel(NOW, tick=False):
        yield build_partner_world()


@pytest.fixture
def acme_client(client, world):
    client.force_login(world.acme_member.user)
    return client


def engagement_url(engagement, name="partner-engagement", *args):
    return reverse(name, args=[engagement.pk, *args])


def log_kickoff(world, engagement=None, actor=None):
    return log_milestone(
        engagement or world.acme_engagement,
        "kickoff",
        actor or world.acme_actor,
        planned_on=date(2027, 3, 8),
        actual_on=date(2027, 3, 8),
        ae_attended=True,
        now=NOW,
    )


def snapshot(engagement) -> dict:
    """Everything a partner's post could change on an engagement."""
    engagement.refresh_from_db()
    return {
        "status": engagement.status,
        "ae_attended_kickoff": engagement.ae_attended_kickoff,
        "milestones": list(
            engagement.milestones.values_list(
                "kind", "planned_on", "actual_on", "notes", "logged_by"
            )
        ),
        "readiness": list(
            engagement.readiness.values_list(
                "key", "owner_name", "evidence", "is_met", "confirmed_by"
            )
        ),
        "comments": engagement.comments.count(),
        "sessions": engagement.sessions.count(),
    }


def test_partner_login_lands_on_the_partner_home(client, world):
    page = client.get(reverse("partner-login"))
    logged_in = client.post(
        reverse("partner-login"),
        {"username": "pia@acme.example", "password": PASSWORD},
    )

    assert "Partner portal" in page.content.decode()
    assert (logged_in.status_code, logged_in.url) == (302, reverse("partner-home"))


def test_vendor_login_and_home_send_a_partner_user_to_the_partner_home(client, world):
    logged_in = client.post(
        reverse("login"), {"username": "pia@acme.example", "password": PASSWORD}
    )
    home = client.get(logged_in.url)

    assert home.status_code == 302
    assert home.url == reverse("partner-home")


def test_anonymous_visitor_is_sent_to_the_partner_login(client, world):
    response = client.get(engagement_url(world.acme_engagement))

    assert response.status_code == 302
    assert response.url == (
        f"{reverse('partner-login')}?next="
        f"/partner/engagements/{world.acme_engagement.pk}/"
    )


def test_home_lists_only_own_engagements_with_the_next_due_milestone(
    acme_client, world
):
    log_kickoff(world)
    log_milestone(
        world.acme_engagement,
        "first_meeting",
        world.acme_actor,
        planned_on=date(2027, 3, 9),
        now=NOW,
    )

    with time_machine.travel(NOW, tick=False):
        response = acme_client.get(reverse("partner-home"))

    rows = [
        (
            row.engagement.deal.name,
            row.next_milestone.kind,
            row.next_milestone.planned_on,
            row.is_overdue,
        )
        for row in response.context["rows"]
    ]
    assert rows == [("Globex platform", "first_meeting", date(2027, 3, 9), True)]
    assert response.context["total_count"] == 1
    assert response.context["status_counts"] == [("Implementing", 1)]
    text = response.content.decode()
    assert "Partner portal · Acme Partners" in text
    assert "First implementation meeting, planned 9 Mar 2027" in text
    assert "overdue" in text
    assert "Initech" not in text


def test_home_next_milestone_is_not_overdue_on_its_planned_day(acme_client, world):
    log_milestone(
        world.acme_engagement,
        "kickoff",
        world.acme_actor,
        planned_on=TODAY,
        now=NOW,
    )

    with time_machine.travel(NOW, tick=False):
        response = acme_client.get(reverse("partner-home"))

    [row] = response.context["rows"]
    assert (row.next_milestone.kind, row.is_overdue) == ("kickoff", False)


def test_home_search_looks_only_among_visible_engagements(acme_client, world):
    other = acme_client.get(reverse("partner-home"), {"q": "initech"})
    own = acme_client.get(reverse("partner-home"), {"q": "GLOBEX"})

    assert other.context["rows"] == []
    assert "None of your engagements matches “initech”." in other.content.decode()
    assert [row.engagement for row in own.context["rows"]] == [world.acme_engagement]
    # The counts stay those of every visible engagement, not of the search.
    assert other.context["total_count"] == 1


def test_home_reads_in_a_fixed_number_of_queries_whatever_the_rows(
    acme_client, world, django_assert_num_queries
):
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    for name in ("Umbrella", "Hooli"):
        deal = build_won_deal(name, world.ae, pipeline)
        assign_partner(deal.handoffs.get(), world.vendor, world.acme, now=NOW)

    # Session, user, member, partner, the counts, the engagements with their
    # deals and accounts, their milestones, and the vendor base's person.
    with django_assert_num_queries(8):
        response = acme_client.get(reverse("partner-home"))

    assert len(response.context["rows"]) == 3


def test_engagement_page_shows_the_brief_people_milestones_and_readiness(
    acme_client, world
):
    response = acme_client.get(engagement_url(world.acme_engagement))

    assert response.status_code == 200
    assert [section["title"] for section in response.context["brief"]] == [
        "Qualification summary",
        "Technical requirements",
        "Stakeholder map",
        "Timeline",
        "Promises log",
    ]
    text = response.content.decode()
    for fact in (
        "Inbound demo request, won on the migration plan.",
        "Time to quote",
        "Salesforce sync",
        "economic buyer",
        "Board review",
        "SSO in the first month",
        "Alex AE",
        world.ae.email,
        "Ivy Impl",
        world.head.email,
        "Did the AE attend?",
        "Rollback plan exists",
    ):
        assert fact in text, fact


def test_other_partners_engagement_and_its_parts_answer_404_and_change_nothing(
    acme_client, world
):
    birch = world.birch_engagement
    before = snapshot(birch)

    responses = [
        acme_client.get(engagement_url(birch)),
        acme_client.post(
            engagement_url(birch, "partner-milestone-log", "kickoff"),
            {
                "milestone-kickoff-planned_on": "2027-03-08",
                "milestone-kickoff-actual_on": "2027-03-08",
                "milestone-kickoff-ae_attended": "yes",
            },
        ),
        acme_client.post(
            engagement_url(birch, "partner-readiness-update", "tasks_work"),
            {
                "readiness-tasks_work-owner_name": "Pia",
                "readiness-tasks_work-evidence": "Test run",
                "readiness-tasks_work-is_met": "on",
            },
        ),
        acme_client.post(
            engagement_url(birch, "partner-comment-add"), {"comment-body": "Hi"}
        ),
        acme_client.post(
            engagement_url(birch, "partner-session-log"),
            {
                "session-kind": "training",
                "session-title": "Admins",
                "session-held_on": "2027-03-09",
            },
        ),
    ]

    assert [response.status_code for response in responses] == [404] * 5
    assert "not one of your engagements" in responses[0].content.decode()
    assert snapshot(birch) == before


def test_unknown_milestone_or_condition_answers_404(acme_client, world):
    milestone = acme_client.post(
        engagement_url(world.acme_engagement, "partner-milestone-log", "launch")
    )
    condition = acme_client.post(
        engagement_url(world.acme_engagement, "partner-readiness-update", "luck")
    )

    assert (milestone.status_code, condition.status_code) == (404, 404)


def test_vendor_person_is_refused_the_partner_pages(client, world):
    client.force_login(world.head.user)

    responses = [
        client.get(reverse("partner-home")),
        client.get(engagement_url(world.acme_engagement)),
        client.post(engagement_url(world.acme_engagement, "partner-comment-add")),
    ]

    assert [response.status_code for response in responses] == [403] * 3


def test_partner_user_is_refused_the_vendor_pages(acme_client, world):
    responses = [
        acme_client.get(reverse("deal-list")),
        acme_client.get(reverse("my-queue")),
        acme_client.get(reverse("implementation-queue")),
        acme_client.get(reverse("engagement-detail", args=[world.acme_engagement.pk])),
    ]

    assert [response.status_code for response in responses] == [403] * 4


def test_member_of_an_inactive_partner_sees_no_engagements(acme_client, world):
    Partner.objects.filter(pk=world.acme.pk).update(is_active=False)

    home = acme_client.get(reverse("partner-home"))
    page = acme_client.get(engagement_url(world.acme_engagement))

    assert home.status_code == 403
    text = home.content.decode()
    assert "Acme Partners is no longer an active partner" in text
    assert "Globex" not in text
    assert page.status_code == 404


def test_inactive_member_sees_no_engagements(acme_client, world):
    PartnerMember.objects.filter(pk=world.acme_member.pk).update(is_active=False)

    home = acme_client.get(reverse("partner-home"))
    page = acme_client.get(engagement_url(world.acme_engagement))

    assert home.status_code == 403
    assert "Your access to the partner portal was switched off." in (
        home.content.decode()
    )
    assert page.status_code == 404


def test_kickoff_without_the_aes_attendance_is_refused_naming_the_field(
    acme_client, world
):
    before = snapshot(world.acme_engagement)

    with time_machine.travel(NOW, tick=False):
        response = acme_client.post(
            engagement_url(world.acme_engagement, "partner-milestone-log", "kickoff"),
            {
                "milestone-kickoff-planned_on": "2027-03-08",
                "milestone-kickoff-actual_on": "2027-03-08",
                "milestone-kickoff-notes": "Scope agreed with Ada.",
            },
        )

    assert response.status_code == 400
    form = next(
        entry["form"]
        for entry in response.context["milestones"]
        if entry["milestone"].kind == "kickoff"
    )
    assert form.errors == {"ae_attended": ["Say whether the AE attended the kickoff."]}
    text = response.content.decode()
    assert "Scope agreed with Ada." in text
    assert 'value="2027-03-08"' in text
    assert snapshot(world.acme_engagement) == before


def test_kickoff_with_the_aes_attendance_is_logged(acme_client, world):
    with time_machine.travel(NOW, tick=False):
        response = acme_client.post(
            engagement_url(world.acme_engagement, "partner-milestone-log", "kickoff"),
            {
                "milestone-kickoff-planned_on": "2027-03-08",
                "milestone-kickoff-actual_on": "2027-03-08",
                "milestone-kickoff-notes": "Scope agreed with Ada.",
                "milestone-kickoff-ae_attended": "yes",
            },
        )

    assert response.status_code == 302
    assert response.url == engagement_url(world.acme_engagement) + "#milestone-kickoff"
    after = snapshot(world.acme_engagement)
    assert (after["status"], after["ae_attended_kickoff"]) == ("implementing", True)
    assert after["milestones"][0] == (
        "kickoff",
        date(2027, 3, 8),
        date(2027, 3, 8),
        "Scope agreed with Ada.",
        "Pia Acme (Acme Partners)",
    )


def test_a_milestone_done_in_the_future_is_refused_naming_the_date(acme_client, world):
    with time_machine.travel(NOW, tick=False):
        response = acme_client.post(
            engagement_url(world.acme_engagement, "partner-milestone-log", "kickoff"),
            {
                "milestone-kickoff-actual_on": "2027-03-11",
                "milestone-kickoff-ae_attended": "no",
            },
        )

    assert response.status_code == 400
    form = response.context["milestones"][0]["form"]
    assert form.errors == {"actual_on": ["A milestone is done on a day that has come."]}


def go_live(client, engagement):
    with time_machine.travel(NOW, tick=False):
        return client.post(
            engagement_url(engagement, "partner-milestone-log", "go_live"),
            {
                "milestone-go_live-planned_on": "2027-03-10",
                "milestone-go_live-actual_on": "2027-03-10",
            },
        )


def test_go_live_is_refused_on_the_page_until_readiness_is_complete(acme_client, world):
    log_kickoff(world)
    for key in CONDITIONS[:2]:
        acme_client.post(
            engagement_url(world.acme_engagement, "partner-readiness-update", key),
            {
                f"readiness-{key}-owner_name": "Pia Acme",
                f"readiness-{key}-evidence": "Signed off in the steering meeting.",
                f"readiness-{key}-is_met": "on",
            },
        )

    refused = go_live(acme_client, world.acme_engagement)
    refused_state = snapshot(world.acme_engagement)
    for key in CONDITIONS[2:]:
        acme_client.post(
            engagement_url(world.acme_engagement, "partner-readiness-update", key),
            {
                f"readiness-{key}-owner_name": "Ivy Impl",
                f"readiness-{key}-evidence": "Runbook v2",
                f"readiness-{key}-is_met": "on",
            },
        )
    accepted = go_live(acme_client, world.acme_engagement)

    assert refused.status_code == 400
    form = next(
        entry["form"]
        for entry in refused.context["milestones"]
        if entry["milestone"].kind == "go_live"
    )
    assert form.non_field_errors() == [
        "Go-live needs every readiness condition met. Not yet: Data migrated, "
        "Support plan in place, Rollback plan exists."
    ]
    assert 'value="2027-03-10"' in refused.content.decode()
    assert refused_state["status"] == "implementing"
    assert refused_state["milestones"][2][2] is None
    assert accepted.status_code == 302
    after = snapshot(world.acme_engagement)
    assert after["status"] == "hypercare"
    assert [row[3] for row in after["readiness"]] == [True] * 5
    assert after["readiness"][0][4] == "Pia Acme (Acme Partners)"


def test_readiness_met_without_evidence_is_refused_naming_the_field(acme_client, world):
    response = acme_client.post(
        engagement_url(world.acme_engagement, "partner-readiness-update", "tasks_work"),
        {
            "readiness-tasks_work-owner_name": "Pia Acme",
            "readiness-tasks_work-is_met": "on",
        },
    )

    assert response.status_code == 400
    form = response.context["readiness"][0]["form"]
    assert form.errors == {
        "evidence": ["Give the evidence that it holds before marking it met."]
    }
    assert 'value="Pia Acme"' in response.content.decode()
    condition = world.acme_engagement.readiness.get(key="tasks_work")
    assert (condition.owner_name, condition.is_met) == ("", False)


def test_comment_is_posted_to_the_shared_thread_newest_last(acme_client, world):
    with time_machine.travel(NOW, tick=False):
        first = acme_client.post(
            engagement_url(world.acme_engagement, "partner-comment-add"),
            {"comment-body": "Kickoff agenda attached."},
        )
    with time_machine.travel(NOW.replace(hour=10), tick=False):
        acme_client.post(
            engagement_url(world.acme_engagement, "partner-comment-add"),
            {"comment-body": "Data export received."},
        )
    empty = acme_client.post(
        engagement_url(world.acme_engagement, "partner-comment-add"),
        {"comment-body": "   "},
    )
    page = acme_client.get(engagement_url(world.acme_engagement))

    comment = EngagementComment.objects.order_by("created_at").first()
    assert first.url == engagement_url(world.acme_engagement) + f"#comment-{comment.pk}"
    assert (comment.author_name, comment.is_from_partner) == (
        "Pia Acme (Acme Partners)",
        True,
    )
    assert empty.status_code == 400
    assert empty.context["comment_form"].errors == {"body": ["Write something first."]}
    assert [c.body for c in page.context["comments"]] == [
        "Kickoff agenda attached.",
        "Data export received.",
    ]


def test_customer_session_is_logged_with_the_accounts_contacts(acme_client, world):
    ada = world.acme_engagement.account.contacts.get()

    with time_machine.travel(NOW, tick=False):
        response = acme_client.post(
            engagement_url(world.acme_engagement, "partner-session-log"),
            {
                "session-kind": "training",
                "session-title": "Admin training",
                "session-held_on": "2027-03-09",
                "session-attended": [ada.pk],
            },
        )

    assert response.status_code == 302
    session = CustomerSession.objects.get()
    assert (session.kind, session.title, session.held_on) == (
        "training",
        "Admin training",
        date(2027, 3, 9),
    )
    assert list(session.invited.all()) == [ada]
    assert list(session.attended.all()) == [ada]


def test_another_accounts_contact_is_not_offered_for_a_session(acme_client, world):
    stranger = world.birch_engagement.account.contacts.get()

    with time_machine.travel(NOW, tick=False):
        response = acme_client.post(
            engagement_url(world.acme_engagement, "partner-session-log"),
            {
                "session-kind": "meeting",
                "session-title": "Weekly",
                "session-held_on": "2027-03-09",
                "session-attended": [stranger.pk],
            },
        )

    assert response.status_code == 400
    assert list(response.context["session_form"].errors) == ["attended"]
    assert CustomerSession.objects.count() == 0


def test_pages_show_times_in_the_members_time_zone(acme_client, world):
    PartnerMember.objects.filter(pk=world.acme_member.pk).update(time_zone="Asia/Tokyo")
    with time_machine.travel(NOW.replace(hour=20), tick=False):
        acme_client.post(
            engagement_url(world.acme_engagement, "partner-comment-add"),
            {"comment-body": "Late call done."},
        )

    page = acme_client.get(engagement_url(world.acme_engagement))

    text = page.content.decode()
    assert "· 11 Mar 2027, 05:00" in text
    assert "Dates and times are shown in Asia/Tokyo." in text


def test_log_out_returns_to_the_partner_login(acme_client, world):
    response = acme_client.post(reverse("logout"), {"next": reverse("partner-login")})

    assert (response.status_code, response.url) == (302, reverse("partner-login"))
    assert acme_client.get(reverse("partner-home")).status_code == 302
