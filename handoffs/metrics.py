"""Speed-to-lead numbers, computed the one way the dashboard documents.

- Period: leads received from `since` (inclusive) to `until` (exclusive).
- Response time: first response (the first call, e-mail or meeting, or a
  disposition) minus receipt, in elapsed seconds. Imported history has no
  receipt time and is left out of response times and the unworked rate.
- Unworked rate: live leads with no response whose first-response deadline has
  passed, over live leads received.
- MQL → SQL conversion: leads qualified (SQL), over leads whose cycle closed
  (qualified, disqualified or back to nurture), history included.
"""

from dataclasses import dataclass
from statistics import median

from django.db.models import Q

from handoffs.models import Lead, LeadType, Milestone


@dataclass(frozen=True)
class ResponseStats:
    label: str
    lead_count: int
    responded_count: int
    median_seconds: float | None
    p90_seconds: float | None


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with `share` at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def leads_in_period(since, until, team=None):
    leads = Lead.objects.filter(received_at__gte=since, received_at__lt=until)
    if team is not None:
        leads = leads.filter(team=team)
    return leads


def response_stats(label: str, rows: list[tuple]) -> ResponseStats:
    seconds = [
        (responded - received).total_seconds()
        for received, responded in rows
        if responded is not None
    ]
    return ResponseStats(
        label=label,
        lead_count=len(rows),
        responded_count=len(seconds),
        median_seconds=median(seconds) if seconds else None,
        p90_seconds=percentile(seconds, 0.9),
    )


def response_by(leads, group_field: str, labels: dict) -> list[ResponseStats]:
    rows = leads.filter(is_historical=False).values_list(
        group_field, "received_at", "first_response_at"
    )
    grouped: dict = {}
    for key, received, responded in rows:
        grouped.setdefault(key, []).append((received, responded))
    return [
        response_stats(labels.get(key, key or "No team"), grouped[key])
        for key in sorted(grouped, key=lambda key: str(labels.get(key, key)))
    ]


def response_by_lead_type(leads) -> list[ResponseStats]:
    return response_by(leads, "lead_type", dict(LeadType.choices))


def response_by_team(leads) -> list[ResponseStats]:
    names = dict(leads.filter(team__isnull=False).values_list("team", "team__name"))
    return response_by(leads, "team", names)


def overall_response(leads) -> ResponseStats:
    rows = list(
        leads.filter(is_historical=False).values_list("received_at", "first_response_at")
    )
    return response_stats("All leads", rows)


def unworked_rate(leads, now) -> tuple[int, int]:
    live = leads.filter(is_historical=False)
    overdue = live.filter(
        first_response_at__isnull=True,
        handoffs__milestones__key=Milestone.Key.FIRST_RESPONSE,
        handoffs__milestones__due_at__lte=now,
    ).distinct()
    return overdue.count(), live.count()


def conversion_rate(leads) -> tuple[int, int]:
    closed = leads.filter(
        Q(status=Lead.Status.QUALIFIED)
        | Q(status=Lead.Status.DISQUALIFIED)
        | Q(status=Lead.Status.NURTURE)
    )
    return closed.filter(status=Lead.Status.QUALIFIED).count(), closed.count()


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
