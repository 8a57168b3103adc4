"""The configuration every intake reads, kept in each process until it changes.

Routing rules and their teams, the lead-taking members of those teams with
their time out of office and notification preferences, territories, the SLA
targets with their escalation ladders, the scoring weights, the working
periods and company days off that business-time clocks count, and the webhook
endpoints told of each new owner: people edit them now and then, and every
lead reads them. Each process keeps
the rows it read together with the configuration's token; an intake reads the
token (one row by its key) and reads the rows again only when it moved.

The database moves the token: triggers on each of these tables write a new
random one in the transaction of any insert, update, delete or truncate,
whatever made it (the admin, a queryset update, a data migration, psql). A
change commits together with its token, so the next intake in every web
process and worker sees it. A team's rotation counter and an endpoint's count
of failed deliveries are no configuration: the hot paths move them all the
time, and the triggers pass them by. The triggers are put in place after
every `migrate` (and every flush), from the models as they are then, so a
table that a migration rebuilt, or a column added since, is watched as well.

The rows are kept as plain values, and every caller gets model instances of
its own: the threads of a web process share nothing one of them could change.
"""

import copy
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import JSONField

from bowtie.calendars import BusinessCalendar, build_calendar
from bowtie.compiled_queries import run_statement
from bowtie.models import (
    CompanyDayOff,
    NotificationPreference,
    OutOfOffice,
    Person,
    Team,
    Territory,
    WebhookEndpoint,
    WorkingPeriod,
)
from handoffs.clocks import one_policy_per_milestone
from handoffs.models import (
    ConfigurationVersion,
    EscalationRule,
    RoutingRule,
    ScoringModel,
    SlaPolicy,
)

logger = logging.getLogger(__name__)

WATCHED_MODELS = (
    RoutingRule,
    SlaPolicy,
    EscalationRule,
    ScoringModel,
    Team,
    Person,
    OutOfOffice,
    NotificationPreference,
    Territory,
    WorkingPeriod,
    CompanyDayOff,
    WebhookEndpoint,
)
# Columns the hot path writes and the cache does not read, by model: a team's
# rotation counter, an endpoint's count of failures in a row.
IGNORED_COLUMNS = {
    Team: ("rotation_position",),
    WebhookEndpoint: ("consecutive_failures", "failing_since"),
}
TOKEN_ROW_ID = 1
TRIGGER_SUFFIX = "_moves_configuration_token"
FUNCTION = "handoffs_move_configuration_token"


@dataclass(frozen=True)
class Rows:
    """Rows of one model as plain values, in the order they were read."""

    model: type
    names: tuple[str, ...]
    values: tuple[tuple, ...]

    @classmethod
    def read(cls, queryset, names: tuple[str, ...] = ()) -> "Rows":
        """The rows of the queryset: all columns, or those `names` (the others
        are deferred on the instances, as with `only`)."""
        names = names or tuple(
            field.attname for field in queryset.model._meta.concrete_fields
        )
        return cls(queryset.model, names, tuple(queryset.values_list(*names)))

    def instances(self, keep: Callable[["RowView"], bool] | None = None) -> list:
        """New model instances of the rows, or of those `keep` accepts.

        `keep` reads a row's columns by name: `row["team_id"]`.
        """
        found = []
        json_positions = self.json_positions
        # One view, moved from row to row: a dict per row cost intake more
        # than the instances it kept.
        view = RowView(self.positions)
        for row in self.values:
            view.row = row
            if keep is not None and not keep(view):
                continue
            if json_positions:
                # JSON values are the only mutable ones: each caller gets a copy.
                row = list(row)
                for position in json_positions:
                    row[position] = copy.deepcopy(row[position])
            found.append(self.model.from_db(DEFAULT_DB_ALIAS, self.names, row))
        return found

    @cached_property
    def positions(self) -> dict[str, int]:
        return {name: position for position, name in enumerate(self.names)}

    @cached_property
    def json_positions(self) -> tuple[int, ...]:
        json_columns = {
            field.attname
            for field in self.model._meta.concrete_fields
            if isinstance(field, JSONField)
        }
        return tuple(
            position for position, name in enumerate(self.names) if name in json_columns
        )


class RowView:
    """A kept row's columns by name, for the filters of `Rows.instances`."""

    __slots__ = ("positions", "row")

    def __init__(self, positions: dict[str, int]):
        self.positions = positions
        self.row: tuple = ()

    def __getitem__(self, name: str):
        return self.row[self.positions[name]]


@dataclass(frozen=True)
class Configuration:
    """What one intake reads of the configuration, from the rows kept."""

    token: str | None
    rules: Rows
    teams: Rows
    members: Rows
    # (person id, starts at, ends at) of each period out of office of a member.
    away: tuple[tuple, ...]
    preferences: Rows
    territories: Rows
    policies: Rows
    ladder: Rows
    weights: tuple[tuple[str, int], ...]
    periods: Rows
    days_off: Rows
    endpoints: Rows

    def routing_rules(self) -> list[RoutingRule]:
        """The active rules with their teams, in the order routing tries them."""
        teams = {team.pk: team for team in self.teams.instances()}
        rules = self.rules.instances()
        for rule in rules:
            rule.team = teams[rule.team_id]
        return rules

    def team_members(self, team: Team, now) -> list[Person]:
        """As `routing.team_members` without open counts, from the rows kept."""
        away = {
            person_id
            for person_id, starts_at, ends_at in self.away
            if starts_at <= now < ends_at
        }
        people = self.members.instances(lambda row: row["team_id"] == team.pk)
        for person in people:
            person.is_away = person.pk in away
        return people

    def notification_preferences(
        self, people: list[Person]
    ) -> dict[tuple[int, str], NotificationPreference] | None:
        """The preferences of these people by (person id, topic), as
        `bowtie.notifications` reads them; None unless all are members kept."""
        member_at = self.members.names.index("id")
        kept_ids = {row[member_at] for row in self.members.values}
        wanted = {person.pk for person in people}
        if not wanted <= kept_ids:
            return None
        return {
            (preference.person_id, preference.topic): preference
            for preference in self.preferences.instances(
                lambda row: row["person_id"] in wanted
            )
        }

    def territories_in_order(self) -> list[Territory]:
        return self.territories.instances()

    def policies_for(
        self,
        kind: str,
        lead_type: str = "",
        starts_when: str = SlaPolicy.StartsWhen.OPENED,
    ) -> list[SlaPolicy]:
        """As `clocks.policies_for`, each policy with its `active_ladder`."""
        policies = self.policies.instances(
            lambda row: (
                row["handoff_kind"] == kind
                and row["lead_type"] in (lead_type, "")
                and row["starts_when"] == starts_when
            )
        )
        chosen = one_policy_per_milestone(policies)
        wanted = {policy.pk for policy in chosen}
        ladders = {pk: [] for pk in wanted}
        for rule in self.ladder.instances(lambda row: row["policy_id"] in wanted):
            ladders[rule.policy_id].append(rule)
        for policy in chosen:
            policy.active_ladder = ladders[policy.pk]
        return chosen

    def webhook_endpoints(self) -> list[WebhookEndpoint]:
        """The active endpoints, in name order, as `bowtie.webhooks` reads them."""
        return self.endpoints.instances()

    def scoring_weights(self) -> dict[str, int]:
        return dict(self.weights)

    def calendar_for(self, person=None, team=None) -> BusinessCalendar:
        """As `bowtie.calendars.calendar_for`, from the rows kept."""
        if team is None and person is not None:
            team = person.team
        person_id = person.pk if person is not None else None
        team_id = team.pk if team is not None else None
        periods = self.periods.instances(
            lambda row: (
                (person_id is not None and row["person_id"] == person_id)
                or (team_id is not None and row["team_id"] == team_id)
            )
        )
        days_off = self.days_off.instances(
            lambda row: row["team_id"] is None or row["team_id"] == team_id
        )
        return build_calendar(person, team, periods=periods, days_off=days_off)


def read_configuration(token: str | None) -> Configuration:
    rules = RoutingRule.objects.filter(is_active=True).order_by(
        "is_default", "priority"
    )
    team_ids = set(rules.values_list("team_id", flat=True))
    members = Person.objects.filter(
        team__in=team_ids, role__in=Person.LEAD_TAKING_ROLES
    ).order_by("pk")
    scoring = ScoringModel.objects.order_by("pk").first() or ScoringModel()
    return Configuration(
        token=token,
        rules=Rows.read(rules),
        teams=Rows.read(Team.objects.filter(pk__in=team_ids)),
        members=Rows.read(members),
        away=tuple(
            OutOfOffice.objects.filter(person__in=members).values_list(
                "person_id", "starts_at", "ends_at"
            )
        ),
        preferences=Rows.read(
            NotificationPreference.objects.filter(person__in=members)
        ),
        territories=Rows.read(Territory.objects.all()),
        policies=Rows.read(SlaPolicy.objects.filter(is_active=True)),
        ladder=Rows.read(
            EscalationRule.objects.filter(is_active=True, policy__is_active=True)
        ),
        weights=tuple(scoring.as_dict().items()),
        periods=Rows.read(WorkingPeriod.objects.all()),
        days_off=Rows.read(CompanyDayOff.objects.all()),
        endpoints=Rows.read(
            WebhookEndpoint.objects.filter(is_active=True),
            names=("id", "event_types", "crm_source_id"),
        ),
    )


def read_token() -> str | None:
    rows = run_statement(*configuration_token_statement())
    return rows[0][0] if rows else None


def configuration_token_statement() -> tuple[str, list]:
    """The read of the token, for a caller that runs it among others."""
    table = connection.ops.quote_name(ConfigurationVersion._meta.db_table)
    return f"SELECT token FROM {table} WHERE id = %s", [TOKEN_ROW_ID]


def add_token() -> str | None:
    """Give a database that has no token yet one, and return the token it has.

    A change committed meanwhile has written its own; that one stays.
    """
    ConfigurationVersion.objects.bulk_create(
        [ConfigurationVersion(pk=TOKEN_ROW_ID, token=uuid.uuid4().hex)],
        ignore_conflicts=True,
    )
    return read_token()


# The configuration this process read last. Replaced whole, never changed.
kept: Configuration | None = None


def current_configuration(token: str | None = None) -> Configuration:
    """The configuration as committed now: the kept one if its token still holds.

    The token is read before the rows, so rows read while a change commits are
    kept under the older token, and read again by the next intake. A caller
    that has just read the token gives it.
    """
    global kept
    token = token or read_token() or add_token()
    configuration = kept
    if configuration is not None and token is not None and configuration.token == token:
        return configuration

    configuration = read_configuration(token)
    if token is not None:
        kept = configuration
        logger.info("configuration read again for token %s", token)
    return configuration


def trigger_name(table: str, event: str) -> str:
    return f"{table}_{event}{TRIGGER_SUFFIX}"


def postgresql_triggers(model) -> dict[str, str]:
    table = model._meta.db_table
    ignored = IGNORED_COLUMNS.get(model, ())
    if not ignored:
        return {
            trigger_name(table, "change"): (
                f"CREATE TRIGGER {trigger_name(table, 'change')} AFTER INSERT OR "
                f"UPDATE OR DELETE OR TRUNCATE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {FUNCTION}()"
            )
        }

    # Updates row by row, comparing every column but the ignored ones, so a
    # column added later is compared too.
    def without_ignored(row: str) -> str:
        return " - ".join([f"to_jsonb({row})", *(f"'{name}'" for name in ignored)])

    changed = f"({without_ignored('OLD')}) IS DISTINCT FROM ({without_ignored('NEW')})"
    return {
        trigger_name(table, "change"): (
            f"CREATE TRIGGER {trigger_name(table, 'change')} AFTER INSERT OR DELETE "
            f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        ),
        trigger_name(table, "update"): (
            f"CREATE TRIGGER {trigger_name(table, 'update')} AFTER UPDATE ON {table} "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {FUNCTION}()"
        ),
    }


def sqlite_triggers(model) -> dict[str, str]:
    table = model._meta.db_table
    token_table = ConfigurationVersion._meta.db_table
    move = (
        f"INSERT OR REPLACE INTO {token_table} (id, token) "
        f"VALUES ({TOKEN_ROW_ID}, lower(hex(randomblob(16))))"
    )
    ignored = IGNORED_COLUMNS.get(model, ())
    # SQLite compares no rows in a trigger's condition as simply: an update
    # counts when it sets any column but the ignored ones.
    columns = [
        field.column
        for field in model._meta.concrete_fields
        if field.column not in ignored
    ]
    of_columns = f" OF {', '.join(columns)}" if ignored else ""
    return {
        trigger_name(table, event.lower()): (
            f"CREATE TRIGGER {trigger_name(table, event.lower())} AFTER {event}"
            f"{of_columns if event == 'UPDATE' else ''} ON {table} "
            f"BEGIN {move}; END"
        )
        for event in ("INSERT", "UPDATE", "DELETE")
    }


def postgresql_function() -> str:
    token_table = ConfigurationVersion._meta.db_table
    return (
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {token_table} (id, token) "
        f"VALUES ({TOKEN_ROW_ID}, gen_random_uuid()::text) "
        f"ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token; "
        f"RETURN NULL; END $$"
    )


def expected_triggers(vendor: str) -> dict[str, tuple[str, str]]:
    """Trigger name to (table, CREATE statement), for this database."""
    triggers_of = postgresql_triggers if vendor == "postgresql" else sqlite_triggers
    return {
        name: (model._meta.db_table, statement)
        for model in WATCHED_MODELS
        for name, statement in triggers_of(model).items()
    }


def existing_triggers(db) -> dict[str, tuple[str, str]]:
    """Trigger name to (table, definition) of the triggers this module made."""
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) "
                "FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE %s",
                [f"%{TRIGGER_SUFFIX}"],
            )
        else:
            cursor.execute(
                "SELECT name, tbl_name, sql FROM sqlite_master "
                "WHERE type = 'trigger' AND name LIKE %s",
                [f"%{TRIGGER_SUFFIX}"],
            )
        return {name: (table, sql) for name, table, sql in cursor.fetchall()}


def drop_trigger(db, name: str, table: str) -> None:
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def ensure_triggers(using: str = DEFAULT_DB_ALIAS) -> None:
    """Put the token's triggers in place as the models are now; drop old ones.

    With no token table (migrated back, or not yet migrated) the triggers go,
    since they would write into a table that is not there.
    """
    db = connections[using]
    if db.vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"No configuration triggers for {db.vendor}.")
    tables = set(db.introspection.table_names())
    needed = {ConfigurationVersion._meta.db_table} | {
        model._meta.db_table for model in WATCHED_MODELS
    }
    expected = expected_triggers(db.vendor) if needed <= tables else {}
    existing = existing_triggers(db)

    # PostgreSQL keeps its own text of a trigger, so there names are compared.
    if db.vendor == "postgresql":
        stale = {name for name in existing if name not in expected}
        missing = {name for name in expected if name not in existing}
    else:
        stale = {
            name
            for name, (_, sql) in existing.items()
            if name not in expected or expected[name][1] != sql
        }
        missing = {name for name in expected if name not in existing} | (
            stale & set(expected)
        )
    if not stale and not missing:
        return

    with transaction.atomic(using=using), db.cursor() as cursor:
        for name in stale:
            drop_trigger(db, name, existing[name][0])
        if db.vendor == "postgresql" and missing:
            cursor.execute(postgresql_function())
        for name in missing:
            cursor.execute(expected[name][1])
        if db.vendor == "postgresql" and not expected:
            cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    logger.info(
        "configuration triggers: %s dropped, %s created", len(stale), len(missing)
    )


def ensure_triggers_after_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    ensure_triggers(using)
