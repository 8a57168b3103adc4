"""SQL pieces the dashboards compute with, the same on PostgreSQL and SQLite.

The dashboards read a million leads, so every figure is an aggregate in the
database: percentiles and elapsed times included. PostgreSQL has the
ordered-set aggregates built in; SQLite gets the same functions registered on
each connection, so the tests that run there compute the same numbers.
"""

import math

from django.db.backends.signals import connection_created
from django.db.models import (
    Aggregate,
    Case,
    DecimalField,
    FloatField,
    Func,
    Value,
    When,
)
from django.db.models.functions import Cast, Floor, Mod
from django.db.models.lookups import Exact, GreaterThan, LessThan
from django.dispatch import receiver


class Percentile(Aggregate):
    """The `fraction` percentile of an expression, over the rows of a group.

    `continuous=True` interpolates between the two nearest values (the median
    of 1, 2, 3, 4 is 2.5, as `statistics.median` has it); otherwise the
    nearest rank: the smallest value with `fraction` of the values at or
    below it (the p90 of 1 to 10 is 9).
    """

    output_field = FloatField()
    allow_distinct = False

    def __init__(self, expression, fraction: float, *, continuous=False, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError(f"A percentile's fraction is 0 to 1, not {fraction}.")
        self.fraction = float(fraction)
        self.continuous = continuous
        super().__init__(expression, **extra)

    @property
    def function(self) -> str:
        return "percentile_cont" if self.continuous else "percentile_disc"

    def as_sql(self, compiler, connection, **extra_context):
        # The fraction is a float we checked, not input: safe inline.
        extra_context["template"] = (
            f"%(function)s({self.fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)"
        )
        return super().as_sql(compiler, connection, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        extra_context["template"] = f"%(function)s(%(expressions)s, {self.fraction!r})"
        return super().as_sql(compiler, connection, **extra_context)


class Median(Percentile):
    def __init__(self, expression, **extra):
        super().__init__(expression, 0.5, continuous=True, **extra)


class Difference(Func):
    """`later` minus `earlier`, as a float, written for each database."""

    output_field = FloatField()
    arity = 2
    postgresql_template = ""
    sqlite_template = ""

    def __init__(self, later, earlier, **extra):
        super().__init__(later, earlier, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=self.postgresql_template,
            arg_joiner=" - ",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        # julianday() reads Django's stored text days and times, offset or not.
        return self.as_sql(
            compiler,
            connection,
            template=self.sqlite_template,
            arg_joiner=") - julianday(",
            **extra_context,
        )


class SecondsBetween(Difference):
    """Seconds from `earlier` to `later`, two datetime expressions."""

    postgresql_template = "EXTRACT(EPOCH FROM (%(expressions)s))::double precision"
    sqlite_template = "((julianday(%(expressions)s)) * 86400.0)"


class DaysBetween(Difference):
    """Whole days from `earlier` to `later`, two date expressions."""

    postgresql_template = "(%(expressions)s)::double precision"
    sqlite_template = "(julianday(%(expressions)s))"


class Decimals(Func):
    """A number that divides with its fractions on both databases.

    PostgreSQL's numeric divides exactly as it is. SQLite keeps whole amounts
    as integers and divides those as integers (7 / 2 is 3), so there the
    number becomes a REAL first. Labelled a float for the same reason: Django
    casts SQLite arithmetic on decimals back to NUMERIC, which makes whole
    REALs integers again; on PostgreSQL the label changes no SQL.
    """

    arity = 1
    template = "(%(expressions)s)"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="CAST(%(expressions)s AS REAL)"
        )


def round_half_even(expression, places: int = 2):
    """`expression` rounded to `places` decimals, a half to the even digit.

    Returned as a decimal of `places` places.

    As Python rounds a Decimal (`round(value, 2)`), so a sum in SQL of values
    rounded there equals the same sum of values rounded in Python; SQL's
    ROUND takes a half away from zero. SQLite computes in binary floats, whose
    halves are not always exact: only tests read it.
    """
    scale = Value(10**places)
    scaled = Decimals(expression) * scale
    whole = Floor(scaled)
    rest = scaled - whole
    nearest = Case(
        When(GreaterThan(rest, Value(0.5)), then=whole + Value(1)),
        When(LessThan(rest, Value(0.5)), then=whole),
        When(Exact(Mod(whole, Value(2)), Value(0)), then=whole),
        default=whole + Value(1),
    )
    return Cast(
        Decimals(nearest) / scale,
        DecimalField(max_digits=30, decimal_places=places),
    )


class SqlitePercentile:
    """percentile_cont / percentile_disc for SQLite, as PostgreSQL computes them."""

    continuous = False

    def __init__(self):
        self.values = []
        self.fraction = None

    def step(self, value, fraction):
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self):
        if not self.values:
            return None
        ordered = sorted(self.values)
        if not self.continuous:
            rank = max(1, math.ceil(len(ordered) * self.fraction))
            return ordered[rank - 1]
        position = (len(ordered) - 1) * self.fraction
        lower = math.floor(position)
        upper = math.ceil(position)
        weight = position - lower
        return ordered[lower] + (ordered[upper] - ordered[lower]) * weight


class SqlitePercentileCont(SqlitePercentile):
    continuous = True


@receiver(connection_created)
def register_sqlite_percentiles(sender, connection, **kwargs):
    if connection.vendor != "sqlite":
        return
    connection.connection.create_aggregate("percentile_disc", 2, SqlitePercentile)
    connection.connection.create_aggregate("percentile_cont", 2, SqlitePercentileCont)
