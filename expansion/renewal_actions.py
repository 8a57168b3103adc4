"""Renewal actions: the owner's T-90 task and the renewal play from T-120.

Every open renewal in the renewal book (`renewal_book`: the Renewals
pipeline's live deals that renew another, still open) gets two actions:

- the renewal play, due at T-120 and running until T-90: the owner takes the
  customer's ROI report (`build_roi_report`) to the customer;
- the owner's task, due at T-90: decide the renewal with the customer.

T is the last day of the term the renewal renews, its `expected_close_on`
(`handoffs.renewals.build_renewal` counts it with `bowtie.terms`, which
settles month ends and 29 February). T-90 is 90 calendar days before T,
counted in days and not months, so a 31 January or a leap day needs no rule
of its own: the days of February are simply counted.

Planning is the sweep's first step, not the close's: every door that makes a
renewal (a deal closed won, a renewal won opening the next term, the admin)
is covered without calling into this app, and an unfired action follows its
renewal when the term end or the owner changes. The database holds one
action per renewal and kind (`renewal_action_once`), so two sweeps that plan
at once make one row. A renewal is planned within the hour it is made; one
whose T-120 or T-90 has passed already (a term of three months) fires at
once.

Firing: an action is due from the first hour of its due day, in UTC, like
every stored day. Each due action is claimed alone, skipping rows another
sweep holds, and checked again under the lock (unfired, not done, renewal
still open); it is marked fired and its notice written in that transaction,
so it fires once however often the sweep runs, and the notice's event key is
unique per action as a second guard. A sweep after days of downtime fires
every overdue action once; the actions of renewals closed meanwhile (won or
churned) never fire. Historical renewals are outside the book and get none.

The owner's task firing is the renewal falling due: its webhook event
`renewal.due` is published in the same transaction, under an id drawn from
the renewal (`bowtie.webhooks.event_id_for`), so a CRM hears of it once. A
task marked done before T-90 never fires, and sends no event: the owner
settled the renewal before it came due.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from statistics import median
from xml.sax.saxutils import escape

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from bowtie import webhooks
from bowtie.models import (
    Deal,
    EventType,
    Person,
    Pipeline,
    ProductUsage,
    Stage,
    Subscription,
    SupportTicket,
    Topic,
)
from bowtie.notifications import notify
from bowtie.terms import term_ends_on
from bowtie.usage_import import SOURCE_LABELS
from expansion.models import RenewalAction
from handoffs import webhook_events
from handoffs.queries import visible_deals
from handoffs.renewals import term_starts_on
from handoffs.services import ActionRefused
from partners.models import HealthScore

logger = logging.getLogger(__name__)

Kind = RenewalAction.Kind

OWNER_TASK_DAYS = 90
PLAY_STARTS_DAYS = 120
PLAY_ENDS_DAYS = 90
# What the ROI report calls recent use.
RECENT_USAGE_DAYS = 90


@dataclass(frozen=True)
class PlannedAction:
    kind: str
    due_on: date
    # The last day the action is meant for: the play runs until T-90.
    ends_on: date


def plan_for(term_ends_on: date) -> list[PlannedAction]:
    """The actions of a renewal whose term ends on `term_ends_on`, by due day."""
    return [
        PlannedAction(
            Kind.RENEWAL_PLAY,
            term_ends_on - timedelta(days=PLAY_STARTS_DAYS),
            term_ends_on - timedelta(days=PLAY_ENDS_DAYS),
        ),
        PlannedAction(
            Kind.OWNER_TASK,
            term_ends_on - timedelta(days=OWNER_TASK_DAYS),
            term_ends_on,
        ),
    ]


def renewal_book():
    """Open live renewals: the Renewals pipeline's deals that renew another.

    Imported history (the Maven export's renewals among them) is left out:
    those customers' renewals are worked in the system they came from.
    """
    return Deal.objects.filter(
        pipeline__kind=Pipeline.Kind.RENEWALS,
        renews__isnull=False,
        is_historical=False,
        stage__outcome=Stage.Outcome.OPEN,
    )


def plan_renewal_actions() -> Counter:
    """Give every renewal in the book its two actions; move the unfired ones
    whose renewal's term end or owner changed.

    An action belongs to the renewal's owner, or the account's when the
    renewal has none. Returns the counts "planned" (rows added) and "moved".
    """
    renewals = list(
        renewal_book()
        .filter(expected_close_on__isnull=False)
        .values_list("pk", "expected_close_on", "owner_id", "account__owner_id")
    )
    existing = {
        (action.deal_id, action.kind): action
        for action in RenewalAction.objects.filter(deal__in=renewal_book()).only(
            "pk", "deal_id", "kind", "due_on", "owner_id", "fired_at", "done_at"
        )
    }
    to_create, to_move = [], []
    for pk, ends_on, owner_id, account_owner_id in renewals:
        owner_id = owner_id or account_owner_id
        for planned in plan_for(ends_on):
            action = existing.get((pk, planned.kind))
            if action is None:
                to_create.append(
                    RenewalAction(
                        deal_id=pk,
                        kind=planned.kind,
                        owner_id=owner_id,
                        due_on=planned.due_on,
                    )
                )
                continue
            is_waiting = action.fired_at is None and action.done_at is None
            changed = (action.due_on, action.owner_id) != (planned.due_on, owner_id)
            if is_waiting and changed:
                action.due_on, action.owner_id = planned.due_on, owner_id
                to_move.append(action)

    # A sweep planning at the same moment made the same rows: the constraint
    # keeps one, and this one's are dropped.
    created = RenewalAction.objects.bulk_create(
        to_create, batch_size=500, ignore_conflicts=True
    )
    RenewalAction.objects.bulk_update(to_move, ["due_on", "owner"], batch_size=500)
    counts = Counter(planned=len(created), moved=len(to_move))
    if to_create or to_move:
        logger.info(
            "renewal actions planned: %s new, %s moved", len(to_create), len(to_move)
        )
    return counts


def due_actions(today: date):
    """Unfired actions due by `today` whose renewal is still in the book."""
    return RenewalAction.objects.filter(
        fired_at__isnull=True,
        done_at__isnull=True,
        due_on__lte=today,
        deal__in=renewal_book(),
    )


def sweep_renewal_actions(now: datetime) -> dict:
    """Plan the book's actions, then fire every one that is due, each once."""
    counts = plan_renewal_actions()
    today = now.astimezone(UTC).date()
    due_ids = list(
        due_actions(today).order_by("due_on", "pk").values_list("pk", flat=True)
    )
    for action_id in due_ids:
        counts[fire_renewal_action(action_id, today, now)] += 1
    return {name: counts[name] for name in ("planned", "moved", "fired", "skipped")}


def fire_renewal_action(action_id: int, today: date, now: datetime) -> str:
    """Fire one due action: "fired", or "skipped" when another sweep holds it,
    fired it first, or its renewal closed in between."""
    with transaction.atomic():
        action = (
            due_actions(today)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("deal__account__owner", "deal__owner", "owner")
            .filter(pk=action_id)
            .first()
        )
        if action is None:
            return "skipped"

        action.fired_at = now
        action.save(update_fields=["fired_at"])
        tell_owner(action, today, now)
        if action.kind == Kind.OWNER_TASK:
            publish_renewal_due(action, now)
    logger.info(
        "renewal action %s fired: %s",
        action.pk,
        action.kind,
        extra={"renewal_action_id": action.pk, "deal_id": action.deal_id},
    )
    return "fired"


def publish_renewal_due(action: RenewalAction, now: datetime) -> None:
    """Tell the CRMs the renewal is due: T-90 of the term it renews."""
    renewal = action.deal
    webhooks.publish(
        EventType.RENEWAL_DUE,
        {
            "renewal": webhook_events.deal_of(renewal),
            "renews_id": renewal.renews_id,
            "due_on": action.due_on,
            "term_ends_on": renewal.expected_close_on,
            "owner": webhook_events.person_of(person_to_tell(action)),
        },
        now,
        key=f"renewal:{renewal.pk}",
    )


def person_to_tell(action: RenewalAction) -> Person | None:
    """The action's owner; the account's owner when they have left."""
    account = action.deal.account
    for person in (action.owner, account.owner if account else None):
        if person is not None and person.is_active:
            return person
    return None


def tell_owner(action: RenewalAction, today: date, now: datetime) -> None:
    person = person_to_tell(action)
    renewal = action.deal
    if person is None:
        logger.warning(
            "renewal action %s fired with nobody to tell",
            action.pk,
            extra={"renewal_action_id": action.pk},
        )
        return

    ends_on = renewal.expected_close_on
    if action.kind == Kind.RENEWAL_PLAY:
        report = build_roi_report(renewal, today)
        subject = f"Renewal play: {renewal.name}"
        body = (
            f"The term ends on {ends_on:%d %b %Y}. Take the customer's ROI report "
            f"to them before {ends_on - timedelta(days=PLAY_ENDS_DAYS):%d %b %Y}. "
            f"{report.headline}"
        )
        url = reverse("renewal-roi-report", args=[renewal.pk])
    else:
        # Fired late after downtime, the subject says the days really left.
        subject = f"Renewal in {(ends_on - today).days} days: {renewal.name}"
        body = (
            f"The term ends on {ends_on:%d %b %Y}. Agree the renewal with the "
            "customer: the people who sign, the price and the paperwork."
        )
        url = reverse("renewal-book") + f"#renewal-{renewal.pk}"
    notify(
        person,
        event_key=f"renewal-action:{action.pk}:fired",
        topic=Topic.NEW_WORK,
        subject=subject,
        body=body,
        url=url,
        now=now,
    )


def can_work_action(action: RenewalAction, actor: Person) -> bool:
    """The action's owner, and whoever may open its renewal."""
    if actor.pk == action.owner_id:
        return True
    return visible_deals(actor).filter(pk=action.deal_id).exists()


@transaction.atomic
def complete_renewal_action(
    action: RenewalAction, actor: Person, now=None
) -> RenewalAction:
    """Mark an action done; done once, by its owner or who may open its renewal.

    Done before it fired, it never fires.
    """
    now = now or timezone.now()
    action = RenewalAction.objects.select_for_update().get(pk=action.pk)
    if not can_work_action(action, actor):
        raise ActionRefused("Only the renewal's owner or their manager marks it done.")
    if action.done_at is not None:
        return action

    action.done_at = now
    action.save(update_fields=["done_at"])
    logger.info("renewal action %s done by person %s", action.pk, actor.pk)
    return action


# The customer ROI report ------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    metric: str
    baseline: str
    target: str
    by_when: str
    state: str


@dataclass
class RoiReport:
    """What the customer set out to achieve, beside what Bowtie knows of it."""

    renewal: Deal
    origin: Deal | None
    term_starts_on: date | None
    term_ends_on: date | None
    on: date
    goals: list[Goal] = field(default_factory=list)
    health: list[str] = field(default_factory=list)
    usage: list[str] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)
    headline: str = ""

    @property
    def sections(self) -> list[tuple[str, list[str]]]:
        goals = [goal_line(goal) for goal in self.goals] or [
            "The won deal's packet names no goals: agree them with the customer."
        ]
        return [
            ("Goals at signature", goals),
            ("Health", self.health),
            ("Usage", self.usage),
            ("Subscriptions", self.subscriptions),
            ("Support", self.tickets),
        ]


def goal_line(goal: Goal) -> str:
    parts = [goal.metric or "A goal"]
    if goal.baseline:
        parts.append(f"from {goal.baseline}")
    if goal.target:
        parts.append(f"to {goal.target}")
    if goal.by_when:
        parts.append(f"by {goal.by_when}")
    return f"{' '.join(parts)} ({goal.state})."


def find_origin(renewal: Deal) -> Deal | None:
    """The deal the renewal chain started from: the sale with the packet."""
    deal, seen = renewal.renews, set()
    while deal is not None and deal.renews_id is not None and deal.pk not in seen:
        seen.add(deal.pk)
        deal = deal.renews
    return deal


def goal_state(by_when: str, on: date) -> str:
    try:
        due = date.fromisoformat(by_when)
    except (TypeError, ValueError):
        return "no date to check against"
    if due < on:
        return f"due {due:%d %b %Y}, passed: ask the customer how it went"
    return f"due {due:%d %b %Y}"


def read_goals(origin: Deal | None, on: date) -> list[Goal]:
    rows = (origin.packet or {}).get("goals") if origin is not None else None
    goals = []
    for row in rows or []:
        if not isinstance(row, dict) or not any(row.values()):
            continue
        text = {key: str(row.get(key) or "").strip() for key in GOAL_PARTS}
        goals.append(Goal(**text, state=goal_state(text["by_when"], on)))
    return goals


GOAL_PARTS = ("metric", "baseline", "target", "by_when")


def term_of(deal: Deal | None) -> tuple[date | None, date | None]:
    starts_on = term_starts_on(deal) if deal is not None else None
    if starts_on is None:
        return None, None
    return starts_on, term_ends_on(starts_on, deal.term_months or 12)


def describe_health(account, on: date) -> list[str]:
    # Read-only: the partners app scores health; the report only quotes it.
    scores = HealthScore.objects.filter(
        account=account, scored_on__lte=on, score__isnull=False
    ).order_by("-scored_on")
    latest = scores.first()
    if latest is None:
        return ["No health score yet."]
    lines = [f"Health {latest.score} of 100 on {latest.scored_on:%d %b %Y}."]
    earlier = scores.filter(scored_on__lte=on - timedelta(days=RECENT_USAGE_DAYS))
    before = earlier.first()
    if before is not None:
        change = latest.score - before.score
        lines.append(f"{change:+} since {before.scored_on:%d %b %Y} ({before.score}).")
    return lines


def count_of(count: int, thing: str, things: str = "") -> str:
    return f"{count} {thing if count == 1 else things or thing + 's'}"


def describe_usage(account, starts_on: date | None, on: date) -> list[str]:
    """Use in the term so far: a row with a count above 0 is a day of use."""
    rows = ProductUsage.objects.filter(
        account=account, used_on__lte=on, usage_count__gt=0
    )
    if starts_on is not None:
        rows = rows.filter(used_on__gte=starts_on)
    used = list(rows.values_list("used_on", "feature", "usage_count", "error_count"))
    if not used:
        return ["No product use recorded in this term."]
    recent_since = on - timedelta(days=RECENT_USAGE_DAYS - 1)
    active_days = {row[0] for row in used}
    recent_days = {day for day in active_days if day >= recent_since}
    features = {row[1] for row in used}
    uses = sum(row[2] for row in used)
    errors = sum(row[3] for row in used)
    return [
        f"{count_of(len(active_days), 'day')} with use in this term, "
        f"{len(recent_days)} in the last {RECENT_USAGE_DAYS} days.",
        f"{count_of(len(features), 'feature')} used, {count_of(uses, 'use')}, "
        f"{count_of(errors, 'error')}.",
        f"Last used on {max(active_days):%d %b %Y}.",
    ]


def describe_subscriptions(account, on: date) -> tuple[list[str], set[str]]:
    current = list(
        Subscription.objects.filter(account=account, started_on__lte=on)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=on))
        .order_by("started_on", "pk")
    )
    if not current:
        return ["No subscription on record."], set()
    paid = [subscription for subscription in current if not subscription.is_trial]
    seats = sum(subscription.seats for subscription in paid)
    by_currency = Counter()
    for subscription in paid:
        by_currency[subscription.currency] += subscription.monthly_amount
    amounts = ", ".join(
        f"{currency} {amount:,.2f}" for currency, amount in sorted(by_currency.items())
    )
    tiers = sorted({subscription.plan_tier for subscription in paid} - {""})
    lines = [
        f"{count_of(len(paid), 'paid subscription')} open "
        f"({', '.join(tiers) or 'no tier'}), {count_of(seats, 'seat')}, "
        f"{amounts or 'nothing'} a month."
    ]
    automatic = sum(1 for subscription in paid if subscription.renews_automatically)
    lines.append(f"{automatic} of {len(paid)} renew automatically.")
    upgraded = sum(1 for subscription in paid if subscription.was_upgraded)
    if upgraded:
        lines.append(f"{count_of(upgraded, 'was', 'were')} upgraded.")
    return lines, {subscription.source for subscription in current}


def describe_tickets(account, starts_on: date | None, on: date) -> list[str]:
    tickets = SupportTicket.objects.filter(account=account, submitted_on__lte=on)
    if starts_on is not None:
        tickets = tickets.filter(submitted_on__gte=starts_on)
    rows = list(tickets.values_list("is_escalated", "satisfaction", "resolution_hours"))
    if not rows:
        return ["No support tickets in this term."]
    escalated = sum(1 for row in rows if row[0])
    ratings = [row[1] for row in rows if row[1] is not None]
    hours = [row[2] for row in rows if row[2] is not None]
    lines = [f"{count_of(len(rows), 'ticket')} in this term, {escalated} escalated."]
    if ratings:
        average = Decimal(sum(ratings)) / len(ratings)
        lines.append(
            f"Satisfaction {average:.1f} of 5 over "
            f"{count_of(len(ratings), 'rated ticket')}."
        )
    if hours:
        lines.append(f"Median resolution {median(hours):.1f} h.")
    return lines


def usage_credits(sources: set[str]) -> list[str]:
    # RavenStack's licence asks for its author's credit wherever it is shown.
    return sorted(
        f"Usage data: {SOURCE_LABELS[source]}."
        for source in sources
        if source in SOURCE_LABELS
    )


def build_roi_report(renewal: Deal, on: date) -> RoiReport:
    """Summarise for the customer what the term brought, as of `on`.

    The goals come from the packet of the sale the renewal chain started
    from; health, usage, subscriptions and tickets are what Bowtie holds for
    the account in the term being renewed (usage and tickets) or on `on`.
    Goals are free text, so nothing here measures them: each is listed with
    its due day for the owner to check with the customer.
    """
    origin = find_origin(renewal)
    starts_on, ends_on = term_of(renewal.renews)
    account = renewal.account
    report = RoiReport(renewal, origin, starts_on, ends_on, on)
    report.goals = read_goals(origin, on)
    if account is None:
        report.headline = "The renewal has no account: nothing to report on."
        return report

    report.health = describe_health(account, on)
    report.usage = describe_usage(account, starts_on, on)
    report.subscriptions, sources = describe_subscriptions(account, on)
    report.tickets = describe_tickets(account, starts_on, on)
    report.credits = usage_credits(sources)
    report.headline = " ".join(
        [f"{count_of(len(report.goals), 'goal')} from the sale.", report.health[0]]
    )
    return report


def roi_report_pdf(report: RoiReport) -> bytes:
    styles = getSampleStyleSheet()
    title = f"ROI report: {report.renewal.account or report.renewal.name}"
    story = [Paragraph(escape(title), styles["Title"])]
    if report.term_starts_on and report.term_ends_on:
        story.append(
            Paragraph(
                escape(
                    f"Term {report.term_starts_on:%d %b %Y} to "
                    f"{report.term_ends_on:%d %b %Y}; as of {report.on:%d %b %Y}."
                ),
                styles["BodyText"],
            )
        )
    for heading, lines in report.sections:
        story.append(Paragraph(escape(heading), styles["Heading2"]))
        for line in lines:
            story.append(Paragraph(escape(line), styles["BodyText"]))
        story.append(Spacer(1, 4 * mm))
    for line in report.credits:
        story.append(Paragraph(escape(line), styles["Italic"]))
    buffer = BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=title).build(story)
    return buffer.getvalue()
