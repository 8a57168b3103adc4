"""Rules over imported usage that raise expansion signals, as of a day.

Each rule is a pure function over one account's subscriptions and usage rows
and the numbers of its `SignalRule` (threshold, window), so it needs no
database in its tests; `evaluate_signal_rules` reads the rows of every
account once and raises a signal through `raise_signal` for each hit.

A rule looks at the window of `window_days` days that ends on the day it is
evaluated for, `on` included, and for the rules that compare, at the window
of as many days before it. "Open on a day" means started on or before it and
not ended by it. Trials are left out of every seat count: their seats are not
bought, so they neither fill a plan nor grow it. A usage row counts as use
when its `usage_count` is above 0.

usage.seats_nearly_full (threshold: percent of seats)
    The data has no count of people signed in, only use per subscription, so
    a seat is taken to be in use when its subscription had any use in the
    window: the seats of the open subscriptions with use, over the seats of
    all open subscriptions, at or above the threshold. RavenStack's account
    `seats` column is the plan bought at sign-up, not people using it (its
    median is 7 % of the seats later subscribed), and is not imported.
usage.feature_adoption (threshold: a number of features)
    Features used in the window that were not used in the window before, at
    least the threshold.
usage.actives_rising (threshold: percent)
    Days with use in the window against the window before, risen by at least
    the threshold. A window before with no active day gives no rise to
    measure: first use is feature adoption, not a rising trend.
commercial.headcount_growth (threshold: percent of seats)
    The customer's plan grew in people: the paid seats of the subscriptions
    open at the window's end are at least the threshold above those open at
    its start, or a subscription that started in the window carries the
    source's upgrade flag. Seats are summed over open subscriptions, not
    compared from one subscription to the next: an account holds up to 18 at
    once, and a small add-on after a large plan is no shrinking team. This,
    not seats_nearly_full, is the kind for seat growth: seats bought is
    headcount, seats used is the other rule.
commercial.new_budget_cycle (threshold: a number of renewals)
    Annual, paid subscriptions open on the day whose next anniversary falls
    in the `window_days` after it, at least the threshold: the customer sets
    next year's budget before a renewal, which is when to talk expansion.
    Monthly ones renew every month and mark no budget cycle.

An open signal of a kind is not raised twice (`raise_signal` answers the open
one as a repeat). A signal of the kind that was dismissed or converted within
the rule's window is not raised again either, so that dismissing a signal
holds until the figures are looked at afresh.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from bowtie.models import Account, ProductUsage, Subscription
from bowtie.terms import renewal_on
from expansion import services
from expansion.models import Signal, SignalKind, SignalRule

logger = logging.getLogger(__name__)

HUNDRED = Decimal(100)
TENTH = Decimal("0.1")
ANNUAL = "annual"


@dataclass(frozen=True)
class SubscriptionFact:
    pk: int
    started_on: date
    ended_on: date | None
    seats: int
    is_trial: bool
    was_upgraded: bool
    billing_frequency: str

    def is_open_on(self, day: date) -> bool:
        return self.started_on <= day and (self.ended_on is None or self.ended_on > day)


@dataclass(frozen=True)
class UsageFact:
    subscription_id: int | None
    used_on: date
    feature: str


@dataclass
class AccountFacts:
    subscriptions: list[SubscriptionFact] = field(default_factory=list)
    usage: list[UsageFact] = field(default_factory=list)


@dataclass(frozen=True)
class Hit:
    """A rule that fired for an account: the words and figures it saw."""

    kind: str
    evidence: str
    details: dict


@dataclass(frozen=True)
class Window:
    """The days after `after` up to and including `until`."""

    after: date
    until: date

    def holds(self, day: date) -> bool:
        return self.after < day <= self.until


def windows_of(on: date, window_days: int) -> tuple[Window, Window]:
    """The window ending on `on`, and the one of as many days before it."""
    start = on - timedelta(days=window_days)
    return (
        Window(start, on),
        Window(start - timedelta(days=window_days), start),
    )


def percent(part, whole) -> Decimal:
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(TENTH, ROUND_HALF_UP)


def base_details(on: date, threshold: Decimal, window_days: int) -> dict:
    return {
        "on": on.isoformat(),
        "threshold": str(threshold),
        "window_days": window_days,
    }


def paid_open(subscriptions: list[SubscriptionFact], day: date):
    return [sub for sub in subscriptions if not sub.is_trial and sub.is_open_on(day)]


def check_seats_nearly_full(
    facts: AccountFacts, on: date, threshold: Decimal, window_days: int
) -> Hit | None:
    window, _ = windows_of(on, window_days)
    subscribed = paid_open(facts.subscriptions, on)
    seat_count = sum(sub.seats for sub in subscribed)
    if not seat_count:
        return None
    used = {use.subscription_id for use in facts.usage if window.holds(use.used_on)}
    in_use_count = sum(sub.seats for sub in subscribed if sub.pk in used)
    if in_use_count * HUNDRED < threshold * seat_count:
        return None

    share = percent(in_use_count, seat_count)
    return Hit(
        SignalKind.SEATS_NEARLY_FULL,
        f"{in_use_count} of {seat_count} paid seats ({share} %) are on subscriptions "
        f"used in the {window_days} days to {on:%d %b %Y}.",
        base_details(on, threshold, window_days)
        | {
            "seats_in_use": in_use_count,
            "seats": seat_count,
            "percent": str(share),
            "subscription_count": len(subscribed),
        },
    )


def check_feature_adoption(
    facts: AccountFacts, on: date, threshold: Decimal, window_days: int
) -> Hit | None:
    window, before = windows_of(on, window_days)
    now_used = {use.feature for use in facts.usage if window.holds(use.used_on)}
    used_before = {use.feature for use in facts.usage if before.holds(use.used_on)}
    new = sorted(now_used - used_before)
    if not new or len(new) < threshold:
        return None

    return Hit(
        SignalKind.FEATURE_ADOPTION,
        f"{len(new)} feature(s) used in the {window_days} days to {on:%d %b %Y} "
        f"and not in the {window_days} days before: {', '.join(new)}.",
        base_details(on, threshold, window_days)
        | {"new_features": new, "features_before": sorted(used_before)},
    )


def check_actives_rising(
    facts: AccountFacts, on: date, threshold: Decimal, window_days: int
) -> Hit | None:
    window, before = windows_of(on, window_days)
    day_count = len({use.used_on for use in facts.usage if window.holds(use.used_on)})
    before_count = len(
        {use.used_on for use in facts.usage if before.holds(use.used_on)}
    )
    if not before_count:
        return None
    rise = day_count - before_count
    if rise <= 0 or rise * HUNDRED < threshold * before_count:
        return None

    share = percent(rise, before_count)
    return Hit(
        SignalKind.ACTIVES_RISING,
        f"{day_count} days with use in the {window_days} days to {on:%d %b %Y}, "
        f"against {before_count} in the {window_days} days before: up {share} %.",
        base_details(on, threshold, window_days)
        | {
            "active_day_count": day_count,
            "active_day_count_before": before_count,
            "rise_percent": str(share),
        },
    )


def check_headcount_growth(
    facts: AccountFacts, on: date, threshold: Decimal, window_days: int
) -> Hit | None:
    window, _ = windows_of(on, window_days)
    seat_count = sum(sub.seats for sub in paid_open(facts.subscriptions, on))
    before_count = sum(
        sub.seats for sub in paid_open(facts.subscriptions, window.after)
    )
    upgraded = sorted(
        sub.pk
        for sub in facts.subscriptions
        if sub.was_upgraded and not sub.is_trial and window.holds(sub.started_on)
    )
    growth = seat_count - before_count
    has_grown = (
        before_count > 0 and growth > 0 and growth * HUNDRED >= threshold * before_count
    )
    if not has_grown and not upgraded:
        return None

    reasons = []
    if has_grown:
        reasons.append(
            f"paid seats rose from {before_count} to {seat_count} "
            f"(+{percent(growth, before_count)} %)"
        )
    if upgraded:
        reasons.append(f"{len(upgraded)} subscription(s) started as an upgrade")
    return Hit(
        SignalKind.HEADCOUNT_GROWTH,
        f"In the {window_days} days to {on:%d %b %Y}: {'; '.join(reasons)}.",
        base_details(on, threshold, window_days)
        | {
            "seats": seat_count,
            "seats_before": before_count,
            "upgraded_subscription_ids": upgraded,
        },
    )


def next_anniversary(started_on: date, on: date) -> date:
    """The first yearly renewal of a term that started on `started_on`, after `on`."""
    years = max(1, on.year - started_on.year)
    renews_on = renewal_on(started_on, 12 * years)
    while renews_on <= on:
        years += 1
        renews_on = renewal_on(started_on, 12 * years)
    return renews_on


def check_budget_cycle(
    facts: AccountFacts, on: date, threshold: Decimal, window_days: int
) -> Hit | None:
    horizon = on + timedelta(days=window_days)
    renewals = sorted(
        next_anniversary(sub.started_on, on)
        for sub in paid_open(facts.subscriptions, on)
        if sub.billing_frequency == ANNUAL
    )
    coming = [day for day in renewals if day <= horizon]
    if not coming or len(coming) < threshold:
        return None

    return Hit(
        SignalKind.NEW_BUDGET_CYCLE,
        f"{len(coming)} annual subscription(s) renew in the {window_days} days "
        f"after {on:%d %b %Y}, the first on {coming[0]:%d %b %Y}.",
        base_details(on, threshold, window_days)
        | {"renews_on": [day.isoformat() for day in coming]},
    )


CHECKS = {
    SignalKind.SEATS_NEARLY_FULL: check_seats_nearly_full,
    SignalKind.FEATURE_ADOPTION: check_feature_adoption,
    SignalKind.ACTIVES_RISING: check_actives_rising,
    SignalKind.HEADCOUNT_GROWTH: check_headcount_growth,
    SignalKind.NEW_BUDGET_CYCLE: check_budget_cycle,
}


# The rules that read usage rows; the others read subscriptions only.
USAGE_KINDS = frozenset(
    {
        SignalKind.SEATS_NEARLY_FULL,
        SignalKind.FEATURE_ADOPTION,
        SignalKind.ACTIVES_RISING,
    }
)


@dataclass(frozen=True)
class RuleSetting:
    kind: str
    threshold: Decimal
    window_days: int


def find_hits(facts: AccountFacts, rules: list[RuleSetting], on: date) -> list[Hit]:
    """Every rule that fires for one account's facts on a day."""
    hits = []
    for rule in rules:
        hit = CHECKS[rule.kind](facts, on, rule.threshold, rule.window_days)
        if hit is not None:
            hits.append(hit)
    return hits


def active_rules() -> list[RuleSetting]:
    return [
        RuleSetting(rule.kind, rule.threshold, rule.window_days)
        for rule in SignalRule.objects.filter(is_active=True, kind__in=list(CHECKS))
    ]


def load_facts(
    on: date, usage_days: int, account_ids: list[int] | None = None
) -> dict[int, AccountFacts]:
    """Subscriptions started by `on` and use in the `usage_days` up to it, by
    account (of every account, or of `account_ids`), in two queries."""
    facts: dict[int, AccountFacts] = defaultdict(AccountFacts)
    subscriptions = Subscription.objects.filter(started_on__lte=on)
    usage = ProductUsage.objects.filter(
        used_on__gt=on - timedelta(days=usage_days), used_on__lte=on, usage_count__gt=0
    )
    if account_ids is not None:
        subscriptions = subscriptions.filter(account_id__in=account_ids)
        usage = usage.filter(account_id__in=account_ids)

    subscriptions = subscriptions.values_list(
        "account_id",
        "pk",
        "started_on",
        "ended_on",
        "seats",
        "is_trial",
        "was_upgraded",
        "billing_frequency",
    )
    for account_id, *values in subscriptions.order_by("account_id", "started_on"):
        facts[account_id].subscriptions.append(SubscriptionFact(*values))
    usage = usage.values_list("account_id", "subscription_id", "used_on", "feature")
    for account_id, *values in usage.order_by("account_id", "used_on"):
        facts[account_id].usage.append(UsageFact(*values))
    return facts


def cooling_pairs(rules: list[RuleSetting], on: date) -> set[tuple[int, str]]:
    """(account, kind) of signals closed within their rule's window: not again."""
    windows = {rule.kind: rule.window_days for rule in rules}
    earliest = on - timedelta(days=max(windows.values()))
    closed = Signal.objects.filter(
        kind__in=list(windows),
        status__in=[Signal.Status.DISMISSED, Signal.Status.CONVERTED],
        closed_at__date__gt=earliest,
    ).values_list("account_id", "kind", "closed_at")
    return {
        (account_id, kind)
        for account_id, kind, closed_at in closed
        if closed_at.date() > on - timedelta(days=windows[kind])
    }


def evaluate_signal_rules(on: date | None = None, now=None) -> dict:
    """Evaluate every active rule for every account as of `on` (default today).

    Returns, per kind, how many signals were raised, how many were open
    already (repeats) and how many were held back after a recent close.
    Safe to run twice: the second run raises nothing new.
    """
    now = now or timezone.now()
    on = on or timezone.localdate(now)
    rules = active_rules()
    if not rules:
        return {}
    # The usage rules that compare two windows read twice their window.
    usage_days = 2 * max(
        (rule.window_days for rule in rules if rule.kind in USAGE_KINDS), default=0
    )
    facts = load_facts(on, usage_days)
    cooling = cooling_pairs(rules, on)
    # Open ones are counted as repeats without a write: most runs find them.
    already_open = set(
        Signal.objects.filter(
            status=Signal.Status.OPEN, kind__in=[rule.kind for rule in rules]
        ).values_list("account_id", "kind")
    )
    accounts = Account.objects.select_related("owner").in_bulk(list(facts))

    counts = {rule.kind: {"raised": 0, "repeats": 0, "held_back": 0} for rule in rules}
    for account_id in sorted(facts):
        for hit in find_hits(facts[account_id], rules, on):
            if (account_id, hit.kind) in already_open:
                counts[hit.kind]["repeats"] += 1
                continue
            if (account_id, hit.kind) in cooling:
                counts[hit.kind]["held_back"] += 1
                continue
            signal = services.raise_signal(
                accounts[account_id],
                hit.kind,
                Signal.Source.RULE,
                None,
                evidence=hit.evidence,
                details=hit.details,
                now=now,
            )
            counts[hit.kind]["repeats" if signal.is_repeat else "raised"] += 1

    logger.info(
        "signal rules evaluated for %s: %s raised",
        on,
        sum(kind["raised"] for kind in counts.values()),
    )
    return counts
