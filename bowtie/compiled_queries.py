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
round trip on PostgreSQL, where each was a round trip of its own.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

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
        [rows] = run_together([self.statement(*values)])
        return rows

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


def sends_statements_together(database) -> bool:
    # Only client-side binding (Django's default for psycopg) sends several
    # statements as one query; a prepared statement holds one.
    options = database.settings_dict.get("OPTIONS", {})
    return database.vendor == "postgresql" and not options.get("server_side_binding")


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


def run_together(statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """Run statements in order; the rows of each. One round trip on PostgreSQL.

    With client-side binding (Django's default for psycopg) several statements
    go as one query, and each still reads what committed before it began:
    PostgreSQL takes a snapshot per statement. Elsewhere they run one by one.
    Only for statements that return rows.
    """
    database = connections[DEFAULT_DB_ALIAS]
    results = []
    with database.cursor() as cursor:
        if len(statements) > 1 and sends_statements_together(database):
            cursor.execute(
                "; ".join(sql for sql, _ in statements),
                [param for _, params in statements for param in params],
            )
            results.append(cursor.fetchall())
            while cursor.nextset():
                results.append(cursor.fetchall())
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
                results.append(cursor.fetchall())
    if len(results) != len(statements):
        raise RuntimeError(f"{len(statements)} statements gave {len(results)} results.")
    return results


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
