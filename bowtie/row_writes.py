"""Write a set of new rows that point at each other in two round trips.

Taking in a lead writes about a dozen rows: the lead, its handoff, clocks,
rungs, notification, deliveries and their audit history. Saved one by one
through the ORM, each row is a round trip with its signals, and the intake
spends most of its time waiting on them. Here the ids come first, all in one
statement, so rows that point at each other, and texts that name an id, are
built in Python; then every row is inserted, one statement per table, all
sent at once on PostgreSQL.

Rows written this way send no signals. Their audit history is written with
them: `HistoryPlan.rows` builds the row django-simple-history would have added
after a save, with the same fields, user and date, but without its signals
around history rows or many-to-many history, neither of which Bowtie uses.
Writes go to the default database, Bowtie's only one, and the statement
texts kept per model assume so.
"""

import json
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import NOT_PROVIDED, Field, Model
from django.utils import timezone
from simple_history.models import HistoricalRecords

from bowtie.audit import history_model_of, keeps_history, records_of
from bowtie.compiled_queries import run_statement, write_together


def assign_ids(rows: Iterable[Model]) -> None:
    """Give each row without a primary key a new one, all in one statement,
    then point every row's foreign keys at the keys of the rows they hold."""
    rows = list(rows)
    keyless = defaultdict(list)
    for row in rows:
        if row.pk is None:
            keyless[type(row)].append(row)

    allocated = allocate_ids({model: len(group) for model, group in keyless.items()})
    for model, group in keyless.items():
        for row, key in zip(group, allocated[model], strict=True):
            row.pk = key
    for row in rows:
        point_at_related_keys(row)


def allocate_ids(counts: dict[type[Model], int]) -> dict[type[Model], list[int]]:
    """New primary keys for each model, as many as asked, in one statement.

    Keys taken and then not used leave a gap, as a rolled-back insert does.
    On SQLite the caller must be inside a transaction: the keys come from
    the AUTOINCREMENT counter, whose update holds the write lock until commit.
    """
    wanted = [(model, count) for model, count in counts.items() if count > 0]
    if not wanted:
        return {}
    if connection.vendor == "postgresql":
        return allocate_from_sequences(wanted)
    if connection.vendor == "sqlite":
        return allocate_from_sqlite_counters(wanted)
    raise NotImplementedError(f"No id allocation on {connection.vendor}.")


def allocate_from_sequences(wanted) -> dict[type[Model], list[int]]:
    # One row of nextval() calls, one per id: cheaper for the server than a
    # set of rows per sequence.
    calls, params, owners = [], [], []
    for model, count in wanted:
        calls += ["nextval(%s::regclass)"] * count
        params += [key_sequence(model)] * count
        owners += [model] * count
    [keys] = run_statement(f"SELECT {', '.join(calls)}", params)

    allocated = defaultdict(list)
    for model, key in zip(owners, keys, strict=True):
        allocated[model].append(key)
    return {model: sorted(keys) for model, keys in allocated.items()}


@cache
def key_sequence(model: type[Model]) -> str:
    """The name of the sequence the model's table takes its keys from."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)",
            [quoted_table(model), model._meta.pk.column],
        )
        (name,) = cursor.fetchone()
    if name is None:
        raise NotImplementedError(
            f"{model.__name__} has no key sequence to take ids from."
        )
    return name


def allocate_from_sqlite_counters(wanted) -> dict[type[Model], list[int]]:
    if not connection.in_atomic_block:
        raise RuntimeError("Allocate SQLite ids inside the transaction that uses them.")
    allocated = {}
    with connection.cursor() as cursor:
        for model, count in wanted:
            name = model._meta.db_table
            table = quoted_table(model)
            pk = connection.ops.quote_name(model._meta.pk.column)
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = seq + %s WHERE name = %s",
                [count, name],
            )
            if cursor.rowcount == 0:
                # A table that never had a row has no counter yet.
                cursor.execute(
                    f"INSERT INTO sqlite_sequence (name, seq) "
                    f"SELECT %s, COALESCE(MAX({pk}), 0) + %s FROM {table}",
                    [name, count],
                )
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [name])
            (last,) = cursor.fetchone()
            allocated[model] = list(range(last - count + 1, last + 1))
    return allocated


@cache
def quoted_table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def insert_rows(rows: Iterable[Model]) -> None:
    """Insert new rows, and the audit history of those whose model keeps one.

    Tables go in the order each first appears, every history row after the
    rows themselves. A row whose primary key is unset gets one from the
    database; its key is not read back, so leave it unset only where nothing
    points at the row, and never on a row whose model keeps history.
    """
    rows = list(rows)
    groups: dict[tuple[type[Model], bool], list[Model]] = {}
    for row in rows:
        groups.setdefault((type(row), row.pk is not None), []).append(row)

    # Reading the values stamps the rows' automatic times (updated_at),
    # which their history rows must repeat: so the rows are read first.
    tables = []
    for (model, with_pk), group in groups.items():
        plan = table_plan(model, with_pk)
        tables.append((plan, group, [values_of(plan, row) for row in group]))

    histories = []
    if getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        # Dated when written, as django-simple-history dates its rows.
        written_at = timezone.now()
        for plan, group, value_rows in tables:
            history = history_plan(plan.model)
            if history is not None:
                history_rows = history.rows(plan, group, value_rows, written_at)
                histories.append((history.table, history_rows))

    # The connection itself, not the `connection` proxy: every attribute
    # read through the proxy looks the connection up again.
    database = connections[DEFAULT_DB_ALIAS]
    statements = [
        insert_statement(database, plan, value_rows) for plan, _, value_rows in tables
    ] + [insert_statement(database, plan, value_rows) for plan, value_rows in histories]

    write_together(statements)

    for row in rows:
        # A row whose key the database chose does not know it: saving it
        # again must not look like an update of some other row.
        row._state.adding = row.pk is None
        row._state.db = database.alias


@dataclass(frozen=True)
class TablePlan:
    """How the rows of one model become the values of their INSERT, worked
    out once per model: a dozen rows per lead made reading each field's
    description again cost more than the values themselves."""

    model: type[Model]
    with_pk: bool
    fields: tuple[Field, ...]
    columns: tuple[str, ...]
    # The fields' values, read in one call.
    read: Callable[[Model], tuple]
    # Fields whose pre_save may set their value (auto_now, auto_now_add).
    stamped: tuple[Field, ...]
    # (position, conversion) of the values JSON holds as text: times, numbers
    # and ids, and lazy text.
    as_text: tuple[tuple[int, Callable], ...]


@cache
def table_plan(model: type[Model], with_pk: bool) -> TablePlan:
    fields = tuple(insert_fields(model, with_pk))
    attnames = [field.attname for field in fields]
    read = operator.attrgetter(*attnames)
    return TablePlan(
        model=model,
        with_pk=with_pk,
        fields=fields,
        columns=tuple(field.column for field in fields),
        read=read if len(attnames) > 1 else lambda row: (read(row),),
        stamped=tuple(
            field for field in fields if type(field).pre_save is not Field.pre_save
        ),
        as_text=tuple(
            (position, TEXT_OF[database_type(field)])
            for position, field in enumerate(fields)
            if database_type(field) in TEXT_OF
        ),
    )


def values_of(plan: TablePlan, row: Model) -> tuple:
    point_at_related_keys(row)
    for field in plan.stamped:
        field.pre_save(row, True)
    return plan.read(row)


def point_at_related_keys(row: Model) -> None:
    """Copy into each foreign key the key of the row it was given, which may
    have had none then, and refuse a row given an unsaved one.

    What the ORM's save does first (Model._prepare_related_fields_for_save),
    for foreign keys to primary keys only (relations_of refuses others), and
    only over the relations a row holds: the ORM's walks every field of every
    row, twice per row here, a fifth of what writing a lead's rows cost.
    """
    cached = row._state.fields_cache
    if not cached:
        return
    for field, cache_name, target_attname in relations_of(type(row)):
        related = cached.get(cache_name)
        if related is None:
            continue
        key = getattr(related, target_attname)
        if key is None:
            raise ValueError(
                f"{type(row).__name__}.{field.name} points at an unsaved "
                f"{type(related).__name__}."
            )
        current = getattr(row, field.attname)
        if current is None:
            # Through the descriptor, which keeps the related row cached.
            setattr(row, field.name, related)
        elif current != key:
            field.delete_cached_value(row)


@cache
def relations_of(model: type[Model]) -> tuple[tuple[Field, str, str], ...]:
    """Each foreign key, the name its related row is cached under, and the
    attribute of that row it holds."""
    if any(
        isinstance(field, GenericForeignKey) for field in model._meta.private_fields
    ):
        raise NotImplementedError(f"{model.__name__} needs the ORM's save.")
    relations = tuple(
        field
        for field in model._meta.concrete_fields
        if field.is_relation and (field.many_to_one or field.one_to_one)
    )
    for field in relations:
        if not field.target_field.primary_key:
            raise NotImplementedError(f"{field} points at a column other than a key.")
    return tuple(
        (field, field.cache_name, field.target_field.attname) for field in relations
    )


@dataclass(frozen=True)
class HistoryPlan:
    """Which value of a row, or of the change itself, goes in each column
    of its audit-history row."""

    records: HistoricalRecords
    table: TablePlan
    # Picks from the row's values followed by HISTORY_VALUES' in order.
    pick: Callable[[tuple], tuple]

    def rows(self, plan: TablePlan, group, value_rows, written_at):
        """The history of rows just read by `plan`, the same rows that
        django-simple-history writes after a save, attributed to the same
        person (bowtie.audit.acting_user)."""
        if not plan.with_pk:
            raise ValueError(
                f"A new {plan.model.__name__} keeps history: give it its key "
                f"first (assign_ids)."
            )
        history_rows = []
        for row, values in zip(group, value_rows, strict=True):
            user = self.records.get_history_user(row)
            reason = self.records.get_change_reason_for_object(row, "+", None)
            change = (written_at, "+", getattr(user, "pk", None), reason)
            history_rows.append(self.pick(values + change))
        return history_rows


HISTORY_VALUES = (
    "history_date",
    "history_type",
    "history_user_id",
    "history_change_reason",
)


@cache
def history_plan(model: type[Model]) -> HistoryPlan | None:
    if not keeps_history(model):
        return None
    table = table_plan(history_model_of(model), False)
    # Rows keeping history always come with their key.
    copied = [field.attname for field in table_plan(model, True).fields]
    positions = {attname: position for position, attname in enumerate(copied)}
    positions |= {
        name: len(copied) + offset for offset, name in enumerate(HISTORY_VALUES)
    }
    try:
        picked = [positions[field.attname] for field in table.fields]
    except KeyError as missing:
        raise NotImplementedError(
            f"History of {model.__name__} has a column {missing} with no value."
        ) from None
    pick = operator.itemgetter(*picked)
    return HistoryPlan(records=records_of(model), table=table, pick=pick)


def insert_statement(database, plan: TablePlan, value_rows) -> tuple[str, list]:
    if database.vendor == "postgresql":
        return json_insert(plan, value_rows)
    return values_insert(database, plan, value_rows)


def values_insert(database, plan: TablePlan, value_rows) -> tuple[str, list]:
    """INSERT ... VALUES, the values prepared as the ORM's own insert does."""
    params = [
        field.get_db_prep_save(value, database)
        for values in value_rows
        for field, value in zip(plan.fields, values, strict=True)
    ]
    return values_sql(plan.model, plan.with_pk, len(value_rows)), params


def json_insert(plan: TablePlan, value_rows) -> tuple[str, list]:
    """The rows as one JSON parameter that PostgreSQL turns into records.

    Binding a dozen rows value by value cost more than the rest of the
    intake; one JSON text per table is encoded in C and parsed by the
    server, which casts each value to its column's type. Only the field
    types of PLAIN_TYPES come this way: their database value is their
    Python value, or its ISO text.
    """
    records = []
    for values in value_rows:
        if plan.as_text:
            values = list(values)
            for position, to_text in plan.as_text:
                if values[position] is not None:
                    values[position] = to_text(values[position])
        records.append(dict(zip(plan.columns, values, strict=True)))
    # No default: what is inside a JSON field that the ORM could not store
    # (a time, lazy text) fails here too.
    return json_sql(plan.model, plan.with_pk), [json.dumps(records)]


# Values JSON holds as text, by the database type of their field; times in
# full, where Django's own JSON encoder would cut microseconds. Text fields
# take str() as their to_python does, for lazy text.
TEXT_OF = {
    "DateField": operator.methodcaller("isoformat"),
    "DateTimeField": operator.methodcaller("isoformat"),
    "TimeField": operator.methodcaller("isoformat"),
    "DecimalField": str,
    "UUIDField": str,
    "CharField": str,
    "EmailField": str,
    "SlugField": str,
    "TextField": str,
    "URLField": str,
}


def database_type(field: Field) -> str:
    if field.is_relation:
        return field.target_field.get_internal_type()
    return field.get_internal_type()


# Field types whose database value is their Python value (or, for times,
# numbers and ids, its text), so both insert paths store the same. A field
# of any other type, a JSON field with an encoder of its own, or a database
# default needs the ORM's compiler, and is refused.
PLAIN_TYPES = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateField",
    "DateTimeField",
    "DecimalField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "JSONField",
    "OneToOneField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
    "TimeField",
    "URLField",
    "UUIDField",
}


@cache
def insert_fields(model: type[Model], with_pk: bool) -> list[Field]:
    fields = [
        field
        for field in model._meta.concrete_fields
        if not field.generated and (with_pk or not field.primary_key)
    ]
    for field in fields:
        plain = (
            database_type(field) in PLAIN_TYPES
            and field.db_default is NOT_PROVIDED
            and getattr(field, "encoder", None) is None
        )
        if not plain:
            raise NotImplementedError(f"{field} needs the ORM's insert compiler.")
    return fields


@lru_cache(maxsize=512)
def values_sql(model: type[Model], with_pk: bool, row_count: int) -> str:
    quote = connection.ops.quote_name
    fields = insert_fields(model, with_pk)
    columns = ", ".join(quote(field.column) for field in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
        f"VALUES {', '.join([row] * row_count)}"
    )


@cache
def json_sql(model: type[Model], with_pk: bool) -> str:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in insert_fields(model, with_pk))
    return (
        f"INSERT INTO {table} ({columns}) "
        f"SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s)"
    )
