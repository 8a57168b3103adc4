"""Querysets compiled to SQL once per process, then run with new values.

Every lead taken in asks the same few questions (is this person's lead open,
whose is this domain) with different values. Building and compiling the
queryset each time cost more than the query itself: nearly a thousand calls
each. A `CompiledQuery` builds its queryset once, from example values, keeps
the SQL and where each value goes, and afterwards only executes.

Only for querysets whose SQL does not depend on the values: no lists of
varying length, no None where a value may also come. Columns are converted
from the database as the ORM converts them (JSON, SQLite's times).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler


class CompiledQuery:
    def __init__(self, build: Callable[..., QuerySet], *examples):
        """`build` makes the queryset from its values; `examples` are values
        of the right types, each distinct from the others and from any
        constant of the query, so that each can be found in its parameters."""
        self.build = build
        self.examples = examples

    @cached_property
    def compiled(self) -> "Compiled":
        queryset = self.build(*self.examples)
        compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        columns = [column for column, _, _ in compiler.select]
        if not all(hasattr(column, "target") for column in columns):
            raise NotImplementedError("Only columns of the model can be selected.")
        return Compiled(
            sql=sql,
            sources=tuple(self.source_of(param) for param in params),
            model=queryset.model,
            names=tuple(column.target.attname for column in columns),
            compiler=compiler,
            converters=compiler.get_converters(columns),
        )

    def source_of(self, param):
        matches = [i for i, example in enumerate(self.examples) if example == param]
        if len(matches) > 1:
            raise ValueError(f"Examples must differ: {param!r} is given twice.")
        return ("value", matches[0]) if matches else ("constant", param)

    def rows(self, *values) -> list[tuple]:
        compiled = self.compiled
        params = [
            values[where] if kind == "value" else where
            for kind, where in compiled.sources
        ]
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            converted = compiled.compiler.apply_converters(rows, compiled.converters)
            rows = [tuple(row) for row in converted]
        return rows

    def first_value(self, *values):
        """The first column of the first row, or None without rows."""
        rows = self.rows(*values)
        return rows[0][0] if rows else None

    def first_instance(self, *values) -> Model | None:
        """The first row as an instance, its other fields deferred (as `only`)."""
        rows = self.rows(*values)
        if not rows:
            return None
        compiled = self.compiled
        return compiled.model.from_db(DEFAULT_DB_ALIAS, compiled.names, rows[0])


@dataclass(frozen=True)
class Compiled:
    sql: str
    # Where each parameter comes from: ("value", index into the values given)
    # or ("constant", the value the queryset was built with).
    sources: tuple[tuple[str, object], ...]
    model: type[Model]
    names: tuple[str, ...]
    compiler: SQLCompiler
    converters: dict
