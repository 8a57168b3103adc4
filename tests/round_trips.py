"""Round trips to the database, where several statements share one."""

from contextlib import contextmanager
from unittest.mock import patch

from django.db import connection

from bowtie import compiled_queries


@contextmanager
def batches_sent_together():
    """The number of statements in each batch sent as one PostgreSQL pipeline.

    Django's query log counts statements; a batch of n statements is n of
    them but one round trip. Elsewhere the statements go one by one and no
    batch is recorded.
    """
    sizes = []
    execute_together = compiled_queries.execute_together

    def recorded(statements, *, fetch):
        if connection.vendor == "postgresql":
            sizes.append(len(statements))
        return execute_together(statements, fetch=fetch)

    with patch.object(compiled_queries, "execute_together", recorded):
        yield sizes


def round_trips(statement_count: int, batch_sizes: list[int]) -> int:
    return statement_count - sum(size - 1 for size in batch_sizes)
