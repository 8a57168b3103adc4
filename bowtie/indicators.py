"""Leading indicators read on a schedule: alerts opened, kept and resolved.

Each enabled indicator whose metric is registered is read for the whole
company and for every team with a head, over the window of `window_days` UTC
days that ends today, and for rising and falling also over the window just
before it (DESIGN.md §7). An alert opens when the condition starts and tells
the owning manager: the team's head, or every active RevOps admin for the
company. While the condition lasts the alert stays open and tells nobody
again; when it ends the alert is resolved with a notice.

Every indicator and scope is read and written in one transaction. At most
one alert per indicator and scope is open (a partial unique constraint), so
two runs at once open it once, and the notices' event keys make a retried
run send none twice. Company alerts have no single recipient: each RevOps
admin gets the notice, and `Alert.recipient` stays empty.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from bowtie import charts, measurement
from bowtie.measurement import Metric, Point, Reading, Scope, Target, Unit
from bowtie.models import Alert, Indicator, Notification, Person, Team, Topic
from bowtie.notifications import notify
from bowtie.visibility import ALL_TEAMS_ROLES, dashboard_teams

logger = logging.getLogger(__name__)

COMPANY = "company"
RECORDS_IN_EVIDENCE = 20
TRENDS = (Indicator.Kind.RISING, Indicator.Kind.FALLING)


# The condition ------------------------------------------------------------


def is_crossed(kind: str, threshold, value: float, previous: float | None) -> bool:
    """Whether a window's value meets an indicator's condition.

    Above and below compare the value with the threshold; rising and falling
    compare its change from the window before with it. Equal is not crossed.
    """
    limit = float(threshold)
    if kind == Indicator.Kind.ABOVE:
        return value > limit
    if kind == Indicator.Kind.BELOW:
        return value < limit
    # Rounded so that 15.0 - 10.0 against a threshold of 5 is not a rise.
    change = round(value - previous, 9)
    if kind == Indicator.Kind.RISING:
        return change > limit
    if kind == Indicator.Kind.FALLING:
        return -change > limit
    raise ValueError(f"Unknown indicator kind {kind!r}.")


def find_shortfall(indicator: Indicator, reading: Reading, previous) -> str:
    """Why a check cannot be trusted, or "" when it can."""
    windows = [("window", reading)]
    if previous is not None:
        windows.append(("window before", previous))
    for name, window in windows:
        if window.count < indicator.minimum_count:
            return (
                f"the {name} counts {window.count} records, "
                f"fewer than {indicator.minimum_count}"
            )
        if window.value is None:
            return f"nothing counts in the {name}"
    return ""


def window_for(indicator: Indicator, team_ids, now) -> Scope:
    """The `window_days` UTC days that end on today's date."""
    ends_on = now.astimezone(UTC).date()
    starts_on = ends_on - timedelta(days=indicator.window_days - 1)
    return Scope(starts_on, ends_on, team_ids)


# Who hears of an alert ----------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """One scope an indicator is read for, and who hears of its alerts.

    A team whose head left is still read while it has an open alert, so
    that the alert can be resolved, but no new alert opens for it.
    """

    scope_key: str
    team: Team | None
    told: tuple[Person, ...]

    @property
    def team_ids(self) -> frozenset[int] | None:
        return None if self.team is None else frozenset({self.team.pk})

    @property
    def head(self) -> Person | None:
        return self.told[0] if self.team is not None and self.told else None

    @property
    def may_open(self) -> bool:
        return self.team is None or self.head is not None


def active_revops_admins() -> tuple[Person, ...]:
    return tuple(
        Person.objects.filter(role=Person.Role.REVOPS_ADMIN, is_active=True).order_by(
            "pk"
        )
    )


def audiences_for(indicator: Indicator) -> list[Audience]:
    """The company, then every team with an active head or an open alert."""
    audiences = [Audience(COMPANY, None, active_revops_admins())]
    with_open_alert = Alert.objects.filter(
        indicator=indicator, resolved_at__isnull=True, team__isnull=False
    ).values("team_id")
    teams = (
        Team.objects.filter(
            Q(head__isnull=False, head__is_active=True) | Q(pk__in=with_open_alert)
        )
        .select_related("head")
        .order_by("pk")
    )
    for team in teams:
        head = team.head if team.head is not None and team.head.is_active else None
        audiences.append(Audience(f"team:{team.pk}", team, (head,) if head else ()))
    return audiences


def resolution_recipients(alert: Alert) -> tuple[Person, ...]:
    """Whoever heard of the opening: the recipient, or RevOps company-wide."""
    if alert.team_id is None:
        return active_revops_admins()
    if alert.recipient is not None:
        return (alert.recipient,)
    head = alert.team.head
    return (head,) if head is not None and head.is_active else ()


# Evaluation ---------------------------------------------------------------


def evaluate_indicators(now) -> dict:
    """Read every enabled indicator for every scope; say what happened.

    An indicator whose metric is not registered is left for later. One
    that fails is logged and counted, and the others are still read.
    """
    counts = Counter({"opened": 0, "kept": 0, "resolved": 0, "skipped": 0, "failed": 0})
    # TODO(alerts): every team is measured with queries of its own, two per
    # trend. Fine for tens of teams each hour; once there are hundreds, metrics
    # should offer one reading grouped by team, and this should use it.
    for indicator in Indicator.objects.filter(is_enabled=True).order_by("key"):
        metric = measurement.REGISTRY.get(indicator.metric_key)
        if metric is None:
            logger.info(
                "indicator %s waits for metric %s", indicator.key, indicator.metric_key
            )
            counts["unregistered"] += 1
            continue
        for audience in audiences_for(indicator):
            try:
                counts[evaluate_scope(indicator, metric, audience, now)] += 1
            except Exception:
                logger.exception(
                    "indicator %s failed for %s", indicator.key, audience.scope_key
                )
                counts["failed"] += 1
    counts.pop("clear", None)
    return dict(counts)


def evaluate_scope(indicator: Indicator, metric: Metric, audience: Audience, now):
    """Read one indicator for one scope; open, keep or resolve its alert.

    Returns "opened", "kept", "resolved", "clear" or "skipped".
    """
    scope = window_for(indicator, audience.team_ids, now)
    with transaction.atomic():
        reading = metric.measure(scope, now)
        previous = (
            metric.measure(scope.before(), now) if indicator.kind in TRENDS else None
        )
        shortfall = find_shortfall(indicator, reading, previous)
        if shortfall:
            logger.info(
                "indicator %s skipped for %s: %s",
                indicator.key,
                audience.scope_key,
                shortfall,
            )
            # TODO(alerts): an open alert stays open, unjudged, while its
            # window counts too few records; it resolves once enough return.
            # Resolve it with a "too few to judge" notice if managers find
            # such alerts linger.
            Alert.objects.filter(
                indicator=indicator,
                scope_key=audience.scope_key,
                resolved_at__isnull=True,
            ).update(last_checked_at=now)
            return "skipped"

        previous_value = previous.value if previous is not None else None
        crossed = is_crossed(
            indicator.kind, indicator.threshold, reading.value, previous_value
        )
        alert = open_alert_of(indicator, audience.scope_key)
        if alert is None:
            if not crossed or not audience.may_open:
                return "clear"
            return open_alert(
                indicator, metric, audience, scope, reading, previous, now
            )
        if crossed:
            Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(
                last_value=reading.value, last_checked_at=now
            )
            return "kept"
        return resolve_alert(alert, scope, reading, previous, now)


def open_alert_of(indicator: Indicator, scope_key: str) -> Alert | None:
    return (
        Alert.objects.select_related("indicator", "team__head", "recipient")
        .filter(indicator=indicator, scope_key=scope_key, resolved_at__isnull=True)
        .first()
    )


def open_alert(indicator, metric, audience, scope, reading, previous, now) -> str:
    alert = Alert(
        indicator=indicator,
        scope_key=audience.scope_key,
        team=audience.team,
        recipient=audience.head,
        threshold=indicator.threshold,
        opened_value=reading.value,
        previous_value=previous.value if previous is not None else None,
        last_value=reading.value,
        window_starts_on=scope.starts_on,
        window_ends_on=scope.ends_on,
        evidence=gather_evidence(metric, scope, reading, previous, now),
        opened_at=now,
        last_checked_at=now,
    )
    try:
        # A savepoint: on PostgreSQL a failed insert spoils the transaction.
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        # Another run opened it after this one looked, and told everyone.
        logger.info(
            "indicator %s already alerting for %s", indicator.key, audience.scope_key
        )
        return "kept"

    tell(alert, audience.told, "opened", now)
    logger.info(
        "alert %s opened: %s for %s", alert.pk, indicator.key, audience.scope_key
    )
    return "opened"


def resolve_alert(alert: Alert, scope, reading, previous, now) -> str:
    resolution = {
        "starts_on": scope.starts_on.isoformat(),
        "ends_on": scope.ends_on.isoformat(),
        "count": reading.count,
        "previous_value": previous.value if previous is not None else None,
    }
    evidence = {**alert.evidence, "resolution": resolution}
    resolved = Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(
        resolved_at=now,
        resolved_value=reading.value,
        last_value=reading.value,
        last_checked_at=now,
        evidence=evidence,
    )
    if not resolved:
        return "clear"

    alert.resolved_at = now
    alert.resolved_value = reading.value
    alert.evidence = evidence
    tell(alert, resolution_recipients(alert), "resolved", now)
    logger.info("alert %s resolved", alert.pk)
    return "resolved"


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def gather_evidence(metric, scope, reading, previous, now) -> dict:
    """What the alert shows as it was seen: the chart, the records, the link."""
    records = metric.records(scope, now)
    rows = [
        {
            "values": [cell_text(column.value(row)) for column in records.columns],
            "url": records.url_of(row) or "",
        }
        for row in records.rows[:RECORDS_IN_EVIDENCE]
    ]
    return {
        "metric_key": metric.key,
        "metric_label": metric.label,
        "unit": metric.unit,
        "count": reading.count,
        "previous_count": previous.count if previous is not None else None,
        "points": [
            {"label": point.label, "value": point.value, "count": point.count}
            for point in reading.series
        ],
        "columns": [column.header for column in records.columns],
        "records": rows,
        "drilldown_url": drilldown_url(metric.key, scope),
    }


def drilldown_url(metric_key: str, scope: Scope) -> str:
    query = {"starts_on": scope.starts_on.isoformat(), "ends_on": scope.ends_on}
    if scope.team_ids is not None:
        query["team"] = min(scope.team_ids)
    return f"{reverse('metric-records', args=[metric_key])}?{urlencode(query)}"


# What the notices say -----------------------------------------------------


def number_text(value: float) -> str:
    """One decimal at most: 24 and 17.1, never -0."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def amount(value: float, unit: str) -> str:
    return number_text(value) + Unit.suffixes[unit]


def change_amount(change: float, unit: str) -> str:
    # A change of a share is in percentage points, not a percent of it.
    if unit == Unit.PERCENT:
        return number_text(change) + " points"
    return amount(change, unit)


def day_text(day) -> str:
    return f"{day.day} {day:%b %Y}"


def window_text(starts_on, ends_on) -> str:
    first = (
        f"{starts_on.day} {starts_on:%b}"
        if starts_on.year == ends_on.year
        else day_text(starts_on)
    )
    return f"the UTC days {first} – {day_text(ends_on)}"


def place_text(alert: Alert) -> str:
    return alert.team.name if alert.team is not None else "the whole company"


MOVES = {Indicator.Kind.RISING: "rise", Indicator.Kind.FALLING: "fall"}


def condition_text(alert: Alert, value: float, previous, *, holds: bool) -> str:
    """The value against the threshold, in the indicator's own terms."""
    unit = alert.evidence["unit"]
    kind = alert.indicator.kind
    threshold = float(alert.threshold)
    if kind in (Indicator.Kind.ABOVE, Indicator.Kind.BELOW):
        side = "above" if kind == Indicator.Kind.ABOVE else "below"
        verdict = side if holds else f"no longer {side}"
        return f"{amount(value, unit)}, {verdict} the threshold of " + amount(
            threshold, unit
        )
    change = value - previous
    direction = "up" if change >= 0 else "down"
    verdict = "more than" if holds else "within"
    return (
        f"{amount(value, unit)}, {direction} {change_amount(abs(change), unit)} "
        f"from {amount(previous, unit)} in the window before, {verdict} the "
        f"{MOVES[kind]} of {change_amount(threshold, unit)} the threshold allows"
    )


def opened_message(alert: Alert) -> tuple[str, str]:
    evidence = alert.evidence
    condition = condition_text(
        alert, alert.opened_value, alert.previous_value, holds=True
    )
    body = (
        f"{evidence['metric_label']} for {place_text(alert)} is {condition}, over "
        f"{window_text(alert.window_starts_on, alert.window_ends_on)}, "
        f"{evidence['count']} records. You will not be told again while this "
        "lasts, and will be told when it ends."
    )
    return f"Alert: {alert.indicator.label} for {place_text(alert)}", body


def resolved_message(alert: Alert) -> tuple[str, str]:
    label = alert.indicator.label
    resolution = alert.evidence.get("resolution")
    if resolution is None:
        opened_on = day_text(alert.opened_at.astimezone(UTC).date())
        return (
            f"Alert closed: {label} for {place_text(alert)}",
            f"The indicator was turned off, so the alert opened on {opened_on} "
            "is closed without a new reading.",
        )
    condition = condition_text(
        alert, alert.resolved_value, resolution["previous_value"], holds=False
    )
    window = window_text(
        date.fromisoformat(resolution["starts_on"]),
        date.fromisoformat(resolution["ends_on"]),
    )
    return (
        f"Resolved: {label} for {place_text(alert)}",
        f"{alert.evidence['metric_label']} for {place_text(alert)} is back: "
        f"{condition}, over {window}, {resolution['count']} records.",
    )


def message_of(alert: Alert, what: str) -> tuple[str, str]:
    return opened_message(alert) if what == "opened" else resolved_message(alert)


def tell(alert: Alert, people, what: str, now) -> None:
    """Notify each person once of the alert's opening or its end."""
    subject, body = message_of(alert, what)
    for person in people:
        notify(
            person,
            event_key=f"alert:{alert.pk}:{what}",
            subject=subject,
            body=body,
            url=reverse("alert-detail", args=[alert.pk]),
            now=now,
            topic=Topic.ALERT,
        )


# Showing an alert ---------------------------------------------------------


def alerts_visible_to(person: Person):
    """Alerts of the teams whose figures the person sees; company ones to
    those whose dashboard covers the whole company."""
    visible = Q(team__in=dashboard_teams(person))
    if person.role in ALL_TEAMS_ROLES:
        visible |= Q(team__isnull=True)
    return Alert.objects.filter(visible).select_related(
        "indicator", "team", "recipient"
    )


def points_of(alert: Alert) -> list[Point]:
    return [
        Point(point["label"], point["value"], point["count"])
        for point in alert.evidence.get("points", [])
    ]


def chart_target(alert: Alert) -> Target:
    """The line the window's value crosses: the threshold, or for trends the
    window before's value moved by the threshold."""
    threshold = alert.threshold
    kind = alert.indicator.kind
    if kind == Indicator.Kind.ABOVE:
        return Target(maximum=threshold)
    if kind == Indicator.Kind.BELOW:
        return Target(minimum=threshold)
    previous = Decimal(str(round(alert.previous_value, 2)))
    if kind == Indicator.Kind.RISING:
        return Target(maximum=previous + threshold)
    return Target(minimum=previous - threshold)


def unit_suffix(alert: Alert) -> str:
    return Unit.suffixes[alert.evidence["unit"]]


def threshold_summary(alert: Alert) -> str:
    """The condition in a few words: "above 10 %", "a rise of over 5 points"."""
    unit = alert.evidence["unit"]
    kind = alert.indicator.kind
    if kind in TRENDS:
        return f"a {MOVES[kind]} of over {change_amount(float(alert.threshold), unit)}"
    return f"{kind} {amount(float(alert.threshold), unit)}"


@dataclass(frozen=True)
class AlertRow:
    """An alert as the pages list it, its figures in the metric's unit."""

    alert: Alert

    def figure(self, value) -> str:
        return "–" if value is None else amount(value, self.alert.evidence["unit"])

    @property
    def opened(self) -> str:
        return self.figure(self.alert.opened_value)

    @property
    def latest(self) -> str:
        return self.figure(self.alert.last_value)

    @property
    def previous(self) -> str:
        return self.figure(self.alert.previous_value)

    @property
    def resolved(self) -> str:
        return self.figure(self.alert.resolved_value)

    @property
    def condition(self) -> str:
        return threshold_summary(self.alert)

    @property
    def place(self) -> str:
        return place_text(self.alert)


def alert_chart(alert: Alert) -> str:
    """The window's weeks as the dashboard draws them, with the crossed line."""
    return charts.trend_chart(
        points_of(alert), unit_suffix=unit_suffix(alert), target=chart_target(alert)
    )


def absolute(url: str) -> str:
    return settings.BOWTIE_BASE_URL + url if url.startswith("/") else url


def render_alert_mail(notification: Notification) -> str | None:
    """The HTML alternative of an alert's e-mail, drawn from the alert.

    The chart is a row of table cells, which mail clients show without
    images or scripts. None when the alert is gone: the text alone goes.
    """
    _, alert_id, what = notification.event_key.split(":")
    alert = (
        Alert.objects.select_related("indicator", "team")
        .filter(pk=int(alert_id))
        .first()
    )
    if alert is None:
        return None
    evidence = alert.evidence
    return render_to_string(
        "bowtie/alert_mail.html",
        {
            "subject": notification.subject,
            "body": notification.body,
            "what": what,
            "alert": alert,
            "bars": charts.mail_bars(
                points_of(alert),
                unit_suffix=unit_suffix(alert),
                target=chart_target(alert),
            ),
            "columns": evidence.get("columns", []),
            "records": [
                {"values": row["values"], "url": absolute(row["url"])}
                for row in evidence.get("records", [])
            ],
            "count": evidence.get("count", 0),
            "link": absolute(notification.url) if notification.url else "",
            "drilldown": absolute(evidence.get("drilldown_url", "")),
        },
    )


# Editing an indicator -----------------------------------------------------


class IndicatorRefused(ValueError):
    """An edit refused, with a reason per field."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {text}" for key, text in errors.items()))


# Indicator.threshold has 12 digits, two of them after the point.
LARGEST_THRESHOLD = Decimal(10) ** 10
LONGEST_WINDOW_DAYS = 366
LARGEST_MINIMUM_COUNT = 1_000_000


def parse_threshold(value, kind: str, unit: str | None, errors: dict):
    text = "" if value is None else str(value).strip()
    if not text:
        errors["threshold"] = "Give a threshold."
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        errors["threshold"] = f"{text!r} is not a number."
        return None
    if not number.is_finite():
        errors["threshold"] = "A threshold must be a finite number."
    elif number.as_tuple().exponent < -2:
        errors["threshold"] = "A threshold has at most two decimal places."
    elif abs(number) >= LARGEST_THRESHOLD:
        errors["threshold"] = "That is too large for a threshold."
    elif kind in TRENDS and number < 0:
        errors["threshold"] = "A rise or fall is the size of the change: zero or more."
    elif unit == Unit.PERCENT and not -1000 <= number <= 1000:
        errors["threshold"] = "A share is between -1000 and 1000 %."
    return None if "threshold" in errors else number


def parse_whole(value, field: str, lowest: int, highest: int, errors: dict):
    text = "" if value is None else str(value).strip()
    if not text.lstrip("-").isdigit():
        errors[field] = f"{text!r} is not a whole number." if text else "Give a number."
        return None
    number = int(text)
    if not lowest <= number <= highest:
        errors[field] = f"Give a number from {lowest} to {highest:,}."
        return None
    return number


def check_indicator_values(
    indicator: Indicator, *, threshold, window_days, minimum_count, is_enabled
) -> dict:
    """The edited values, parsed; IndicatorRefused names each bad field."""
    errors: dict[str, str] = {}
    metric = measurement.REGISTRY.get(indicator.metric_key)
    values = {
        "threshold": parse_threshold(
            threshold, indicator.kind, metric.unit if metric else None, errors
        ),
        "window_days": parse_whole(
            window_days, "window_days", 1, LONGEST_WINDOW_DAYS, errors
        ),
        "minimum_count": parse_whole(
            minimum_count, "minimum_count", 0, LARGEST_MINIMUM_COUNT, errors
        ),
        "is_enabled": is_enabled,
    }
    if not isinstance(is_enabled, bool):
        errors["is_enabled"] = "Say whether the indicator is on: true or false."
    if errors:
        raise IndicatorRefused(errors)
    return values


def may_edit_indicators(person: Person | None) -> bool:
    return (
        person is not None
        and person.role == Person.Role.REVOPS_ADMIN
        and person.is_active
    )


@transaction.atomic
def update_indicator(
    key: str,
    person: Person,
    now,
    *,
    threshold,
    window_days,
    minimum_count,
    is_enabled: bool,
) -> Indicator:
    """Change an indicator's threshold, window, minimum count or switch.

    Only active RevOps admins may (PermissionDenied for anyone else). Bad
    values raise IndicatorRefused naming each field, and nothing changes.
    The history keeps every edit. Turning an indicator off closes its open
    alerts and tells their recipients, since nobody watches them any more.
    """
    if not may_edit_indicators(person):
        raise PermissionDenied("Only RevOps admins change indicators.")
    indicator = Indicator.objects.select_for_update().filter(key=key).first()
    if indicator is None:
        raise IndicatorRefused({"indicator": f"No indicator is called {key!r}."})

    values = check_indicator_values(
        indicator,
        threshold=threshold,
        window_days=window_days,
        minimum_count=minimum_count,
        is_enabled=is_enabled,
    )
    if all(getattr(indicator, name) == value for name, value in values.items()):
        return indicator

    turned_off = indicator.is_enabled and not values["is_enabled"]
    for name, value in values.items():
        setattr(indicator, name, value)
    indicator.updated_by = person
    indicator.updated_at = now
    indicator.save()
    logger.info("indicator %s changed", indicator.key)
    if turned_off:
        close_open_alerts(indicator, now)
    return indicator


def close_open_alerts(indicator: Indicator, now) -> None:
    for alert in Alert.objects.select_related(
        "indicator", "team__head", "recipient"
    ).filter(indicator=indicator, resolved_at__isnull=True):
        closed = Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(
            resolved_at=now, last_checked_at=now
        )
        if closed:
            alert.resolved_at = now
            tell(alert, resolution_recipients(alert), "resolved", now)
            logger.info("alert %s closed with its indicator", alert.pk)
