"""Querysets compiled to SQL once per process, then run with new values.

Every lead taken in asks the same few questions (is this person's lead open,
whose is this domain) with different values. Building and compiling the
queryset each time cost more than the query itself: nearly a thousand calls
each. A `CompiledQuery` builds its queryset once, from example values, keeps
the SQL and where each value goes, and afterwards only executes.

Only for querysets whose SQL does not depend on the values: no lists of
varying length, no None where a value may also come. Columns are converted
from the database as the ORM converts them (JSON, SQLite's times).

`run_together` sends the questions an intake asks before it writes in one
round trip on PostgreSQL, where each was a round trip of its own, and
`write_together` its rows; both as statements PostgreSQL prepares once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable


class CompiledQuery:
    """A queryset whose SQL is compiled once and run with new values.

    `build` makes the queryset from its values; `examples` are values of the
    right types, each distinct from the others and from any constant of the
    query, so that each is found where it goes among the parameters.
    """

    def __init__(self, build: Callable[..., QuerySet], *examples):
        self.build = build
        self.examples = examples

    @cached_property
    def compiled(self) -> "Compiled":
        queryset = self.build(*self.examples)
        compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()

        columns = [column for column, _, _ in compiler.select]
        if queryset.query.select_related or not all(
            getattr(column, "target", None) is not None
            and column.target.model._meta.concrete_model
            is queryset.model._meta.concrete_model
            for column in columns
        ):
            raise NotImplementedError("Only the model's own columns can be selected.")
        sources = tuple(self.source_of(param) for param in params)
        unused = set(range(len(self.examples))) - {
            where[0] for kind, where in sources if kind == "value"
        }
        if unused:
            raise NotImplementedError(
                f"{self.examples[min(unused)]!r} is not among the query's "
                f"parameters: its lookup changes it. Run this one through the ORM."
            )

        return Compiled(
            sql=sql,
            sources=sources,
            model=queryset.model,
            names=tuple(column.target.attname for column in columns),
            gives_instances=queryset._iterable_class is ModelIterable,
            converters=compiler.get_converters(columns),
        )

    def source_of(self, param) -> tuple[str, object]:
        matches = [
            index
            for index, example in enumerate(self.examples)
            if is_example_of(example, param)
        ]
        if len(matches) > 1:
            raise ValueError(f"Examples must differ: {param!r} is given twice.")
        if not matches:
            return ("constant", param)
        # The ORM may wrap a value to fix its database type (psycopg's Int2 for
        # a small integer column): each new value is wrapped the same way.
        example = self.examples[matches[0]]
        wrap = type(param) if type(param) is not type(example) else None
        return ("value", (matches[0], wrap))

    def statement(self, *values) -> tuple[str, list]:
        """The SQL and its parameters for these values, to run with others."""
        if len(values) != len(self.examples):
            raise TypeError(f"{len(self.examples)} values wanted, {len(values)} given.")
        compiled = self.compiled
        params = [
            where if kind == "constant" else value_for(values, *where)
            for kind, where in compiled.sources
        ]
        return compiled.sql, params

    def rows(self, *values) -> list[tuple]:
        return self.converted(self.fetched(*values))

    def first_value(self, *values):
        """The first column of the first row, or None without rows."""
        return self.first_value_of(self.fetched(*values))

    def fetched(self, *values) -> list[tuple]:
        return run_statement(*self.statement(*values))

    # The three below take rows as the database gave them: those `fetched`
    # returns, or those of the statement run among others (`run_together`).

    def converted(self, rows: list[tuple]) -> list[tuple]:
        """Rows converted as the ORM would."""
        compiled = self.compiled
        if not compiled.converters:
            return rows
        database = connections[DEFAULT_DB_ALIAS]
        return [compiled.converted(row, database) for row in rows]

    def first_value_of(self, rows: list[tuple]):
        rows = self.converted(rows[:1])
        return rows[0][0] if rows else None

    def first_instance_of(self, rows: list[tuple]) -> Model | None:
        """The first row as an instance, its other fields deferred (as `only`)."""
        self.check_gives_instances()
        compiled = self.compiled
        rows = self.converted(rows[:1])
        if not rows:
            return None
        return compiled.model.from_db(DEFAULT_DB_ALIAS, compiled.names, rows[0])

    def check_gives_instances(self) -> None:
        if not self.compiled.gives_instances:
            raise TypeError("This query gives values, not instances.")


def is_example_of(example, param) -> bool:
    """Whether a parameter of the compiled query is this example value.

    Equal, and of the example's type or a subclass of it. A bool is never
    taken for an int: 1 == True, and a constant True must not take the
    place of a value 1, nor a constant 0 that of a value False.
    """
    return (
        isinstance(param, type(example))
        and isinstance(param, bool) == isinstance(example, bool)
        and param == example
    )


def value_for(values: tuple, index: int, wrap: type | None):
    value = values[index]
    return value if wrap is None or value is None else wrap(value)


Statement = tuple[str, list]


def run_statement(sql: str, params: list) -> list[tuple]:
    """Run one statement that returns rows, prepared on PostgreSQL."""
    [rows] = execute_together([(sql, params)], fetch=True)
    return rows


def run_together(statements: list[Statement]) -> list[list[tuple]]:
    """Run statements in order; the rows of each. One round trip on PostgreSQL.

    Only for statements that return rows. Each still reads what committed
    before it began: PostgreSQL takes a snapshot per statement.
    """
    return execute_together(statements, fetch=True)


def write_together(statements: list[Statement]) -> None:
    """Run statements that return no rows, in order, in one round trip."""
    execute_together(statements, fetch=False)


def execute_together(statements: list[Statement], *, fetch: bool) -> list[list[tuple]]:
    """Send the statements in one pipeline on PostgreSQL, each prepared.

    The same few statements run for every lead taken in. Sent as text,
    PostgreSQL parsed and planned each of them every time: a third of its
    work for a lead. Here each is bound to its parameters server-side, so
    psycopg prepares it on its first run on a connection when the connection
    allows it (BOWTIE_PREPARED_STATEMENTS, bowtie.settings), and all go in
    one round trip. psycopg forgets what it prepared after a rollback, a
    savepoint's included, and prepares again. Django's own cursors bind on
    the client and prepare nothing. Elsewhere the statements run one by one.

    Outside a transaction the pipeline is one transaction of its own: when a
    statement fails, those before it are undone and those after it never
    run. Bound by the server, a parameter takes its type from where it
    stands, so a bare None (`%s IS NULL`) needs a cast, and a statement takes
    at most 65,535 parameters.
    """
    database = connections[DEFAULT_DB_ALIAS]
    if database.vendor != "postgresql":
        results = []
        with database.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                results.append(cursor.fetchall() if fetch else [])
        return results

    # What Django does before it opens a cursor of its own.
    database.close_if_health_check_failed()
    database.ensure_connection()
    database.validate_thread_sharing()
    raw = database.connection
    # Through Django's cursor wrapper: its errors, its execute wrappers, and
    # its query log (one entry per statement) hold for these too.
    wrap = (
        database.make_debug_cursor if database.queries_logged else database.make_cursor
    )
    # A cursor per statement: in a pipeline a cursor keeps its last result only.
    cursors = [wrap(psycopg.Cursor(raw)) for _ in statements]
    try:
        with database.wrap_database_errors, raw.pipeline():
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                cursor.execute(sql, params)
        return [cursor.fetchall() if fetch else [] for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


@dataclass(frozen=True)
class Compiled:
    sql: str
    # Where each parameter comes from: ("value", (index into the values
    # given, the type to wrap it in or None)) or ("constant", the value the
    # queryset was built with).
    sources: tuple[tuple[str, object], ...]
    model: type[Model]
    # The selected columns' attributes, in the model's order (as `only`).
    names: tuple[str, ...]
    gives_instances: bool
    # By column: the ORM's converters from database values, and their column.
    converters: dict

    def converted(self, row: tuple, database) -> tuple:
        values = list(row)
        for position, (converters, column) in self.converters.items():
            for convert in converters:
                values[position] = convert(values[position], column, database)
        return tuple(values)
