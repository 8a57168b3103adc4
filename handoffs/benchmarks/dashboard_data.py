"""Two years of a company's bow tie in set-based SQL, for the dashboard bench.

Every row comes from one `INSERT ... SELECT` over `generate_series` or over the
rows written before it, so a million leads take minutes, not hours. Values are
drawn from a seeded hash of each row's number (`hashint8extended`), never from
`random()`: the same scale gives the same data, and the same counts, each run.

What is written, for `leads` leads and `deals` deals spread over the last two
years: twelve teams with heads and people; accounts across the three segments;
leads of every type and status, with first responses and their stamped
seconds; a Marketing → Sales handoff per live lead with the clocks its SLA
policies start (first response, disposition), some breached; new-business,
renewal and expansion deals with won, lost and open stages, amounts and base
rates; for each won new-business deal its paid subscription, Sales →
Implementation handoff, engagement, implementation milestones and readiness
conditions, and, after hypercare, its Implementation → CS handoff; for each
expansion deal its CS → Sales handoff and the signal it came from; ratings on
most accepted handoffs. Then ANALYZE.

Columns the generator does not name get their field's default, so a field added
later with a default needs no change here; one without a default stops the run
with its name.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Model

from bowtie.models import Account, Deal, Person, Pipeline, Stage, Subscription, Team
from expansion.models import Signal, SignalKind
from handoffs import clocks
from handoffs.models import (
    Handoff,
    HandoffRating,
    Lead,
    LeadType,
    Milestone,
    SlaPolicy,
)
from partners.models import (
    Engagement,
    ImplementationMilestone,
    Partner,
    ReadinessCondition,
)

SPAN_DAYS = 730
LEAD_BATCH = 250_000
BENCH_DOMAIN = "dashboard.bench.test"
ADMIN_USERNAME = "bench-revops"

SALES_TEAMS = (
    ("Inbound DACH", "Europe/Berlin", "DE", "de"),
    ("Inbound UK & Ireland", "Europe/London", "GB", "en"),
    ("Inbound France", "Europe/Paris", "FR", "fr"),
    ("Inbound Benelux", "Europe/Amsterdam", "NL", "nl"),
    ("Inbound Nordics", "Europe/Stockholm", "SE", "sv"),
    ("Enterprise sales", "America/New_York", "US", "en"),
)
REPS_PER_SALES_TEAM = 8
OTHER_TEAMS = (
    ("Implementation EMEA", Team.Function.IMPLEMENTATION, Person.Role.IMPLEMENTATION),
    (
        "Implementation enterprise",
        Team.Function.IMPLEMENTATION,
        Person.Role.IMPLEMENTATION,
    ),
    ("Customer success SMB", Team.Function.CUSTOMER_SUCCESS, Person.Role.CSM),
    ("Customer success enterprise", Team.Function.CUSTOMER_SUCCESS, Person.Role.CSM),
    ("Account management", Team.Function.ACCOUNT_MANAGEMENT, Person.Role.AM),
    ("Expansion sales", Team.Function.ACCOUNT_MANAGEMENT, Person.Role.AM),
)
MEMBERS_PER_OTHER_TEAM = 5
PARTNERS = ("Northwind Consulting", "Blue Harbour", "Keystone IT", "Fjord Digital")
TITLES = ("Head of Operations", "VP Sales", "Marketing Manager", "Engineer", "CTO")
INDUSTRIES = ("Software", "Manufacturing", "Retail", "Finance", "Logistics")
SOURCES = ("google", "linkedin", "newsletter", "partner", "direct")

# Shares of new-business deals in all deals; every won one gets its renewal
# deal (as Closed Won does), and the rest are expansions of won deals.
NEW_BUSINESS_SHARE = 0.6
WON_SHARE = 36
RENEWED_SHARE = 85
EXPANSION_WON_SHARE = 45
LEAD_SHARE_HISTORICAL = 50  # one lead in fifty is imported history
LEAD_SHARE_UNROUTED = 41  # one in forty-one matched no routing rule
UNRESPONDED_FRACTION = 0.07

MASK = (1 << 53) - 1


def fraction(number: str, salt: int | str) -> str:
    """SQL for a value in [0, 1) drawn from a hash of `number`, seeded by `salt`."""
    hashed = f"hashint8extended(({number})::bigint, {salt})"
    return f"(({hashed} & {MASK})::float8 / {MASK + 1}.0)"


def percent_draw(number: str, salt: int) -> str:
    return f"floor({fraction(number, salt)} * 100)"


def employee_count(number: str, salt: int) -> str:
    """Head counts across the segments: 60 % small, 28 % mid-market, 12 % enterprise."""
    segment, size = fraction(number, salt), fraction(number, salt + 1)
    return (
        f"(CASE WHEN {segment} < 0.6 THEN 5 + floor({size} * 195) "
        f"WHEN {segment} < 0.88 THEN 200 + floor({size} * 800) "
        f"ELSE 1000 + floor({size} * 49000) END)::integer"
    )


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def insert_select(
    cursor, model: type[Model], values: dict[str, str], source: str, params: dict
) -> int:
    """INSERT the rows `source` (a FROM clause) selects; return how many.

    `values` maps column names to SQL over `source`. Every other column gets
    its field's default (`now` for auto times), or stays NULL where it may.
    """
    given = dict(values)
    arguments = dict(params)
    for model_field in model._meta.concrete_fields:
        column = model_field.column
        if column in given or model_field.primary_key:
            continue
        if getattr(model_field, "auto_now", False) or getattr(
            model_field, "auto_now_add", False
        ):
            given[column] = "%(now)s"
            continue
        default = model_field.get_default()
        if default is None:
            if model_field.null:
                continue
            raise ImproperlyConfigured(
                f"{model._meta.label}.{model_field.name} has no default: the "
                "dashboard bench must give it a value."
            )
        name = f"default_{column}"
        arguments[name] = model_field.get_db_prep_save(default, connection)
        given[column] = f"%({name})s"

    columns = ", ".join(connection.ops.quote_name(column) for column in given)
    cursor.execute(
        f"INSERT INTO {table(model)} ({columns}) "
        f"SELECT {', '.join(given.values())} {source}",
        arguments,
    )
    return cursor.rowcount


def has_field(model: type[Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


@dataclass
class World:
    """The people and places the generated rows point at, by id."""

    admin: Person
    sales_teams: list[int]
    # Reps of each sales team in turn, REPS_PER_SALES_TEAM per team.
    reps: list[int]
    implementation_leads: list[int] = field(default_factory=list)
    implementation_lead_teams: list[int] = field(default_factory=list)
    csms: list[int] = field(default_factory=list)
    csm_teams: list[int] = field(default_factory=list)
    ams: list[int] = field(default_factory=list)
    partners: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Scale:
    leads: int
    deals: int

    @property
    def account_count(self) -> int:
        return max(20, self.leads // 50)

    @property
    def new_business_count(self) -> int:
        return round(self.deals * NEW_BUSINESS_SHARE)


def check_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise ImproperlyConfigured(
            "The dashboard bench generates its data with PostgreSQL's "
            f"generate_series and hash functions; this database is {connection.vendor}."
        )


def seed_organisation() -> World:
    """Twelve teams with heads and people, the partners and a RevOps admin."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(ADMIN_USERNAME)
        admin = Person.objects.create(
            user=user,
            full_name="Bench RevOps",
            email=f"revops@{BENCH_DOMAIN}",
            role=Person.Role.REVOPS_ADMIN,
            notify_by_email=False,
        )
        world = World(admin=admin, sales_teams=[], reps=[])

        for number, (name, zone, country, language) in enumerate(SALES_TEAMS):
            team = create_team(name, Team.Function.SALES, zone, country)
            world.sales_teams.append(team.pk)
            for slot in range(REPS_PER_SALES_TEAM):
                rep = Person.objects.create(
                    full_name=f"{name} rep {slot + 1}",
                    email=f"rep{number}.{slot}@{BENCH_DOMAIN}",
                    role=Person.Role.AE if slot % 2 else Person.Role.SDR,
                    team=team,
                    manager=team.head,
                    time_zone=zone,
                    languages=[language],
                    notify_by_email=False,
                )
                world.reps.append(rep.pk)

        members = {
            Person.Role.IMPLEMENTATION: (
                world.implementation_leads,
                world.implementation_lead_teams,
            ),
            Person.Role.CSM: (world.csms, world.csm_teams),
            Person.Role.AM: (world.ams, []),
        }
        for number, (name, function, role) in enumerate(OTHER_TEAMS):
            team = create_team(name, function, "Europe/Berlin", "DE")
            people, teams = members[role]
            for slot in range(MEMBERS_PER_OTHER_TEAM):
                person = Person.objects.create(
                    full_name=f"{name} {slot + 1}",
                    email=f"{role}{number}.{slot}@{BENCH_DOMAIN}",
                    role=role,
                    team=team,
                    manager=team.head,
                    time_zone="Europe/Berlin",
                    notify_by_email=False,
                )
                people.append(person.pk)
                teams.append(team.pk)

        for name in PARTNERS:
            partner = Partner.objects.create(
                name=name, slug=name.lower().replace(" ", "-")
            )
            world.partners.append(partner.pk)
    return world


def create_team(name: str, function: str, zone: str, country: str) -> Team:
    team = Team.objects.create(
        name=name, function=function, time_zone=zone, country=country
    )
    team.head = Person.objects.create(
        full_name=f"Head of {name}",
        email=f"head.{team.pk}@{BENCH_DOMAIN}",
        role=Person.Role.MANAGER,
        team=team,
        time_zone=zone,
        notify_by_email=False,
    )
    team.save(update_fields=["head"])
    return team


@dataclass(frozen=True)
class Stages:
    pipeline: int
    open: list[int]
    won: int
    lost: int

    @classmethod
    def of(cls, pipeline: Pipeline) -> "Stages":
        stages = list(pipeline.stages.order_by("position"))
        return cls(
            pipeline=pipeline.pk,
            open=[s.pk for s in stages if s.outcome == Stage.Outcome.OPEN],
            won=next(s.pk for s in stages if s.outcome == Stage.Outcome.WON),
            lost=next(s.pk for s in stages if s.outcome == Stage.Outcome.LOST),
        )


def default_pipeline(kind: str, expansion_type: str = "") -> Stages:
    pipelines = Pipeline.objects.filter(kind=kind)
    if expansion_type:
        pipelines = pipelines.filter(expansion_type=expansion_type)
    else:
        pipelines = pipelines.filter(is_default=True)
    return Stages.of(pipelines.get())


class Generator:
    """Writes the data step by step, saying how long each step took."""

    def __init__(self, scale: Scale, now: datetime, say: Callable[[str], None]):
        self.scale = scale
        self.now = now
        self.say = say
        self.since = now - timedelta(days=SPAN_DAYS)

    def run(self) -> dict[str, int]:
        check_postgresql()
        started = time.perf_counter()
        self.world = seed_organisation()
        self.say(
            f"  organisation: {Team.objects.count()} teams, "
            f"{Person.objects.count()} people, {len(self.world.partners)} partners"
        )
        with connection.cursor() as cursor:
            self.cursor = cursor
            self.step("accounts", self.insert_accounts)
            self.insert_leads()
            self.step("Marketing → Sales handoffs", self.insert_lead_handoffs)
            # Statistics before the joins over them, or the planner guesses.
            self.analyze(Lead, Handoff)
            self.create_policy_table()
            self.insert_clocks("lead_to_sales", "their clocks")
            self.step("new-business deals", self.insert_new_business)
            self.analyze(Deal)
            self.create_won_table()
            self.step("renewal deals", self.insert_renewals)
            self.step("expansion deals", self.insert_expansions)
            self.step("subscriptions", self.insert_subscriptions)
            self.create_implementation_table()
            self.step("Sales → Implementation handoffs", self.insert_sales_handoffs)
            self.step("engagements", self.insert_engagements)
            self.step(
                "implementation milestones", self.insert_implementation_milestones
            )
            self.step("readiness conditions", self.insert_readiness)
            self.step("Implementation → CS handoffs", self.insert_cs_handoffs)
            self.step("CS → Sales handoffs", self.insert_expansion_handoffs)
            self.step("expansion signals", self.insert_signals)
            self.insert_clocks("other", "clocks of the other handoffs")
            self.step("handoff ratings", self.insert_ratings)
            self.step("ANALYZE", self.analyze)
            for name in ("policy", "account", "won", "implementation"):
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.bench_{name}")
        self.say(f"Generated in {time.perf_counter() - started:.1f} s.")
        return generated_counts()

    def step(self, label: str, write: Callable[[], int | None]) -> None:
        started = time.perf_counter()
        count = write()
        took = time.perf_counter() - started
        written = "" if count is None else f"{count:,} rows "
        self.say(f"  {label}: {written}in {took:.1f} s")

    def params(self, **extra) -> dict:
        world = self.world
        return {
            "now": self.now,
            "since": self.since,
            "accounts": self.scale.account_count,
            "sales_teams": world.sales_teams,
            "reps": world.reps,
            "rep_count": len(world.reps),
            "reps_per_team": REPS_PER_SALES_TEAM,
            "implementation_leads": world.implementation_leads,
            "implementation_lead_teams": world.implementation_lead_teams,
            "csms": world.csms,
            "csm_teams": world.csm_teams,
            "ams": world.ams,
            "partners": world.partners,
            **extra,
        }

    # Accounts and leads ---------------------------------------------------------

    def insert_accounts(self) -> int:
        count = insert_select(
            self.cursor,
            Account,
            {
                "name": "'Bench account ' || g.n",
                "owner_id": "(%(ams)s::bigint[])[1 + mod(g.n, cardinality(%(ams)s))]",
                "country": f"(ARRAY{list(c for _, _, c, _ in SALES_TEAMS)})"
                "[1 + mod(g.n, 6)]",
                "industry": f"(ARRAY{list(INDUSTRIES)})[1 + mod(g.n / 7, 5)]",
                "employee_count": employee_count("g.n", 1),
                "external_id": "'bench-' || g.n",
            },
            "FROM generate_series(1, %(accounts)s) AS g(n)",
            self.params(),
        )
        self.cursor.execute(
            "CREATE TEMP TABLE bench_account AS SELECT row_number() OVER "
            "(ORDER BY id) AS slot, id, name, employee_count, owner_id "
            f"FROM {table(Account)}"
        )
        self.cursor.execute("CREATE UNIQUE INDEX ON bench_account (slot)")
        return count

    def insert_leads(self) -> None:
        total = self.scale.leads
        step_seconds = SPAN_DAYS * 86400 / total
        for low in range(1, total + 1, LEAD_BATCH):
            high = min(low + LEAD_BATCH - 1, total)
            self.step(
                f"leads {low:,}-{high:,} of {total:,}",
                lambda low=low, high=high: self.insert_lead_batch(
                    low, high, step_seconds
                ),
            )

    def insert_lead_batch(self, low: int, high: int, step_seconds: float) -> int:
        values = {
            "email": "'lead' || s.n || '@company' || mod(s.n, 997) || "
            f"'.{BENCH_DOMAIN}'",
            "email_domain": f"'company' || mod(s.n, 997) || '.{BENCH_DOMAIN}'",
            "first_name": "'Kim'",
            "last_name": "'Lead ' || s.n",
            "company_name": "coalesce(a.name, 'Company ' || mod(s.n, 997))",
            "job_title": f"(ARRAY{list(TITLES)})[1 + mod(s.n, 5)]",
            "country": f"(ARRAY{[c for _, _, c, _ in SALES_TEAMS]})"
            "[1 + coalesce(s.team_slot, 0)]",
            "language": f"(ARRAY{[lang for *_, lang in SALES_TEAMS]})"
            "[1 + coalesce(s.team_slot, 0)]",
            "employee_count": "CASE WHEN a.id IS NOT NULL THEN a.employee_count "
            f"WHEN {fraction('s.n', 6)} < 0.05 THEN NULL "
            f"ELSE {employee_count('s.n', 7)} END",
            "source": f"(ARRAY{list(SOURCES)})[1 + mod(s.n / 5, 5)]",
            "form_type": "CASE WHEN s.lead_type = 'hand_raiser' THEN 'demo_request' "
            "WHEN s.lead_type = 'nurture' THEN 'content_download' ELSE '' END",
            "lead_type": "s.lead_type",
            "channel": "CASE WHEN s.is_historical THEN 'import' "
            "WHEN mod(s.n, 4) = 0 THEN 'api' WHEN mod(s.n, 9) = 0 THEN 'webhook' "
            "ELSE 'form' END",
            "account_id": "a.id",
            "team_id": "(%(sales_teams)s::bigint[])[1 + s.team_slot]",
            # Unrouted leads and a fifth of the untouched ones wait in a queue.
            "owner_id": "CASE WHEN s.team_slot IS NULL THEN NULL "
            "WHEN s.status = 'new' AND mod(s.n, 5) = 0 THEN NULL "
            "ELSE (%(reps)s::bigint[])"
            "[1 + s.team_slot * %(reps_per_team)s + mod(s.n / 6, %(reps_per_team)s)] "
            "END",
            "score": "CASE WHEN s.lead_type <> 'hand_raiser' "
            "THEN mod(s.n * 37, 101) END",
            "fit_score": "CASE WHEN s.lead_type <> 'hand_raiser' "
            "THEN mod(s.n * 53, 101) END",
            "intent_score": "CASE WHEN s.lead_type <> 'hand_raiser' "
            "THEN mod(s.n * 71, 101) END",
            "status": "s.status",
            "disqualification_reason": "CASE WHEN s.status = 'disqualified' "
            "THEN 'No budget this year' ELSE '' END",
            "is_historical": "s.is_historical",
            "received_at": "s.received_at",
            "first_response_at": "s.responded_at",
            "closed_at": "s.closed_at",
        }
        elapsed = "extract(epoch FROM s.responded_at - s.received_at)"
        if has_field(Lead, "response_seconds"):
            values["response_seconds"] = stamped(Lead, "response_seconds", elapsed)
        if has_field(Lead, "business_response_seconds"):
            # A stand-in of the right size, not a calendar's answer: the bench
            # needs a stamped figure to aggregate. Outside a weekday's 08-17
            # UTC most of the wait is not working time, and a wait past a
            # working day covers nights.
            business = (
                f"{elapsed} * CASE WHEN extract(isodow FROM s.received_at) <= 5 "
                "AND extract(hour FROM s.received_at) BETWEEN 8 AND 16 "
                "THEN 1 ELSE 0.3 END "
                f"* CASE WHEN {elapsed} > 28800 THEN 0.33 ELSE 1 END"
            )
            values["business_response_seconds"] = stamped(
                Lead, "business_response_seconds", business
            )

        lead_type = fraction("g.n", 1)
        source = f"""
            FROM (
              SELECT t.*,
                CASE WHEN t.closed_at IS NOT NULL THEN
                       CASE WHEN t.outcome < 28 THEN 'qualified'
                            WHEN t.outcome < 55 THEN 'disqualified'
                            ELSE 'nurture' END
                     WHEN t.responded_at IS NOT NULL THEN 'working'
                     ELSE 'new' END AS status
              FROM (
                SELECT b.*,
                  CASE WHEN b.is_historical
                         THEN least(b.received_at + interval '10 days', %(now)s)
                       WHEN b.responded_at IS NOT NULL AND b.outcome < 85
                         AND b.responded_at + b.disposition_after <= %(now)s
                         THEN b.responded_at + b.disposition_after
                  END AS closed_at
                FROM (
                  SELECT r.*,
                    CASE WHEN NOT r.is_unresponded
                      AND r.received_at + r.response_after <= %(now)s
                      THEN r.received_at + r.response_after END AS responded_at
                  FROM (
                    SELECT g.n,
                      mod(g.n, {LEAD_SHARE_HISTORICAL}) = 0 AS is_historical,
                      %(since)s + (g.n - 1) * %(step)s * interval '1 second'
                        AS received_at,
                      CASE WHEN mod(g.n, {LEAD_SHARE_UNROUTED}) = 0 THEN NULL
                           ELSE mod(g.n, 6) END AS team_slot,
                      CASE WHEN {lead_type} < 0.15 THEN 'hand_raiser'
                           WHEN {lead_type} < 0.45 THEN 'paid'
                           WHEN {lead_type} < 0.70 THEN 'organic'
                           WHEN {lead_type} < 0.80 THEN 'partner_referral'
                           ELSE 'nurture' END AS lead_type,
                      {percent_draw("g.n", 2)} AS outcome,
                      {fraction("g.n", 3)} < {UNRESPONDED_FRACTION} AS is_unresponded,
                      -- From 30 seconds to two days, most within minutes.
                      30 * exp(power({fraction("g.n", 4)}, 2) * ln(5760))
                        * interval '1 second' AS response_after,
                      (1 + 20 * {fraction("g.n", 5)}) * interval '1 day'
                        AS disposition_after
                    FROM generate_series(%(low)s, %(high)s) AS g(n)
                  ) AS r
                ) AS b
              ) AS t
            ) AS s
            LEFT JOIN bench_account AS a
              ON mod(s.n, 3) = 0 AND a.slot = 1 + mod(s.n / 3, %(accounts)s)
        """
        return insert_select(
            self.cursor,
            Lead,
            values,
            source,
            self.params(low=low, high=high, step=step_seconds),
        )

    def insert_lead_handoffs(self) -> int:
        written = 0
        bounds = Lead.objects.filter(is_historical=False).values_list("pk", flat=True)
        low, high = bounds.order_by("pk").first(), bounds.order_by("-pk").first()
        if low is None:
            return 0
        for start in range(low, high + 1, LEAD_BATCH):
            written += insert_select(
                self.cursor,
                Handoff,
                {
                    "kind": "'lead_to_sales'",
                    "lead_id": "l.id",
                    "receiving_team_id": "l.team_id",
                    "receiver_id": "l.owner_id",
                    "state": "CASE l.status WHEN 'new' THEN 'open' "
                    "WHEN 'working' THEN 'accepted' "
                    "WHEN 'disqualified' THEN 'rejected' ELSE 'completed' END",
                    "rejection_reason": "CASE WHEN l.status = 'disqualified' "
                    "THEN l.disqualification_reason ELSE '' END",
                    "opened_at": "l.received_at",
                    "accepted_at": "l.first_response_at",
                    "closed_at": "l.closed_at",
                },
                f"FROM {table(Lead)} AS l WHERE NOT l.is_historical "
                "AND l.id BETWEEN %(low)s AND %(high)s",
                self.params(low=start, high=start + LEAD_BATCH - 1),
            )
        return written

    # Clocks ---------------------------------------------------------------------

    def create_policy_table(self) -> None:
        """The SLA policies each handoff starts, chosen as `clocks` chooses them."""
        self.cursor.execute(
            "CREATE TEMP TABLE bench_policy (kind text, lead_type text, "
            "policy_id bigint, key text, label text, clock_type text, "
            "owed_by text, target_seconds integer)"
        )
        rows = []
        for kind in Handoff.Kind.values:
            lead_types = LeadType.values if kind == Handoff.Kind.LEAD_TO_SALES else [""]
            for lead_type in lead_types:
                for policy in clocks.policies_for(kind, lead_type):
                    rows.append(
                        (
                            kind,
                            lead_type,
                            policy.pk,
                            policy.milestone_key,
                            policy.label,
                            policy.clock_type,
                            "receivers",
                            policy.target_seconds,
                        )
                    )
        self.cursor.executemany(
            "INSERT INTO bench_policy VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows
        )

    def insert_clocks(self, kinds: str, label: str) -> None:
        handoffs = Handoff.objects.values_list("pk", flat=True)
        if kinds == "lead_to_sales":
            handoffs = handoffs.filter(kind=Handoff.Kind.LEAD_TO_SALES)
        else:
            handoffs = handoffs.exclude(kind=Handoff.Kind.LEAD_TO_SALES)
        low, high = handoffs.order_by("pk").first(), handoffs.order_by("-pk").first()
        if low is None:
            return
        for start in range(low, high + 1, LEAD_BATCH):
            stop = min(start + LEAD_BATCH - 1, high)
            self.step(
                f"{label}, handoffs {start:,}-{stop:,}",
                lambda start=start, stop=stop: self.insert_milestones(
                    kinds, start, stop
                ),
            )

    def insert_milestones(self, kinds: str, low: int, high: int) -> int:
        """A milestone per policy of each handoff: met, running or breached.

        Due times count elapsed time; a business-time policy's real due time
        is later, which only moves which clocks count as breached.
        """
        key_draw = fraction("h.id", "hashtext(p.key)")
        # Lead clocks stop with the lead's own facts; the other handoffs meet
        # theirs once accepted, most in time, some late.
        met = f"""
            CASE
              WHEN h.kind = 'lead_to_sales' THEN
                CASE p.key WHEN 'first_response' THEN l.first_response_at
                           WHEN 'disposition' THEN l.closed_at
                           ELSE h.accepted_at END
              WHEN h.accepted_at IS NULL THEN NULL
              ELSE h.opened_at
                + p.target_seconds * (0.2 + 1.3 * {key_draw}) * interval '1 second'
            END
        """
        condition = (
            "h.kind = 'lead_to_sales'"
            if kinds == "lead_to_sales"
            else "h.kind <> 'lead_to_sales'"
        )
        source = f"""
            FROM (
              SELECT h.id AS handoff_id, h.receiver_id, p.key, p.label,
                p.clock_type, p.owed_by, p.target_seconds, p.policy_id,
                h.opened_at AS started_at,
                h.opened_at + p.target_seconds * interval '1 second' AS due_at,
                CASE WHEN ({met}) <= %(now)s THEN ({met}) END AS met_at
              FROM {table(Handoff)} AS h
              LEFT JOIN {table(Lead)} AS l ON l.id = h.lead_id
              JOIN bench_policy AS p
                ON p.kind = h.kind AND p.lead_type = coalesce(l.lead_type, '')
              WHERE {condition} AND h.id BETWEEN %(low)s AND %(high)s
            ) AS m
        """
        breached = "(m.met_at IS NULL AND m.due_at <= %(now)s) OR m.met_at > m.due_at"
        return insert_select(
            self.cursor,
            Milestone,
            {
                "handoff_id": "m.handoff_id",
                "key": "m.key",
                "label": "m.label",
                "clock_type": "m.clock_type",
                "owed_by": "m.owed_by",
                "target_seconds": "m.target_seconds",
                "policy_id": "m.policy_id",
                "started_at": "m.started_at",
                "due_at": "m.due_at",
                "met_at": "m.met_at",
                "breached_at": f"CASE WHEN {breached} THEN m.due_at END",
                "owner_at_breach_id": f"CASE WHEN {breached} THEN m.receiver_id END",
            },
            source,
            self.params(low=low, high=high),
        )

    # Deals ----------------------------------------------------------------------

    def insert_new_business(self) -> int:
        stages = default_pipeline(Pipeline.Kind.NEW_BUSINESS)
        count = self.scale.new_business_count
        source = f"""
            FROM (
              SELECT d.*, d.created_at + d.cycle AS closes_at,
                d.created_at + d.cycle <= %(now)s AS is_closed
              FROM (
                SELECT g.n,
                  %(since)s + (g.n - 1) * %(step)s * interval '1 second'
                    AS created_at,
                  (10 + 110 * {fraction("g.n", 21)}) * interval '1 day' AS cycle,
                  {percent_draw("g.n", 22)} AS outcome,
                  {fraction("g.n", 23)} AS stage_draw,
                  mod(g.n, 5) = 0 AS is_usd,
                  round((2000 + power({fraction("g.n", 24)}, 2) * 198000)::numeric, 2)
                    AS amount
                FROM generate_series(1, %(count)s) AS g(n)
              ) AS d
            ) AS s
            JOIN bench_account AS a ON a.slot = 1 + mod(s.n * 7, %(accounts)s)
        """
        won = f"s.is_closed AND s.outcome < {WON_SHARE}"
        return insert_select(
            self.cursor,
            Deal,
            {
                "name": "'Bench deal ' || s.n",
                "account_id": "a.id",
                "owner_id": "(%(reps)s::bigint[])[1 + mod(s.n, %(rep_count)s)]",
                "pipeline_id": "%(pipeline)s",
                "stage_id": f"CASE WHEN {won} THEN %(won)s "
                "WHEN s.is_closed THEN %(lost)s "
                "ELSE (%(open)s::bigint[])"
                "[1 + floor(s.stage_draw * cardinality(%(open)s::bigint[]))] END",
                "amount": "s.amount",
                "amount_currency": "CASE WHEN s.is_usd THEN 'USD' ELSE 'EUR' END",
                "engaged_on": "(s.created_at AT TIME ZONE 'UTC')::date",
                "closed_on": "CASE WHEN s.is_closed "
                "THEN (s.closes_at AT TIME ZONE 'UTC')::date END",
                "expected_close_on": "CASE WHEN NOT s.is_closed "
                "THEN (s.closes_at AT TIME ZONE 'UTC')::date END",
                "source": "(ARRAY['inbound', 'outbound', 'partner', "
                "'customer_referral', ''])[1 + mod(s.n, 5)]",
                "base_rate": "CASE WHEN s.is_usd THEN 1.08 ELSE 1 END",
                "base_rate_on": "(s.created_at AT TIME ZONE 'UTC')::date",
                "packet_completeness": f"CASE WHEN {won} THEN 60 + mod(s.n, 41) "
                "ELSE floor(s.stage_draw * 60) END",
                "created_at": "s.created_at",
            },
            source,
            self.params(
                count=count,
                step=SPAN_DAYS * 86400 / count,
                pipeline=stages.pipeline,
                won=stages.won,
                lost=stages.lost,
                open=stages.open,
            ),
        )

    def create_won_table(self) -> None:
        stages = default_pipeline(Pipeline.Kind.NEW_BUSINESS)
        self.cursor.execute(
            "CREATE TEMP TABLE bench_won AS SELECT row_number() OVER "
            "(ORDER BY d.id) AS slot, d.id, d.account_id, d.owner_id, d.closed_on, "
            "d.amount, d.amount_currency, d.base_rate "
            f"FROM {table(Deal)} AS d WHERE d.stage_id = %s",
            [stages.won],
        )
        self.cursor.execute("CREATE UNIQUE INDEX ON bench_won (slot)")
        self.cursor.execute("SELECT count(*) FROM bench_won")
        (self.won_count,) = self.cursor.fetchone()
        if not self.won_count:
            raise ImproperlyConfigured(
                "No new-business deal was won at this scale: give more --deals."
            )

    def insert_renewals(self) -> int:
        """Every won deal's renewal, due at the end of its twelve-month term."""
        stages = default_pipeline(Pipeline.Kind.RENEWALS)
        source = f"""
            FROM (
              SELECT w.*, (w.closed_on + interval '12 months')::date AS due_on,
                (w.closed_on + interval '12 months')::date
                  <= (%(now)s AT TIME ZONE 'UTC')::date AS is_closed,
                {percent_draw("w.id", 31)} AS outcome,
                {fraction("w.id", 32)} AS stage_draw,
                {fraction("w.id", 33)} AS change
              FROM bench_won AS w
            ) AS s
            JOIN {table(Account)} AS a ON a.id = s.account_id
        """
        return insert_select(
            self.cursor,
            Deal,
            {
                "name": "'Renewal of bench deal ' || s.id",
                "account_id": "s.account_id",
                "owner_id": "a.owner_id",
                "pipeline_id": "%(pipeline)s",
                "stage_id": f"CASE WHEN s.is_closed AND s.outcome < {RENEWED_SHARE} "
                "THEN %(won)s WHEN s.is_closed THEN %(lost)s "
                "ELSE (%(open)s::bigint[])"
                "[1 + floor(s.stage_draw * cardinality(%(open)s::bigint[]))] END",
                "amount": "round((s.amount * (0.95 + 0.2 * s.change))::numeric, 2)",
                "amount_currency": "s.amount_currency",
                "closed_on": "CASE WHEN s.is_closed THEN s.due_on END",
                "expected_close_on": "CASE WHEN NOT s.is_closed THEN s.due_on END",
                "base_rate": "s.base_rate",
                "base_rate_on": "s.closed_on",
                "renews_id": "s.id",
                "created_at": "(s.closed_on + interval '12 hours') AT TIME ZONE 'UTC'",
            },
            source,
            self.params(
                pipeline=stages.pipeline,
                won=stages.won,
                lost=stages.lost,
                open=stages.open,
            ),
        )

    def insert_expansions(self) -> int:
        """The rest of the deals: expansions of won deals, in three pipelines."""
        count = self.scale.deals - self.scale.new_business_count - self.won_count
        if count <= 0:
            return 0
        pipelines = {
            kind: default_pipeline(Pipeline.Kind.EXPANSION, kind)
            for kind in Pipeline.ExpansionType.values
        }

        def by_type(pick: Callable[[Stages], str]) -> str:
            cases = " ".join(
                f"WHEN '{kind}' THEN {pick(stages)}"
                for kind, stages in pipelines.items()
            )
            return f"CASE s.expansion_type {cases} END"

        def open_stage(stages: Stages) -> str:
            return (
                f"(ARRAY{stages.open}::bigint[])"
                f"[1 + floor(s.stage_draw * {len(stages.open)})]"
            )

        draw = fraction("g.n", 41)
        source = f"""
            FROM (
              SELECT e.*, e.created_at + e.cycle AS closes_at,
                e.created_at + e.cycle <= %(now)s AS is_closed
              FROM (
                SELECT g.n, w.id AS expands_id, w.account_id, w.amount,
                  w.amount_currency, w.base_rate,
                  CASE WHEN {draw} < 0.5 THEN 'upsell'
                       WHEN {draw} < 0.8 THEN 'cross_sell'
                       ELSE 'new_buying_group' END AS expansion_type,
                  least(
                    (w.closed_on + (20 + 400 * {fraction("g.n", 42)})
                      * interval '1 day') AT TIME ZONE 'UTC',
                    %(now)s - interval '1 hour'
                  ) AS created_at,
                  (15 + 75 * {fraction("g.n", 43)}) * interval '1 day' AS cycle,
                  {percent_draw("g.n", 44)} AS outcome,
                  {fraction("g.n", 45)} AS stage_draw,
                  {fraction("g.n", 46)} AS share
                FROM generate_series(1, %(count)s) AS g(n)
                JOIN bench_won AS w ON w.slot = 1 + mod(g.n * 13, %(won_count)s)
              ) AS e
            ) AS s
            JOIN {table(Account)} AS a ON a.id = s.account_id
        """
        won = f"s.is_closed AND s.outcome < {EXPANSION_WON_SHARE}"
        return insert_select(
            self.cursor,
            Deal,
            {
                "name": "'Expansion ' || s.n || ' of bench deal ' || s.expands_id",
                "account_id": "s.account_id",
                "owner_id": "a.owner_id",
                "pipeline_id": by_type(lambda stages: str(stages.pipeline)),
                "stage_id": f"CASE WHEN {won} THEN "
                + by_type(lambda stages: str(stages.won))
                + " WHEN s.is_closed THEN "
                + by_type(lambda stages: str(stages.lost))
                + " ELSE "
                + by_type(open_stage)
                + " END",
                "amount": "round((s.amount * (0.1 + 0.4 * s.share))::numeric, 2)",
                "amount_currency": "s.amount_currency",
                "engaged_on": "(s.created_at AT TIME ZONE 'UTC')::date",
                "closed_on": "CASE WHEN s.is_closed "
                "THEN (s.closes_at AT TIME ZONE 'UTC')::date END",
                "expected_close_on": "CASE WHEN NOT s.is_closed "
                "THEN (s.closes_at AT TIME ZONE 'UTC')::date END",
                "source": "'expansion'",
                "base_rate": "s.base_rate",
                "base_rate_on": "(s.created_at AT TIME ZONE 'UTC')::date",
                "expands_id": "s.expands_id",
                "created_at": "s.created_at",
            },
            source,
            self.params(count=count, won_count=self.won_count),
        )

    def insert_subscriptions(self) -> int:
        """A paid subscription per won deal from its close: most still run, some
        end early in onboarding, and those whose renewal was lost end with it."""
        today = "(%(now)s AT TIME ZONE 'UTC')::date"
        early_end = f"w.closed_on + (20 + floor(180 * {fraction('w.id', 35)}))::int"
        return insert_select(
            self.cursor,
            Subscription,
            {
                "account_id": "w.account_id",
                "source": "'bench'",
                "external_id": "'bench-subscription-' || w.id",
                "started_on": "w.closed_on",
                "ended_on": f"CASE WHEN {fraction('w.id', 34)} < 0.08 "
                f"AND {early_end} <= {today} THEN {early_end} "
                "WHEN rs.outcome = 'lost' THEN r.closed_on END",
                "plan_tier": "(ARRAY['Team', 'Business', 'Enterprise'])"
                "[1 + mod(w.id, 3)]",
                "seats": "10 + mod(w.id, 200)",
                "monthly_amount": "round(w.amount / 12, 2)",
                "currency": "w.amount_currency",
                "billing_frequency": "'annual'",
            },
            f"FROM bench_won AS w LEFT JOIN {table(Deal)} AS r ON r.renews_id = w.id "
            f"LEFT JOIN {table(Stage)} AS rs ON rs.id = r.stage_id",
            self.params(),
        )

    # Implementation -------------------------------------------------------------

    def create_implementation_table(self) -> None:
        """Each won deal's implementation timeline; dates after today not yet."""
        today = "(%(now)s AT TIME ZONE 'UTC')::date"

        def done(column: str) -> str:
            return f"CASE WHEN p.{column} <= {today} THEN p.{column} END"

        self.cursor.execute(
            f"""
            CREATE TEMP TABLE bench_implementation AS
            SELECT t.*,
              CASE WHEN t.hypercare_end_on IS NOT NULL THEN 'handed_to_cs'
                   WHEN t.go_live_on IS NOT NULL THEN 'hypercare'
                   WHEN t.kickoff_on IS NOT NULL THEN 'implementing'
                   ELSE 'kickoff_pending' END AS status,
              CASE WHEN t.hypercare_end_on IS NOT NULL THEN least(
                (t.hypercare_end_on + interval '10 hours') AT TIME ZONE 'UTC',
                %(now)s
              ) END AS cs_opened_at
            FROM (
              SELECT p.deal_id, p.account_id, p.owner_id, p.amount, p.base_rate,
                p.opened_at, p.assigned_at, p.lead_id, p.lead_team_id,
                p.partner_id, p.kickoff_planned, p.first_meeting_planned,
                p.go_live_planned,
                {done("kickoff_on")} AS kickoff_on,
                {done("first_meeting_on")} AS first_meeting_on,
                {done("go_live_on")} AS go_live_on,
                {done("first_value_on")} AS first_value_on,
                CASE WHEN p.go_live_on + 30 <= {today} THEN p.go_live_on + 30 END
                  AS hypercare_end_on,
                {done("go_live_on")} + 30 AS hypercare_ends_on
              FROM (
                SELECT q.*,
                  q.kickoff_on + (3 + floor(11 * {fraction("q.deal_id", 53)}))::int
                    AS first_meeting_on,
                  -- One implementation in ten stalls and never goes live.
                  CASE WHEN NOT q.is_stalled THEN q.go_live_planned
                    + (-10 + floor(50 * {fraction("q.deal_id", 55)}))::int
                  END AS go_live_on,
                  CASE WHEN NOT q.is_stalled THEN q.kickoff_on
                    + (10 + floor(50 * {fraction("q.deal_id", 56)}))::int
                  END AS first_value_on
                FROM (
                  SELECT w.id AS deal_id, w.account_id, w.owner_id, w.amount,
                    w.base_rate, o.opened_at, o.assigned_at,
                    (%(implementation_leads)s::bigint[])
                      [1 + mod(w.id, cardinality(%(implementation_leads)s::bigint[]))]
                      AS lead_id,
                    (%(implementation_lead_teams)s::bigint[])
                      [1 + mod(w.id, cardinality(%(implementation_leads)s::bigint[]))]
                      AS lead_team_id,
                    CASE WHEN mod(w.id, 4) = 0 THEN NULL
                      ELSE (%(partners)s::bigint[])
                        [1 + mod(w.id, cardinality(%(partners)s::bigint[]))]
                    END AS partner_id,
                    (o.assigned_at AT TIME ZONE 'UTC')::date + 7 AS kickoff_planned,
                    (o.assigned_at AT TIME ZONE 'UTC')::date + 14
                      AS first_meeting_planned,
                    (o.assigned_at AT TIME ZONE 'UTC')::date + 67 AS go_live_planned,
                    (o.assigned_at AT TIME ZONE 'UTC')::date
                      + (2 + floor(26 * power({fraction("w.id", 52)}, 1.5)))::int
                      AS kickoff_on,
                    {fraction("w.id", 54)} < 0.1 AS is_stalled
                  FROM bench_won AS w
                  CROSS JOIN LATERAL (
                    SELECT (w.closed_on + interval '14 hours') AT TIME ZONE 'UTC'
                        AS opened_at,
                      (w.closed_on + interval '14 hours') AT TIME ZONE 'UTC'
                        + (4 + 44 * {fraction("w.id", 51)}) * interval '1 hour'
                        AS assigned_at
                  ) AS o
                ) AS q
              ) AS p
            ) AS t
            """,
            self.params(),
        )
        # Go-live waits for kickoff; so does every later step.
        self.cursor.execute(
            "UPDATE bench_implementation SET first_meeting_on = NULL, "
            "go_live_on = NULL, first_value_on = NULL, hypercare_end_on = NULL, "
            "hypercare_ends_on = NULL, status = 'kickoff_pending' "
            "WHERE kickoff_on IS NULL OR assigned_at > %s",
            [self.now],
        )
        self.cursor.execute("CREATE UNIQUE INDEX ON bench_implementation (deal_id)")

    def insert_sales_handoffs(self) -> int:
        return insert_select(
            self.cursor,
            Handoff,
            {
                "kind": "'sales_to_implementation'",
                "deal_id": "i.deal_id",
                "sending_team_id": "o.team_id",
                "sender_id": "i.owner_id",
                "receiving_team_id": "i.lead_team_id",
                "receiver_id": "i.lead_id",
                "state": "CASE WHEN i.assigned_at > %(now)s THEN 'open' "
                "WHEN i.status = 'handed_to_cs' THEN 'completed' "
                "ELSE 'accepted' END",
                "involvement": "CASE WHEN i.amount / i.base_rate >= 50000 "
                "THEN 'warm_overlay' ELSE 'clean_break' END",
                "annual_value_eur": "round(i.amount / i.base_rate, 2)",
                "opened_at": "i.opened_at",
                "accepted_at": "CASE WHEN i.assigned_at <= %(now)s "
                "THEN i.assigned_at END",
                "closed_at": "CASE WHEN i.status = 'handed_to_cs' "
                "THEN i.cs_opened_at END",
            },
            f"FROM bench_implementation AS i "
            f"LEFT JOIN {table(Person)} AS o ON o.id = i.owner_id",
            self.params(),
        )

    def insert_engagements(self) -> int:
        return insert_select(
            self.cursor,
            Engagement,
            {
                "handoff_id": "h.id",
                "deal_id": "i.deal_id",
                "account_id": "i.account_id",
                "partner_id": "i.partner_id",
                "ae_id": "i.owner_id",
                "implementation_lead_id": "i.lead_id",
                "status": "i.status",
                "assigned_at": "i.assigned_at",
                "ae_attended_kickoff": "CASE WHEN i.kickoff_on IS NOT NULL "
                f"THEN {fraction('i.deal_id', 57)} < 0.8 END",
                "hypercare_days": "CASE WHEN i.go_live_on IS NOT NULL THEN 30 END",
                "hypercare_ends_on": "i.hypercare_ends_on",
                "cs_packet_completeness": "CASE i.status "
                "WHEN 'handed_to_cs' THEN 100 WHEN 'hypercare' THEN 60 ELSE 0 END",
                "first_value_on": "i.first_value_on",
                "created_at": "i.assigned_at",
            },
            f"FROM bench_implementation AS i JOIN {table(Handoff)} AS h "
            "ON h.deal_id = i.deal_id AND h.kind = 'sales_to_implementation' "
            "WHERE i.assigned_at <= %(now)s",
            self.params(),
        )

    def insert_implementation_milestones(self) -> int:
        kinds = ", ".join(
            f"('{kind}', {position})"
            for position, kind in enumerate(ImplementationMilestone.ORDER)
        )
        actual = (
            "CASE k.kind WHEN 'kickoff' THEN i.kickoff_on "
            "WHEN 'first_meeting' THEN i.first_meeting_on "
            "WHEN 'go_live' THEN i.go_live_on ELSE i.hypercare_end_on END"
        )
        return insert_select(
            self.cursor,
            ImplementationMilestone,
            {
                "engagement_id": "e.id",
                "kind": "k.kind",
                "position": "k.position",
                "planned_on": "CASE k.kind WHEN 'kickoff' THEN i.kickoff_planned "
                "WHEN 'first_meeting' THEN i.first_meeting_planned "
                "WHEN 'go_live' THEN i.go_live_planned "
                "ELSE i.go_live_planned + 30 END",
                "actual_on": actual,
                "logged_by": f"CASE WHEN {actual} IS NOT NULL "
                "THEN 'Bench partner' ELSE '' END",
                "logged_at": f"({actual} + interval '16 hours') AT TIME ZONE 'UTC'",
            },
            f"FROM {table(Engagement)} AS e "
            "JOIN bench_implementation AS i ON i.deal_id = e.deal_id "
            f"CROSS JOIN (VALUES {kinds}) AS k(kind, position)",
            self.params(),
        )

    def insert_readiness(self) -> int:
        keys = ", ".join(
            f"('{key}', {position})"
            for position, key in enumerate(ReadinessCondition.Key.values)
        )
        is_met = "(i.go_live_on IS NOT NULL OR k.position < mod(e.id, 5))"
        return insert_select(
            self.cursor,
            ReadinessCondition,
            {
                "engagement_id": "e.id",
                "key": "k.key",
                "position": "k.position",
                "owner_name": "'Bench owner'",
                "evidence": "'Signed off in the project plan'",
                "is_met": is_met,
                "confirmed_by": f"CASE WHEN {is_met} THEN 'Bench partner' ELSE '' END",
                "confirmed_at": f"CASE WHEN {is_met} THEN e.assigned_at "
                "+ interval '20 days' END",
            },
            f"FROM {table(Engagement)} AS e "
            "JOIN bench_implementation AS i ON i.deal_id = e.deal_id "
            f"CROSS JOIN (VALUES {keys}) AS k(key, position)",
            self.params(),
        )

    def insert_cs_handoffs(self) -> int:
        draw = fraction("i.deal_id", 58)
        count = insert_select(
            self.cursor,
            Handoff,
            {
                "kind": "'implementation_to_cs'",
                "deal_id": "i.deal_id",
                "sending_team_id": "i.lead_team_id",
                "sender_id": "i.lead_id",
                "receiving_team_id": "(%(csm_teams)s::bigint[])"
                "[1 + mod(i.deal_id, cardinality(%(csms)s::bigint[]))]",
                "receiver_id": "(%(csms)s::bigint[])"
                "[1 + mod(i.deal_id, cardinality(%(csms)s::bigint[]))]",
                "state": f"CASE WHEN {draw} < 0.05 THEN 'open' "
                "WHEN i.cs_opened_at < %(now)s - interval '30 days' "
                "THEN 'completed' ELSE 'accepted' END",
                "opened_at": "i.cs_opened_at",
                "accepted_at": f"CASE WHEN {draw} >= 0.05 THEN least(i.cs_opened_at "
                f"+ (2 + 70 * {fraction('i.deal_id', 59)}) * interval '1 hour', "
                "%(now)s) END",
                "closed_at": f"CASE WHEN {draw} >= 0.05 "
                "AND i.cs_opened_at < %(now)s - interval '30 days' "
                "THEN i.cs_opened_at + interval '30 days' END",
            },
            "FROM bench_implementation AS i WHERE i.hypercare_end_on IS NOT NULL",
            self.params(),
        )
        self.cursor.execute(
            f"UPDATE {table(Engagement)} AS e SET cs_handoff_id = h.id "
            f"FROM {table(Handoff)} AS h "
            "WHERE h.deal_id = e.deal_id AND h.kind = 'implementation_to_cs'"
        )
        return count

    # Expansion ------------------------------------------------------------------

    def expansion_deals(self) -> str:
        return (
            f"FROM {table(Deal)} AS d "
            f"JOIN {table(Pipeline)} AS p ON p.id = d.pipeline_id "
            "AND p.kind = 'expansion' "
            f"JOIN {table(Stage)} AS st ON st.id = d.stage_id "
            f"LEFT JOIN {table(Person)} AS o ON o.id = d.owner_id"
        )

    def insert_expansion_handoffs(self) -> int:
        draw = fraction("d.id", 61)
        csm = "[1 + mod(d.id, cardinality(%(csms)s::bigint[]))]"
        state = (
            "CASE WHEN st.outcome <> 'open' THEN 'completed' "
            f"WHEN {draw} < 0.1 THEN 'open' ELSE 'accepted' END"
        )
        return insert_select(
            self.cursor,
            Handoff,
            {
                "kind": "'cs_to_sales'",
                "deal_id": "d.id",
                "sending_team_id": f"(%(csm_teams)s::bigint[]){csm}",
                "sender_id": f"(%(csms)s::bigint[]){csm}",
                "receiving_team_id": "o.team_id",
                "receiver_id": "d.owner_id",
                "state": state,
                "involvement": "(ARRAY['closes', 'in_meetings', 'advisory'])"
                "[1 + mod(d.id, 3)]",
                "annual_value_eur": "round(d.amount / d.base_rate, 2)",
                "opened_at": "d.created_at",
                "accepted_at": f"CASE WHEN {state} <> 'open' THEN least(d.created_at "
                f"+ (1 + 60 * {fraction('d.id', 62)}) * interval '1 hour', "
                "%(now)s) END",
                "closed_at": "CASE WHEN st.outcome <> 'open' "
                "THEN (d.closed_on + interval '17 hours') AT TIME ZONE 'UTC' END",
            },
            self.expansion_deals(),
            self.params(),
        )

    def insert_signals(self) -> int:
        kinds = [kind for kind in SignalKind.values]
        return insert_select(
            self.cursor,
            Signal,
            {
                "account_id": "d.account_id",
                "kind": f"(ARRAY{kinds})[1 + mod(d.id, {len(kinds)})]",
                "source": "'csm'",
                "status": "'converted'",
                "raised_by_id": "(%(csms)s::bigint[])"
                "[1 + mod(d.id, cardinality(%(csms)s::bigint[]))]",
                "raised_at": "d.created_at - interval '2 days'",
                "evidence": "'Seen by the CSM in the quarterly review'",
                "deal_id": "d.id",
                "closed_at": "d.created_at",
            },
            self.expansion_deals(),
            self.params(),
        )

    def insert_ratings(self) -> int:
        """Most accepted deal handoffs are rated, and a few lead handoffs."""
        scores = {
            name: f"1 + floor(5 * power({fraction('h.id', 70 + number)}, 0.6))"
            for number, (name, _) in enumerate(HandoffRating.DIMENSIONS)
        }
        draw = fraction("h.id", 69)
        return insert_select(
            self.cursor,
            HandoffRating,
            {
                "handoff_id": "h.id",
                **scores,
                "rated_by_id": "h.receiver_id",
                "rated_at": "h.accepted_at + interval '2 days'",
            },
            f"FROM {table(Handoff)} AS h WHERE h.accepted_at IS NOT NULL "
            "AND h.accepted_at + interval '2 days' <= %(now)s "
            f"AND ((h.kind <> 'lead_to_sales' AND {draw} < 0.7) "
            f"OR (h.kind = 'lead_to_sales' AND {draw} < 0.05))",
            self.params(),
        )

    def analyze(self, *models: type[Model]) -> None:
        """ANALYZE the models' tables, or the whole database."""
        if not models:
            self.cursor.execute("ANALYZE")
        for model in models:
            self.cursor.execute(f"ANALYZE {table(model)}")


def stamped(model: type[Model], name: str, seconds: str) -> str:
    """Seconds as the stamped field stores them (an integer, a float...)."""
    db_type = model._meta.get_field(name).db_type(connection)
    return f"CASE WHEN s.responded_at IS NOT NULL THEN round({seconds})::{db_type} END"


def generated_counts() -> dict[str, int]:
    """What the database holds after generation, for the report and the tests."""
    handoffs = Handoff.objects.values_list("kind", flat=True)
    deals = Deal.objects.values_list("pipeline__kind", flat=True)
    won = Stage.Outcome.WON
    return {
        "teams": Team.objects.count(),
        "people": Person.objects.count(),
        "accounts": Account.objects.count(),
        "leads": Lead.objects.count(),
        "historical_leads": Lead.objects.filter(is_historical=True).count(),
        "lead_to_sales_handoffs": handoffs.filter(kind="lead_to_sales").count(),
        "first_response_milestones": Milestone.objects.filter(
            key=Milestone.Key.FIRST_RESPONSE
        ).count(),
        "breached_milestones": Milestone.objects.filter(
            breached_at__isnull=False
        ).count(),
        "milestones": Milestone.objects.count(),
        "deals": Deal.objects.count(),
        "new_business_deals": deals.filter(pipeline__kind="new_business").count(),
        "won_new_business_deals": Deal.objects.filter(
            pipeline__kind="new_business", stage__outcome=won
        ).count(),
        "renewal_deals": deals.filter(pipeline__kind="renewals").count(),
        "expansion_deals": deals.filter(pipeline__kind="expansion").count(),
        "sales_to_implementation_handoffs": handoffs.filter(
            kind="sales_to_implementation"
        ).count(),
        "engagements": Engagement.objects.count(),
        "implementation_milestones": ImplementationMilestone.objects.count(),
        "readiness_conditions": ReadinessCondition.objects.count(),
        "implementation_to_cs_handoffs": handoffs.filter(
            kind="implementation_to_cs"
        ).count(),
        "cs_to_sales_handoffs": handoffs.filter(kind="cs_to_sales").count(),
        "signals": Signal.objects.count(),
        "subscriptions": Subscription.objects.count(),
        "ratings": HandoffRating.objects.count(),
        "sla_policies": SlaPolicy.objects.filter(is_active=True).count(),
    }


def generate(scale: Scale, now: datetime, say: Callable[[str], None]) -> dict:
    """Write the bench's data for `scale` as of `now`; return the counts."""
    return Generator(scale, now, say).run()


def admin_person() -> Person:
    """The RevOps admin the bench signs in as."""
    return Person.objects.select_related("user").get(user__username=ADMIN_USERNAME)
