"""Round trips to the database, where several statements share one."""

from contextlib import contextmanager
from unittest.mock import patch

import psycopg
from django.db import connection

from bowtie import compiled_queries


@contextmanager
def pipelines_entered():
    """How many pipelines the PostgreSQL connection entered, in a list."""
    entered = [0]
    pipeline = psycopg.Connection.pipeline

    def counted(self):
        entered[0] += 1
        return pipeline(self)

    with patch.object(psycopg.Connection, "pipeline", counted):
        yield entered


@contextmanager
def batches_sent_together():
    """The number of statements in each batch that went as one pipeline.

    Django's query log counts statements; a batch of n statements sent in
    one pipeline is n of them but one round trip. A batch that entered no
    pipeline (SQLite, or one that lost it) is not recorded: its statements
    were a round trip each.
    """
    sizes = []
    execute_together = compiled_queries.execute_together

    def recorded(statements, *, fetch):
        with pipelines_entered() as entered:
            results = execute_together(statements, fetch=fetch)
        if entered == [1]:
            sizes.append(len(statements))
        return results

    with patch.object(compiled_queries, "execute_together", recorded):
        yield sizes


def round_trips(statement_count: int, batch_sizes: list[int]) -> int:
    """The round trips of these statements, those of each batch sharing one."""
    return statement_count - sum(size - 1 for size in batch_sizes)


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"
