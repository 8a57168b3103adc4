"""/api/partner/: a partner's token or member reaches its own engagements only,
and logs through the services, so the go-live gate holds over the API too."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from bowtie.models import ApiToken, Notification
from partners.api.views import NO_ACTIVE_PARTNER, NOT_A_PARTNER
from partners.models import (
    EngagementComment,
    ImplementationMilestone,
    PartnerToken,
    ReadinessCondition,
)
from partners.services import FieldsRefused, add_comment, assign_partner
from partners.tokens import READ_ONLY, issue_partner_token
from tests.factories import ApiTokenFactory
from tests.partner_fixtures import build_partner_world, build_won_deal

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TODAY = date(2027, 3, 1)
VENDOR_SCOPES = sorted(set(ApiToken.Scope.values) - ApiToken.PARTNER_SCOPES)
READINESS_KEYS = [
    "tasks_work",
    "people_trained",
    "data_migrated",
    "support_plan",
    "rollback_plan",
]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(db, frozen):
    return build_partner_world()


@pytest.fixture
def acme_key(world):
    _, key = issue_partner_token(world.acme, "Acme PSA", world.head)
    return key


@pytest.fixture
def acme_reader_key(world):
    _, key = issue_partner_token(
        world.acme, "Acme reports", world.head, scopes=READ_ONLY
    )
    return key


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def engagement_url(engagement, part=""):
    return f"/api/partner/engagements/{engagement.pk}/{part}"


def patch(client, url, body, key, **headers):
    return client.patch(
        url, body, content_type="application/json", **bearer(key), **headers
    )


def log_kickoff_done(client, world, key):
    return patch(
        client,
        engagement_url(world.acme_engagement, "milestones/kickoff/"),
        {"actual_on": "2027-02-25", "ae_attended": True},
        key,
    )


def meet(client, world, key, condition):
    return patch(
        client,
        engagement_url(world.acme_engagement, f"readiness/{condition}/"),
        {"owner_name": "Pia Acme", "evidence": "Signed off.", "is_met": True},
        key,
    )


def test_engagement_list_shows_only_the_partners_own_engagement(
    client, world, acme_key
):
    response = client.get("/api/partner/engagements/", **bearer(acme_key))

    body = response.json()
    assert response.status_code == 200
    assert [row["id"] for row in body["results"]] == [world.acme_engagement.pk]
    assert body["results"][0]["deal"] == {
        "id": world.acme_engagement.deal_id,
        "name": "Globex platform",
    }
    assert "Initech" not in response.content.decode()


def test_engagement_list_filters_by_status_and_searches_deal_and_account_names(
    client, world, acme_key
):
    def ids(**filters):
        response = client.get("/api/partner/engagements/", filters, **bearer(acme_key))
        return [row["id"] for row in response.json()["results"]]

    acme = world.acme_engagement.pk

    assert ids(search="globex PLAT") == [acme]
    assert ids(search="Initech") == []
    assert ids(status="kickoff_pending") == [acme]
    assert ids(status="implementing") == []


def test_engagement_reads_whole_as_the_brief(client, world, acme_key):
    response = client.get(engagement_url(world.acme_engagement), **bearer(acme_key))

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "kickoff_pending"
    assert body["account"] == {
        "id": world.acme_engagement.account_id,
        "name": "Globex",
    }
    assert body["ae"] == {"name": "Alex AE", "email": world.ae.email}
    assert body["implementation_lead"] == {
        "name": "Ivy Impl",
        "email": world.head.email,
    }
    assert [m["kind"] for m in body["milestones"]] == [
        "kickoff",
        "first_meeting",
        "go_live",
        "hypercare_end",
    ]
    assert [(c["key"], c["is_met"]) for c in body["readiness"]] == [
        (key, False) for key in READINESS_KEYS
    ]
    assert body["is_ready_for_go_live"] is False
    items = {
        item["key"]: item["value"]
        for section in body["packet"]
        for item in section["items"]
    }
    assert items["risks"] == "IT prefers the incumbent."
    assert items["technical_requirements"] == [
        {"area": "integration", "requirement": "Salesforce sync"}
    ]


def test_every_route_of_another_partners_engagement_answers_404(
    client, world, acme_key
):
    birch = world.birch_engagement
    reads = ["", "milestones/", "milestones/kickoff/", "readiness/"]
    reads += ["readiness/tasks_work/", "comments/"]
    writes = [
        ("patch", "milestones/kickoff/", {"planned_on": "2027-03-10"}),
        ("patch", "readiness/tasks_work/", {"owner_name": "Pia"}),
        ("post", "comments/", {"body": "Hello"}),
    ]

    answers = [
        client.get(engagement_url(birch, part), **bearer(acme_key)) for part in reads
    ]
    answers += [
        getattr(client, method)(
            engagement_url(birch, part),
            body,
            content_type="application/json",
            **bearer(acme_key),
        )
        for method, part, body in writes
    ]

    assert [answer.status_code for answer in answers] == [404] * 9
    assert {answer.json()["detail"] for answer in answers} == {
        "No Engagement matches the given query."
    }
    assert EngagementComment.objects.filter(engagement=birch).count() == 0
    assert birch.milestones.get(kind="kickoff").planned_on is None


def test_milestone_logged_by_token_shows_on_the_engagement_and_to_the_vendor(
    client, world, acme_key
):
    url = engagement_url(world.acme_engagement, "milestones/kickoff/")

    response = patch(
        client, url, {"planned_on": "2027-03-08", "notes": " Agenda sent. "}, acme_key
    )

    assert response.status_code == 200
    assert response.json() == {
        "kind": "kickoff",
        "label": "Kickoff",
        "position": 0,
        "planned_on": "2027-03-08",
        "actual_on": None,
        "is_done": False,
        "is_on_time": None,
        "notes": "Agenda sent.",
        "logged_by": "Acme PSA (API)",
        "logged_at": "2027-03-01T09:00:00Z",
    }
    milestone = ImplementationMilestone.objects.get(
        engagement=world.acme_engagement, kind="kickoff"
    )
    assert (milestone.planned_on, milestone.logged_by, milestone.logged_by_user) == (
        date(2027, 3, 8),
        "Acme PSA (API)",
        None,
    )
    detail = client.get(engagement_url(world.acme_engagement), **bearer(acme_key))
    assert detail.json()["milestones"][0]["planned_on"] == "2027-03-08"
    told = Notification.objects.filter(subject="Kickoff logged: Globex platform")
    assert sorted(told.values_list("recipient__full_name", flat=True)) == [
        "Alex AE",
        "Ivy Impl",
    ]


def test_go_live_is_refused_until_every_readiness_condition_holds(
    client, world, acme_key
):
    log_kickoff_done(client, world, acme_key)
    go_live = engagement_url(world.acme_engagement, "milestones/go_live/")
    for condition in READINESS_KEYS[:3]:
        meet(client, world, acme_key, condition)

    refused = patch(client, go_live, {"actual_on": "2027-02-28"}, acme_key)

    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "Go-live needs every readiness condition met. Not yet: Support "
        "plan in place, Rollback plan exists.",
        "readiness": [
            {"key": "support_plan", "label": "Support plan in place"},
            {"key": "rollback_plan", "label": "Rollback plan exists"},
        ],
    }
    go_live_row = world.acme_engagement.milestones.get(kind="go_live")
    assert go_live_row.actual_on is None

    for condition in READINESS_KEYS[3:]:
        meet(client, world, acme_key, condition)
    passed = patch(client, go_live, {"actual_on": "2027-02-28"}, acme_key)

    assert passed.status_code == 200
    world.acme_engagement.refresh_from_db()
    assert (world.acme_engagement.status, world.acme_engagement.hypercare_ends_on) == (
        "hypercare",
        date(2027, 2, 28) + timedelta(days=world.acme_engagement.hypercare_days),
    )


def test_refusals_of_the_services_answer_400_by_field(client, world, acme_key):
    kickoff = engagement_url(world.acme_engagement, "milestones/kickoff/")
    condition = engagement_url(world.acme_engagement, "readiness/tasks_work/")

    future = patch(client, kickoff, {"actual_on": "2027-03-02"}, acme_key)
    no_ae = patch(client, kickoff, {"actual_on": "2027-02-27"}, acme_key)
    no_evidence = patch(client, condition, {"is_met": True}, acme_key)
    empty = patch(client, kickoff, {}, acme_key)
    not_a_date = patch(client, kickoff, {"planned_on": "soon"}, acme_key)

    assert [a.status_code for a in (future, no_ae, no_evidence, empty, not_a_date)] == [
        400
    ] * 5
    assert future.json() == {
        "actual_on": ["A milestone is done on a day that has come."]
    }
    assert no_ae.json() == {"ae_attended": ["Say whether the AE attended the kickoff."]}
    assert no_evidence.json() == {
        "owner_name": ["Name who answers for it before marking it met."],
        "evidence": ["Give the evidence that it holds before marking it met."],
    }
    assert empty.json() == {
        "non_field_errors": [
            "Send at least one of planned_on, actual_on, notes, ae_attended."
        ]
    }
    assert list(not_a_date.json()) == ["planned_on"]
    assert world.acme_engagement.milestones.get(kind="kickoff").logged_at is None


def test_an_unknown_milestone_or_condition_answers_404(client, world, acme_key):
    milestone = client.get(
        engagement_url(world.acme_engagement, "milestones/launch/"), **bearer(acme_key)
    )
    condition = client.get(
        engagement_url(world.acme_engagement, "readiness/vibes/"), **bearer(acme_key)
    )

    assert (milestone.status_code, condition.status_code) == (404, 404)


def test_readiness_is_read_and_changed_through_the_service(client, world, acme_key):
    response = meet(client, world, acme_key, "data_migrated")

    assert response.status_code == 200
    assert response.json() == {
        "key": "data_migrated",
        "label": "Data migrated",
        "position": 2,
        "owner_name": "Pia Acme",
        "evidence": "Signed off.",
        "is_met": True,
        "confirmed_by": "Acme PSA (API)",
        "confirmed_at": "2027-03-01T09:00:00Z",
    }
    listed = client.get(
        engagement_url(world.acme_engagement, "readiness/"), **bearer(acme_key)
    )
    assert [c["is_met"] for c in listed.json()] == [False, False, True, False, False]


def test_comments_are_listed_oldest_first_and_posted_as_the_partner(
    client, world, acme_key, frozen
):
    add_comment(world.acme_engagement, world.vendor, "Kickoff agenda attached.")
    frozen.shift(timedelta(minutes=5))
    url = engagement_url(world.acme_engagement, "comments/")

    posted = client.post(
        url,
        {"body": "Thanks, we are ready."},
        content_type="application/json",
        **bearer(acme_key),
    )
    listed = client.get(url, **bearer(acme_key))

    assert posted.status_code == 201
    assert [
        (c["author_name"], c["is_from_partner"], c["body"])
        for c in listed.json()["results"]
    ] == [
        ("Ivy Impl", False, "Kickoff agenda attached."),
        ("Acme PSA (API)", True, "Thanks, we are ready."),
    ]


def test_a_read_only_token_reads_but_cannot_write(client, world, acme_reader_key):
    kickoff = engagement_url(world.acme_engagement, "milestones/kickoff/")

    read = client.get(kickoff, **bearer(acme_reader_key))
    written = patch(client, kickoff, {"planned_on": "2027-03-08"}, acme_reader_key)
    commented = client.post(
        engagement_url(world.acme_engagement, "comments/"),
        {"body": "Hi"},
        content_type="application/json",
        **bearer(acme_reader_key),
    )

    assert (read.status_code, written.status_code, commented.status_code) == (
        200,
        403,
        403,
    )
    assert written.json() == {"detail": "This token lacks the scope partner:write."}
    assert world.acme_engagement.milestones.get(kind="kickoff").planned_on is None


def test_a_members_session_reads_and_logs_as_that_member(client, world):
    client.force_login(world.acme_member.user)

    listed = client.get("/api/partner/engagements/")
    logged = client.patch(
        engagement_url(world.acme_engagement, "milestones/kickoff/"),
        {"planned_on": "2027-03-08"},
        content_type="application/json",
    )
    other = client.get(engagement_url(world.birch_engagement))

    assert [row["id"] for row in listed.json()["results"]] == [world.acme_engagement.pk]
    assert logged.status_code == 200
    milestone = world.acme_engagement.milestones.get(kind="kickoff")
    assert (milestone.logged_by, milestone.logged_by_user) == (
        "Pia Acme (Acme Partners)",
        world.acme_member.user,
    )
    assert other.status_code == 404


def test_vendor_callers_are_refused_403(client, world):
    vendor_token = ApiTokenFactory(key="bt_vendor_all_0001", scopes=VENDOR_SCOPES)
    head_token = ApiTokenFactory(
        key="bt_vendor_head_0001", scopes=["handoffs:read"], person=world.head
    )
    url = "/api/partner/engagements/"

    by_token = client.get(url, **bearer("bt_vendor_all_0001"))
    by_persons_token = client.get(url, **bearer("bt_vendor_head_0001"))
    client.force_login(world.head.user)
    by_session = client.get(url)

    assert [a.status_code for a in (by_token, by_persons_token, by_session)] == [
        403
    ] * 3
    assert {a.json()["detail"] for a in (by_token, by_persons_token, by_session)} == {
        NOT_A_PARTNER
    }
    assert vendor_token.scopes == VENDOR_SCOPES
    assert head_token.person == world.head


def test_a_partner_token_without_a_link_or_of_an_inactive_partner_reaches_nothing(
    client, world, acme_key
):
    ApiTokenFactory(key="bt_unlinked_00001", scopes=["partner:read"])
    _, birch_key = issue_partner_token(world.birch, "Birch CRM", world.head)
    world.birch.is_active = False
    world.birch.save()

    unlinked = client.get("/api/partner/engagements/", **bearer("bt_unlinked_00001"))
    inactive = client.get("/api/partner/engagements/", **bearer(birch_key))
    inactive_detail = client.get(
        engagement_url(world.birch_engagement), **bearer(birch_key)
    )

    assert [a.status_code for a in (unlinked, inactive, inactive_detail)] == [403] * 3
    assert unlinked.json() == {"detail": NO_ACTIVE_PARTNER}


def test_members_of_an_inactive_partner_and_inactive_members_see_nothing(client, world):
    world.birch.is_active = False
    world.birch.save()
    world.acme_member.is_active = False
    world.acme_member.save()
    answers = []

    for member in (world.birch_member, world.acme_member):
        client.force_login(member.user)
        answers.append(client.get("/api/partner/engagements/"))

    assert [a.status_code for a in answers] == [403, 403]
    assert {a.json()["detail"] for a in answers} == {NO_ACTIVE_PARTNER}


def test_a_user_with_no_partner_and_no_person_is_refused(client, world):
    client.force_login(get_user_model().objects.create_user("nobody@example.com"))

    response = client.get("/api/partner/engagements/")

    assert (response.status_code, response.json()) == (403, {"detail": NOT_A_PARTNER})


def test_a_revoked_token_and_no_token_answer_401(client, world):
    token, key = issue_partner_token(world.acme, "Acme PSA", world.head)
    token.revoked_at = NOW
    token.save()

    revoked = client.get("/api/partner/engagements/", **bearer(key))
    anonymous = client.get("/api/partner/engagements/")

    assert (revoked.status_code, anonymous.status_code) == (401, 401)
    assert revoked.json() == {"detail": "Unknown or revoked token."}


def test_a_partner_token_is_refused_by_the_vendor_api(client, world, acme_key):
    answers = [
        client.get(url, **bearer(acme_key))
        for url in ("/api/deals", "/api/handoffs", "/api/accounts", "/api/leads")
    ]

    assert [a.status_code for a in answers] == [403] * 4


def test_a_repeated_write_with_its_idempotency_key_is_logged_once(
    client, world, acme_key, frozen
):
    url = engagement_url(world.acme_engagement, "milestones/kickoff/")
    body = {"planned_on": "2027-03-08"}
    milestone = world.acme_engagement.milestones.get(kind="kickoff")

    first = patch(client, url, body, acme_key, HTTP_IDEMPOTENCY_KEY="kickoff-1")
    frozen.shift(timedelta(minutes=2))
    again = patch(client, url, body, acme_key, HTTP_IDEMPOTENCY_KEY="kickoff-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert milestone.history.count() == 2


def test_the_list_reads_in_five_queries_whatever_its_length(
    client, world, acme_key, django_assert_num_queries
):
    ApiToken.objects.filter(partner_link__partner=world.acme).update(last_used_at=NOW)
    # The token with its partner, the page with its deals, accounts, people
    # and handoffs, the packet template's items, milestones, readiness.
    with django_assert_num_queries(5):
        client.get("/api/partner/engagements/", **bearer(acme_key))
    for name in ("Hooli", "Umbrella"):
        deal = build_won_deal(name, world.ae, world.acme_engagement.deal.pipeline)
        assign_partner(deal.handoffs.get(), world.vendor, world.acme)

    with django_assert_num_queries(5):
        response = client.get("/api/partner/engagements/", **bearer(acme_key))

    assert len(response.json()["results"]) == 3


def test_issue_partner_token_links_the_token_to_its_partner(world):
    token, key = issue_partner_token(
        world.acme, " Acme PSA ", world.head, rate_per_minute=30
    )

    link = PartnerToken.objects.get(token=token)
    assert (link.partner, token.name, token.scopes) == (
        world.acme,
        "Acme PSA",
        ["partner:read", "partner:write"],
    )
    assert (token.created_by, token.person, token.rate_per_minute) == (
        world.head,
        None,
        30,
    )
    assert key.startswith("bt_") and token.key_prefix == key[:10]


def test_issue_partner_token_refuses_by_field(world):
    world.birch.is_active = False
    world.birch.save()

    with pytest.raises(FieldsRefused) as refused:
        issue_partner_token(world.birch, " ", world.head, scopes=["deals:read"])

    assert refused.value.errors == {
        "name": "Name the system of the partner that uses it.",
        "partner": "Birch Consulting is no longer an active partner.",
        "scopes": "A partner's token holds partner scopes only.",
    }
    assert ApiToken.objects.count() == 0


def test_create_partner_token_prints_the_key_of_a_linked_token(world, capsys):
    call_command(
        "create_partner_token", "--partner", "acme", "--name", "Acme BI", "--read-only"
    )

    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(name="Acme BI")
    assert token.partner_link.partner == world.acme
    assert token.scopes == ["partner:read"]
    assert token.key_prefix == key[:10]


def test_create_partner_token_refuses_an_unknown_partner(world):
    with pytest.raises(CommandError) as refused:
        call_command("create_partner_token", "--partner", "zeta", "--name", "Zeta")

    assert str(refused.value) == "No partner has the slug 'zeta'."


def test_the_admin_issues_a_token_showing_its_key_once_and_revokes_it(client, world):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)

    issued = client.post(
        "/admin/partners/partnertoken/add/",
        {"partner": world.acme.pk, "name": "Acme PSA", "rate_per_minute": ""},
    )
    link = PartnerToken.objects.get()
    key = issued.context["key"]
    listed = client.get("/admin/partners/partnertoken/")
    revoked = client.post(
        "/admin/partners/partnertoken/",
        {"action": "revoke", "_selected_action": [link.pk]},
    )

    assert issued.status_code == 200
    assert key in issued.content.decode()
    assert "no-store" in issued.headers["Cache-Control"]
    assert (link.partner, link.token.scopes) == (
        world.acme,
        ["partner:read", "partner:write"],
    )
    assert listed.status_code == 200
    assert key not in listed.content.decode()
    assert revoked.status_code == 302
    link.token.refresh_from_db()
    assert link.token.revoked_at == NOW
    assert client.get("/api/partner/engagements/", **bearer(key)).status_code == 401


def test_readiness_conditions_once_live_stay_met_over_the_api(client, world, acme_key):
    log_kickoff_done(client, world, acme_key)
    for condition in READINESS_KEYS:
        meet(client, world, acme_key, condition)
    patch(
        client,
        engagement_url(world.acme_engagement, "milestones/go_live/"),
        {"actual_on": "2027-02-28"},
        acme_key,
    )

    response = patch(
        client,
        engagement_url(world.acme_engagement, "readiness/tasks_work/"),
        {"is_met": False},
        acme_key,
    )

    assert response.status_code == 400
    assert response.json() == {
        "is_met": ["The customer went live on it; it stays met."]
    }
    assert ReadinessCondition.objects.get(
        engagement=world.acme_engagement, key="tasks_work"
    ).is_met
