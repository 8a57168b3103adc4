"""Ownership thresholds: bands that tile every amount, dated policies, owners."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from djmoney.money import Money

from bowtie.governance import (
    BOUNDARY_RULE,
    BandSpec,
    BandsRefused,
    band_for,
    find_band_problems,
    find_owner_for,
    owner_band_for_deal,
    replace_ownership_policy,
)
from bowtie.models import Deal, OwnershipBand, OwnershipPolicy, Pipeline
from tests.factories import AccountFactory, ApiTokenFactory, PersonFactory

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
NEXT_WEEK = TODAY + timedelta(days=7)
READER_KEY = "bt_bands_reader_0001"


def spec(lower, upper, owner_role="ae", cs_role="csm", cs_part="advisory"):
    return BandSpec(
        Decimal(lower),
        None if upper is None else Decimal(upper),
        owner_role,
        cs_role,
        cs_part,
    )


DEFAULT_BANDS = [
    spec(0, 10_000, "csm", "", "closes"),
    spec(10_000, 50_000, "am", "csm", "in_meetings"),
    spec(50_000, None, "ae", "csm", "advisory"),
]
# A later policy: the CSM closes up to 20K, the AE owns everything above.
WIDER_CSM_BANDS = [
    spec(0, 20_000, "csm", "", "closes"),
    spec(20_000, None, "ae", "csm", "advisory"),
]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def create_deal(amount, currency="EUR", term_months=12, **values) -> Deal:
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    return Deal.objects.create(
        name="Globex platform",
        pipeline=pipeline,
        stage=pipeline.stages.filter(outcome="open").first(),
        amount=Money(amount, currency),
        term_months=term_months,
        **values,
    )


def test_the_default_bands_tile_every_amount():
    assert find_band_problems(DEFAULT_BANDS) == []


@pytest.mark.parametrize(
    ("bands", "problems"),
    [
        (
            [spec(0, 10_000), spec(12_000, None)],
            ["Amounts from EUR 10,000 to EUR 12,000 have no band."],
        ),
        (
            [spec(0, 10_000), spec(8_000, None)],
            ["The bands from EUR 0 and EUR 8,000 overlap up to EUR 10,000."],
        ),
        (
            [spec(0, None), spec(10_000, 50_000), spec(50_000, None)],
            [
                "The band from EUR 0 has no upper limit but another starts at "
                "EUR 10,000: they overlap."
            ],
        ),
        (
            [spec(-5, 10_000), spec(10_000, None)],
            ["A band starts at EUR -5: below 0."],
        ),
        (
            [spec(1_000, 10_000), spec(10_000, None)],
            ["Amounts below EUR 1,000 have no band."],
        ),
        (
            [spec(0, 10_000), spec(10_000, 50_000)],
            ["Amounts from EUR 50,000 have no band."],
        ),
        (
            [spec(0, 10_000), spec(10_000, 10_000), spec(10_000, None)],
            [
                "The band from EUR 10,000 ends at EUR 10,000: the upper amount "
                "must be above the lower one."
            ],
        ),
        (
            [spec(0, None, owner_role="cfo", cs_role="cso", cs_part="watches")],
            [
                "Unknown owner role 'cfo'.",
                "Unknown CS role 'cso'.",
                "Unknown CS part 'watches'.",
            ],
        ),
        ([], ["Give at least one band."]),
    ],
    ids=[
        "gap",
        "overlap",
        "open-band-in-the-middle",
        "negative",
        "nothing-from-zero",
        "no-top-band",
        "empty-band",
        "unknown-roles",
        "no-bands",
    ],
)
def test_band_problems_name_each_gap_and_overlap_with_its_amounts(bands, problems):
    assert find_band_problems(bands) == problems


def test_a_boundary_belongs_to_the_band_that_starts_there():
    lower = OwnershipBand(lower_eur=Decimal("0"), upper_eur=Decimal("10000.00"))
    middle = OwnershipBand(lower_eur=Decimal("10000.00"), upper_eur=Decimal("50000.00"))

    holds = [
        (lower.holds(amount), middle.holds(amount))
        for amount in (Decimal("9999.99"), Decimal("10000.00"), Decimal("50000.00"))
    ]

    assert holds == [(True, False), (False, True), (False, False)]
    assert BOUNDARY_RULE.startswith("A band includes its lower amount and excludes")


def test_the_default_policy_puts_each_amount_in_one_band(db):
    amounts = ["0", "9999.99", "10000.00", "49999.99", "50000.00", "1000000"]

    owners = [band_for(Decimal(amount), TODAY).owner_role for amount in amounts]

    assert owners == ["csm", "csm", "am", "am", "ae", "ae"]


def test_a_deals_band_follows_its_annual_value(db, frozen):
    deals = [
        create_deal("9999.99"),
        create_deal("10000.00"),
        # Two years for 20,000: 10,000 a year.
        create_deal("20000", term_months=24),
        create_deal("600000", term_months=120),
    ]

    bands = [owner_band_for_deal(deal) for deal in deals]

    assert [(band.owner_role, band.cs_part) for band in bands] == [
        ("csm", "closes"),
        ("am", "in_meetings"),
        ("am", "in_meetings"),
        ("ae", "advisory"),
    ]


def test_a_refused_policy_writes_nothing(db, frozen):
    revops = PersonFactory(role="revops_admin")
    before = (
        OwnershipPolicy.objects.count(),
        OwnershipBand.objects.count(),
        OwnershipPolicy.history.count(),
        OwnershipBand.history.count(),
    )

    with pytest.raises(BandsRefused) as refused:
        replace_ownership_policy(
            [spec(0, 10_000), spec(12_000, None)], TODAY, revops, now=NOW
        )

    assert refused.value.problems == [
        "Amounts from EUR 10,000 to EUR 12,000 have no band.",
        "Bands take effect from tomorrow (2027-03-11) at the earliest: deals "
        "created up to today (2027-03-10) keep the bands they were decided by.",
    ]
    assert (
        OwnershipPolicy.objects.count(),
        OwnershipBand.objects.count(),
        OwnershipPolicy.history.count(),
        OwnershipBand.history.count(),
    ) == before


def test_a_policy_from_a_later_day_leaves_todays_decisions_and_takes_effect_then(
    db, frozen
):
    revops = PersonFactory(role="revops_admin")
    decided_today = create_deal("15000")

    replace_ownership_policy(
        WIDER_CSM_BANDS, NEXT_WEEK, revops, note="CSMs close more", now=NOW
    )
    still_today = (
        owner_band_for_deal(decided_today).owner_role,
        owner_band_for_deal(create_deal("15000")).owner_role,
    )
    frozen.move_to(datetime(2027, 3, 17, 0, 0, tzinfo=UTC))
    created_on_the_day = create_deal("15000")

    assert still_today == ("am", "am")
    assert owner_band_for_deal(created_on_the_day).owner_role == "csm"
    assert owner_band_for_deal(Deal.objects.get(pk=decided_today.pk)).owner_role == (
        "am"
    )


def test_a_policy_keeps_who_made_it_and_when_in_its_history(db, frozen):
    revops = PersonFactory(role="revops_admin")

    policy = replace_ownership_policy(
        WIDER_CSM_BANDS, NEXT_WEEK, revops, note="CSMs close more", now=NOW
    )

    assert (policy.created_by, policy.created_at, policy.note) == (
        revops,
        NOW,
        "CSMs close more",
    )
    assert [(row.history_type, row.history_user) for row in policy.history.all()] == [
        ("+", revops.user)
    ]
    assert list(
        OwnershipBand.history.filter(policy_id=policy.pk)
        .order_by("lower_eur")
        .values_list("lower_eur", "owner_role", "history_user")
    ) == [
        (Decimal("0"), "csm", revops.user.pk),
        (Decimal("20000"), "ae", revops.user.pk),
    ]


def test_an_upcoming_policy_of_the_same_day_is_replaced(db, frozen):
    revops = PersonFactory(role="revops_admin")
    first = replace_ownership_policy(DEFAULT_BANDS, NEXT_WEEK, revops, now=NOW)

    second = replace_ownership_policy(WIDER_CSM_BANDS, NEXT_WEEK, revops, now=NOW)

    assert not OwnershipPolicy.objects.filter(pk=first.pk).exists()
    assert list(second.bands.values_list("owner_role", flat=True)) == ["csm", "ae"]
    assert [
        row.history_type
        for row in OwnershipPolicy.history.filter(id=first.pk).order_by("history_id")
    ] == ["+", "-"]


def test_the_owner_is_the_account_owner_of_the_bands_role(db):
    am = PersonFactory(role="am")
    account = AccountFactory(owner=am)
    band = OwnershipBand(owner_role="am")

    assert find_owner_for(account, band) == am
    assert find_owner_for(create_deal("20000", account=account), band) == am


def test_the_owner_is_the_deals_own_owner_when_the_account_owner_has_another_role(
    db,
):
    csm = PersonFactory(role="csm")
    ae = PersonFactory(role="ae")
    deal = create_deal("60000", account=AccountFactory(owner=csm), owner=ae)

    assert find_owner_for(deal, OwnershipBand(owner_role="ae")) == ae


def test_the_owner_is_the_teams_person_of_the_role_with_fewest_open_deals(db):
    csm = PersonFactory(role="csm")
    busy = PersonFactory(role="am", team=csm.team)
    free = PersonFactory(role="am", team=csm.team)
    PersonFactory(role="am")  # Another team's: not picked while the team has one.
    PersonFactory(role="am", team=csm.team, is_active=False)
    create_deal("1000", owner=busy)
    account = AccountFactory(owner=csm)

    owner = find_owner_for(account, OwnershipBand(owner_role="am"))

    assert owner == free


def test_the_owner_is_anyone_of_the_role_when_the_team_has_none_else_nobody(db):
    csm = PersonFactory(role="csm")
    elsewhere = PersonFactory(role="ae")
    account = AccountFactory(owner=csm)

    assert find_owner_for(account, OwnershipBand(owner_role="ae")) == elsewhere
    assert find_owner_for(account, OwnershipBand(owner_role="am")) is None
    assert find_owner_for(account, None) is None


def band_rows(bands: list[BandSpec]) -> dict:
    data = {
        "bands-TOTAL_FORMS": str(len(bands) + 1),
        "bands-INITIAL_FORMS": "0",
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "20",
    }
    for index, band in enumerate(bands):
        data |= {
            f"bands-{index}-lower_eur": str(band.lower_eur),
            f"bands-{index}-upper_eur": ""
            if band.upper_eur is None
            else str(band.upper_eur),
            f"bands-{index}-owner_role": band.owner_role,
            f"bands-{index}-cs_role": band.cs_role,
            f"bands-{index}-cs_part": band.cs_part,
        }
    # The last row is left empty, as a browser sends the page's blank row.
    empty = len(bands)
    for name in ("lower_eur", "upper_eur", "owner_role", "cs_role", "cs_part"):
        data[f"bands-{empty}-{name}"] = ""
    return data


@pytest.fixture
def people(db, frozen):
    return {
        role: PersonFactory(role=role, full_name=f"Pat {role}")
        for role in ("revops_admin", "manager", "ae")
    }


def test_revops_sees_the_bands_in_force_with_the_boundary_rule(
    client, people, django_assert_num_queries
):
    client.force_login(people["revops_admin"].user)
    client.get(reverse("ownership-settings"))

    # Session, user, person; policies with their makers, their bands; the
    # count and the list of deals without a rate; the unread badge.
    with django_assert_num_queries(8):
        client.get(reverse("ownership-settings"))
    for days in (7, 14, 21):
        replace_ownership_policy(
            WIDER_CSM_BANDS, TODAY + timedelta(days=days), None, now=NOW
        )
    with django_assert_num_queries(8):
        response = client.get(reverse("ownership-settings"))

    page = response.content.decode()
    assert response.status_code == 200
    assert BOUNDARY_RULE in page
    assert "EUR 10,000.00 belongs to a band that starts at 10,000" in page
    assert 'id="band-chart"' in page and 'id="ownership-form"' in page
    assert response.context["formset"].initial == [
        {
            "lower_eur": Decimal("0.00"),
            "upper_eur": Decimal("10000.00"),
            "owner_role": "csm",
            "cs_role": "",
            "cs_part": "closes",
        },
        {
            "lower_eur": Decimal("10000.00"),
            "upper_eur": Decimal("50000.00"),
            "owner_role": "am",
            "cs_role": "csm",
            "cs_part": "in_meetings",
        },
        {
            "lower_eur": Decimal("50000.00"),
            "upper_eur": None,
            "owner_role": "ae",
            "cs_role": "csm",
            "cs_part": "advisory",
        },
    ]


def test_revops_saves_bands_from_a_later_day(client, people):
    client.force_login(people["revops_admin"].user)

    response = client.post(
        reverse("ownership-settings"),
        band_rows(WIDER_CSM_BANDS)
        | {"effective_on": NEXT_WEEK.isoformat(), "note": "CSMs close more"},
    )
    page = client.get(reverse("ownership-settings")).content.decode()

    policy = OwnershipPolicy.objects.get(effective_on=NEXT_WEEK)
    assert response.status_code == 302
    assert (policy.created_by, policy.note) == (
        people["revops_admin"],
        "CSMs close more",
    )
    assert list(policy.bands.values_list("lower_eur", "upper_eur", "owner_role")) == [
        (Decimal("0"), Decimal("20000"), "csm"),
        (Decimal("20000"), None, "ae"),
    ]
    assert "From 17 Mar 2027" in page and "Saved by Pat revops_admin" in page


def test_a_refused_form_names_every_problem_and_saves_nothing(client, people):
    client.force_login(people["revops_admin"].user)
    bands = [
        spec(0, 10_000, "csm", "", "closes"),
        spec(8_000, 40_000),
        spec(45_000, None),
    ]

    response = client.post(
        reverse("ownership-settings"),
        band_rows(bands) | {"effective_on": NEXT_WEEK.isoformat()},
    )
    past = client.post(
        reverse("ownership-settings"),
        band_rows(DEFAULT_BANDS) | {"effective_on": TODAY.isoformat()},
    )

    assert response.status_code == 400
    assert response.context["problems"] == [
        "The bands from EUR 0 and EUR 8,000 overlap up to EUR 10,000.",
        "Amounts from EUR 40,000 to EUR 45,000 have no band.",
    ]
    assert "overlap up to EUR 10,000." in response.content.decode()
    assert past.status_code == 400
    assert past.context["form"].errors == {
        "effective_on": [
            "Bands take effect from tomorrow (2027-03-11) at the earliest: deals "
            "created up to today (2027-03-10) keep the bands they were decided by."
        ]
    }
    assert OwnershipPolicy.objects.count() == 1


def test_a_manager_reads_the_bands_and_cannot_change_them(client, people):
    client.force_login(people["manager"].user)

    page = client.get(reverse("ownership-settings"))
    post = client.post(
        reverse("ownership-settings"),
        band_rows(WIDER_CSM_BANDS) | {"effective_on": NEXT_WEEK.isoformat()},
    )

    assert page.status_code == 200
    assert 'id="bands-in-force"' in page.content.decode()
    assert 'id="ownership-form"' not in page.content.decode()
    assert post.status_code == 403
    assert OwnershipPolicy.objects.count() == 1


def test_an_ae_may_not_open_the_page(client, people):
    client.force_login(people["ae"].user)

    assert client.get(reverse("ownership-settings")).status_code == 403


def test_the_page_lists_earlier_policies_and_deals_without_a_rate(
    client, people, frozen
):
    replace_ownership_policy(
        WIDER_CSM_BANDS, NEXT_WEEK, people["revops_admin"], note="Wider", now=NOW
    )
    create_deal("1000", currency="SEK")
    frozen.move_to(datetime(2027, 3, 20, 9, 0, tzinfo=UTC))
    client.force_login(people["manager"].user)

    response = client.get(reverse("ownership-settings"))

    assert [policy.note for policy in response.context["pages"].earlier] == ["Defaults"]
    assert response.context["pages"].in_force.note == "Wider"
    assert response.context["unrated_count"] == 1
    assert "Globex platform" in response.content.decode()


def test_the_page_exports_every_policys_bands_as_csv(client, people):
    replace_ownership_policy(
        WIDER_CSM_BANDS, NEXT_WEEK, people["revops_admin"], note="Wider", now=NOW
    )
    client.force_login(people["manager"].user)
    defaults_at = OwnershipPolicy.objects.get(effective_on=date(2000, 1, 1)).created_at

    response = client.get(reverse("ownership-settings"), {"format": "csv"})

    lines = response.content.decode().splitlines()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert lines == [
        "effective_on,state,lower_eur_included,upper_eur_excluded,owner_role,"
        "cs_role,cs_part,note,created_by,created_at",
        f"2027-03-17,upcoming,0.00,20000.00,csm,,closes,Wider,"
        f"{people['revops_admin'].email},2027-03-10T09:00:00+00:00",
        f"2027-03-17,upcoming,20000.00,,ae,csm,advisory,Wider,"
        f"{people['revops_admin'].email},2027-03-10T09:00:00+00:00",
        f"2000-01-01,in force,0.00,10000.00,csm,,closes,Defaults,,"
        f"{defaults_at.isoformat()}",
        f"2000-01-01,in force,10000.00,50000.00,am,csm,in_meetings,Defaults,,"
        f"{defaults_at.isoformat()}",
        f"2000-01-01,in force,50000.00,,ae,csm,advisory,Defaults,,"
        f"{defaults_at.isoformat()}",
    ]


def test_the_admin_shows_policies_read_only(frozen, admin_client):
    policy = OwnershipPolicy.objects.get()

    listing = admin_client.get(reverse("admin:bowtie_ownershippolicy_changelist"))
    detail = admin_client.get(
        reverse("admin:bowtie_ownershippolicy_change", args=[policy.pk])
    )
    add = admin_client.get(reverse("admin:bowtie_ownershippolicy_add"))
    change = admin_client.post(
        reverse("admin:bowtie_ownershippolicy_change", args=[policy.pk]),
        {"note": "Edited"},
    )

    assert (listing.status_code, detail.status_code) == (200, 200)
    assert "ownership settings page" in listing.content.decode()
    assert (add.status_code, change.status_code) == (403, 403)
    assert OwnershipPolicy.objects.get().note == "Defaults"


@pytest.fixture
def reader(db):
    return ApiTokenFactory(key=READER_KEY, scopes=["governance:read"])


def get_bands(client, key=READER_KEY, **params):
    return client.get(
        "/api/ownership-bands/", params, HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def test_the_api_lists_the_bands_in_force_on_a_day(client, frozen, reader):
    policy = replace_ownership_policy(WIDER_CSM_BANDS, NEXT_WEEK, None, now=NOW)
    default = OwnershipPolicy.objects.get(effective_on=date(2000, 1, 1))

    today = get_bands(client)
    next_week = get_bands(client, on=NEXT_WEEK.isoformat())
    before_any = get_bands(client, on="1999-12-31")

    assert [
        (row["policy"], row["lower"], row["upper"], row["owner_role"])
        for row in today.json()["results"]
    ] == [
        (default.pk, "0.00", "10000.00", "csm"),
        (default.pk, "10000.00", "50000.00", "am"),
        (default.pk, "50000.00", None, "ae"),
    ]
    first = next_week.json()["results"][0]
    assert first == {
        "id": first["id"],
        "policy": policy.pk,
        "effective_on": "2027-03-17",
        "lower": "0.00",
        "upper": "20000.00",
        "currency": "EUR",
        "owner_role": "csm",
        "cs_role": "",
        "cs_part": "closes",
    }
    assert len(next_week.json()["results"]) == 2
    assert before_any.json()["results"] == []


def test_the_api_refuses_a_bad_day_and_a_token_without_the_scope(client, reader):
    ApiTokenFactory(key="bt_people_reader_01", scopes=["people:read"])

    bad_day = get_bands(client, on="2027-02-30")
    no_scope = get_bands(client, key="bt_people_reader_01")

    assert bad_day.status_code == 400
    assert bad_day.json() == {"on": ["Enter a valid date."]}
    assert no_scope.status_code == 403
