"""Reads shared by the signal pages, the account panel and the API."""

from django.db.models import Count, OuterRef, Q, Subquery

from bowtie.models import Person
from expansion.models import Signal, SignalKind
from handoffs.account_views import ACCOUNT_WIDE_ROLES, visible_accounts
from handoffs.models import Handoff
from handoffs.queries import received_handoffs, visible_handoffs

KIND = Handoff.Kind.CS_TO_SALES

CATEGORIES = [
    ("usage", "Usage"),
    ("relationship", "Relationship"),
    ("commercial", "Commercial"),
    ("outcome", "Outcomes"),
]


def kinds_of(category: str) -> list[str]:
    return [kind for kind in SignalKind.values if kind.startswith(f"{category}.")]


def visible_signals(person: Person | None):
    """Signals of the accounts a person may open; an integration sees all."""
    signals = Signal.objects.all()
    if person is None or person.role in ACCOUNT_WIDE_ROLES:
        return signals
    return signals.filter(account__in=visible_accounts(person))


def signals_for_list(signals):
    """With what a row shows: the account, who raised it, the deal it became."""
    return signals.select_related(
        "account", "raised_by", "deal__stage", "deal__owner"
    ).annotate(handoff_id=expansion_handoff_subquery())


def expansion_handoff_subquery():
    return Subquery(
        Handoff.objects.filter(deal=OuterRef("deal"), kind=KIND).values("pk")[:1]
    )


def count_by_kind(signals) -> list[dict]:
    """Each kind with its open, converted and dismissed signals, in one query."""
    totals = {
        row["kind"]: row
        for row in signals.order_by()
        .values("kind")
        .annotate(
            open_count=Count("pk", filter=Q(status=Signal.Status.OPEN)),
            converted_count=Count("pk", filter=Q(status=Signal.Status.CONVERTED)),
            dismissed_count=Count("pk", filter=Q(status=Signal.Status.DISMISSED)),
        )
    }
    rows = []
    for kind, label in SignalKind.choices:
        row = totals.get(kind, {})
        rows.append(
            {
                "kind": kind,
                "label": label,
                "open_count": row.get("open_count", 0),
                "converted_count": row.get("converted_count", 0),
                "dismissed_count": row.get("dismissed_count", 0),
            }
        )
    return rows


def expansion_handoffs(person: Person):
    """The CS -> Sales handoffs a person's side receives, and those they sent."""
    return received_handoffs(person, KIND) | Handoff.objects.filter(
        kind=KIND, sender=person
    )


def visible_expansion_handoffs(person: Person):
    return visible_handoffs(person).filter(kind=KIND)
