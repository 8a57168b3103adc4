"""Write a set of new rows that point at each other in two round trips.

Taking in a lead writes about a dozen rows: the lead, its handoff, clocks,
rungs, notification, deliveries and their audit history. Saved one by one
through the ORM, each row is a round trip with its signals, and the intake
spends most of its time waiting on them. Here the ids come first, all in one
statement, so rows that point at each other, and texts that name an id, are
built in Python; then every row is inserted, one statement per table, all
sent at once on PostgreSQL.

Rows written this way send no signals. Their audit history is written with
them: `history_row` builds the row django-simple-history would have added
after a save, with the same fields, user and date, but without its signals
around history rows or many-to-many history, neither of which Bowtie uses.
Writes go to the default database, Bowtie's only one, and the statement
texts kept per model assume so.
"""

import datetime
import json
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from functools import cache, lru_cache
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import NOT_PROVIDED, Field, Model
from django.utils import timezone
from django.utils.functional import Promise
from simple_history.models import HistoricalRecords

from bowtie.audit import history_model_of, keeps_history, records_of


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
        row._prepare_related_fields_for_save(operation_name="assign_ids")


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
    parts, params = [], []
    for index, (model, count) in enumerate(wanted):
        parts.append(
            f"SELECT {index}, nextval(pg_get_serial_sequence(%s, %s)) "
            f"FROM generate_series(1, %s)"
        )
        params += [quoted_table(model), model._meta.pk.column, count]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()

    allocated = defaultdict(list)
    for index, key in rows:
        if key is None:
            raise NotImplementedError(
                f"{wanted[index][0].__name__} has no key sequence to take ids from."
            )
        allocated[wanted[index][0]].append(key)
    return {model: sorted(keys) for model, keys in allocated.items()}


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


def quoted_table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def insert_rows(rows: Iterable[Model]) -> None:
    """Insert new rows, and the audit history of those whose model keeps one.

    Tables go in the order each first appears, every history row after the
    rows themselves. A row whose primary key is unset gets one from the
    database; its key is not read back, so leave it unset only where nothing
    points at the row.
    """
    rows = list(rows)
    # Compiling fills in the rows' automatic values (updated_at), which their
    # history rows must repeat: so the rows are compiled first.
    statements = insert_statements(rows)
    if getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        # Dated when written, as django-simple-history dates its rows.
        written_at = timezone.now()
        statements += insert_statements(
            [history_row(row, written_at) for row in rows if keeps_history(type(row))]
        )

    with connection.cursor() as cursor:
        if sends_statements_together():
            cursor.execute(
                "; ".join(sql for sql, _ in statements),
                [param for _, params in statements for param in params],
            )
        else:
            for sql, params in statements:
                cursor.execute(sql, params)

    for row in rows:
        # A row whose key the database chose does not know it: saving it
        # again must not look like an update of some other row.
        row._state.adding = row.pk is None
        row._state.db = connection.alias


def sends_statements_together() -> bool:
    # Only client-side binding (Django's default for psycopg) sends several
    # statements as one query; a prepared statement holds one.
    options = connection.settings_dict.get("OPTIONS", {})
    return connection.vendor == "postgresql" and not options.get("server_side_binding")


def insert_statements(rows: list[Model]) -> list[tuple[str, list]]:
    """One multi-row INSERT per table, and per rows with or without a key."""
    groups: dict[tuple[type[Model], bool], list[Model]] = {}
    for row in rows:
        groups.setdefault((type(row), row.pk is not None), []).append(row)

    statements = []
    for (model, with_pk), group in groups.items():
        fields = insert_fields(model, with_pk)
        for row in group:
            row._prepare_related_fields_for_save(operation_name="insert_rows")
        if connection.vendor == "postgresql":
            statements.append(json_insert(model, with_pk, fields, group))
        else:
            statements.append(values_insert(model, with_pk, fields, group))
    return statements


def values_insert(model, with_pk, fields, group) -> tuple[str, list]:
    """INSERT ... VALUES, the values prepared as the ORM's own insert does."""
    params = [
        field.get_db_prep_save(field.pre_save(row, True), connection)
        for row in group
        for field in fields
    ]
    return values_sql(model, with_pk, len(group)), params


def json_insert(model, with_pk, fields, group) -> tuple[str, list]:
    """The rows as one JSON parameter that PostgreSQL turns into records.

    Binding a dozen rows value by value cost more than the rest of the
    intake; one JSON text per table is encoded in C and parsed by the
    server, which casts each value to its column's type. Only the field
    types of PLAIN_TYPES come this way: their database value is their
    Python value, or its ISO text.
    """
    records = [
        {field.column: json_value(field.pre_save(row, True)) for field in fields}
        for row in group
    ]
    # No default for what is inside a JSON field: a value the ORM could not
    # store either fails here too.
    return json_sql(model, with_pk), [json.dumps(records)]


def json_value(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        # In full: Django's own JSON encoder would cut microseconds.
        return value.isoformat()
    if isinstance(value, Decimal | UUID | Promise):
        return str(value)
    return value


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
        internal_type = field.get_internal_type()
        if field.is_relation:
            internal_type = field.target_field.get_internal_type()
        plain = (
            internal_type in PLAIN_TYPES
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


def history_row(instance: Model, when) -> Model:
    """The audit-history row of a change to `instance`, unsaved.

    The same row django-simple-history writes after a save, attributed to
    the same person (bowtie.audit.acting_user).
    """
    records: HistoricalRecords = records_of(type(instance))
    fields = records.fields_included(instance)
    return history_model_of(type(instance))(
        history_date=when,
        history_type="+",
        history_user=records.get_history_user(instance),
        history_change_reason=records.get_change_reason_for_object(instance, "+", None),
        **{field.attname: getattr(instance, field.attname) for field in fields},
    )
