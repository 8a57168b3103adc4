"""The sweeper benchmark: a million running clocks, ten thousand of them due.

Everything runs in this process against the bench's own PostgreSQL database,
through the same `sweep` the beat job calls. The baseline is the bare indexed
SELECT of the same due rows, timed in the same run on the same data.

Seeding writes the rows with set-based SQL: a million handoffs (each on one
shared account, the cheapest valid subject) and one running milestone each.
"""

import statistics
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, connections
from django.utils import timezone

from bowtie.models import Account, Notification, Person, Team
from handoffs import escalation
from handoffs.models import Handoff, Milestone

SEED_BATCH = 250_000


@dataclass
class SweepRun:
    label: str
    seconds: float
    breaches: int

    @property
    def per_second(self) -> float:
        return self.breaches / self.seconds if self.seconds else 0.0


@dataclass
class Spread:
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, values_ms: list[float]) -> "Spread":
        ordered = sorted(values_ms)
        return cls(
            p50_ms=ordered[len(ordered) // 2],
            p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            max_ms=ordered[-1],
        )


@dataclass
class LagResult:
    acted: int
    # Due time to the start of the sweep that took the clock: the breach's
    # own timestamp, and the lag the "one interval at most" rule is about.
    fired: Spread
    # Due time to the commit of the breach and its notice.
    written: Spread
    early: int


def seed(total: int, due: int, now) -> None:
    """`total` running milestones, `due` of them due in the last minute."""
    team = Team.objects.create(name="Sweep bench", time_zone="UTC")
    owner = Person.objects.create(
        full_name="Sweep Owner", email="owner@sweep.bowtie.test", team=team
    )
    account = Account.objects.create(name="Sweep bench account")
    handoff_table = Handoff._meta.db_table
    milestone_table = Milestone._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, total, SEED_BATCH):
            stop = min(start + SEED_BATCH, total)
            cursor.execute(
                f"INSERT INTO {handoff_table} (kind, account_id, receiving_team_id, "
                "receiver_id, state, packet, involvement, rejection_reason, "
                "opened_at, updated_at) "
                "SELECT 'cs_to_sales', %s, %s, %s, 'open', '{}', '', '', %s, %s "
                "FROM generate_series(%s, %s)",
                [account.pk, team.pk, owner.pk, now, now, start + 1, stop],
            )
        # The first `due` handoffs get clocks due within the last minute; the
        # rest run out between one and thirty days from now.
        cursor.execute(
            f"INSERT INTO {milestone_table} (handoff_id, key, label, clock_type, "
            "owed_by, target_seconds, started_at, due_at) "
            "SELECT id, 'expansion_response', 'Handoff to AE', 'elapsed', "
            "'receivers', 172800, "
            "%s - interval '2 days', "
            "CASE WHEN row_number() OVER (ORDER BY id) <= %s "
            "THEN %s - (random() * interval '60 seconds') "
            "ELSE %s + interval '1 day' + random() * interval '29 days' END "
            f"FROM {handoff_table}",
            [now, due, now, now],
        )
        cursor.execute(f"ANALYZE {handoff_table}")
        cursor.execute(f"ANALYZE {milestone_table}")


def bare_select_seconds(now, due: int, repeats: int = 5) -> float:
    """The median time of the indexed SELECT that finds the due rows."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        found = len(
            list(
                Milestone.objects.filter(
                    met_at__isnull=True, breached_at__isnull=True, due_at__lte=now
                )
                .order_by("due_at")
                .values_list("pk", flat=True)[:due]
            )
        )
        timings.append(time.perf_counter() - started)
        if found != due:
            raise RuntimeError(f"the bare select found {found} rows, not {due}")
    return statistics.median(timings)


def reset_due(now, due: int) -> None:
    """Make the same rows due and unbreached again, with no notifications."""
    Notification.objects.all().delete()
    ids = Milestone.objects.order_by("handoff_id").values_list("pk", flat=True)[:due]
    Milestone.objects.filter(pk__in=list(ids)).update(
        breached_at=None, owner_at_breach=None, due_at=now - timedelta(seconds=30)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Milestone._meta.db_table}")


def catch_up(label: str, now, sweepers: int) -> SweepRun:
    """Time `sweepers` concurrent sweeps until every due clock is breached."""
    counts = []

    def run():
        try:
            result = escalation.sweep(now, time_budget_seconds=3600)
            counts.append(result["breaches"])
        finally:
            connections.close_all()

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(sweepers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return SweepRun(label, time.perf_counter() - started, sum(counts))


def detection_lag(due: int, spread_seconds: float, interval: float) -> LagResult:
    """Run the sweeper every `interval` while `due` clocks run out, one by one.

    Lag is from each due time to the moment the breach was written, read from
    the audit history the breach writes with the wall-clock time.
    """
    Notification.objects.all().delete()
    start = timezone.now() + timedelta(seconds=2)
    ids = list(
        Milestone.objects.order_by("handoff_id").values_list("pk", flat=True)[:due]
    )
    step = spread_seconds / due
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Milestone._meta.db_table} AS m SET breached_at = NULL, "
            "owner_at_breach_id = NULL, "
            "due_at = %s + (ordinal - 1) * %s * interval '1 second' "
            "FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(id, ordinal) "
            "WHERE m.id = t.id",
            [start, step, ids],
        )
    history_since = timezone.now()

    # Sweeps on a fixed beat, as the scheduler sends them, not one interval
    # after the previous sweep ended.
    beats = int((spread_seconds + 2) / interval) + 3
    first_beat = time.monotonic()
    for beat in range(beats):
        time.sleep(max(0.0, first_beat + beat * interval - time.monotonic()))
        escalation.sweep(timezone.now(), time_budget_seconds=interval * 0.9)

    history = Milestone.history.filter(
        history_date__gte=history_since, breached_at__isnull=False, id__in=ids
    ).values_list("due_at", "breached_at", "history_date")
    fired, written = [], []
    early = 0
    for due_at, breached_at, written_at in history:
        fired.append((breached_at - due_at).total_seconds() * 1000)
        written.append((written_at - due_at).total_seconds() * 1000)
        early += breached_at < due_at
    if not fired:
        raise RuntimeError("the sweeper acted on no clock during the lag run")
    return LagResult(
        acted=len(fired),
        fired=Spread.of(fired),
        written=Spread.of(written),
        early=early,
    )


def breach_and_notification_counts() -> tuple[int, int]:
    return (
        Milestone.objects.filter(breached_at__isnull=False).count(),
        Notification.objects.count(),
    )
