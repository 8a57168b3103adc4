"""The targets the dashboard compares each metric with.

A metric's default target is in its code (DESIGN.md §7's figures); RevOps
may edit it, and the edited one is kept, with its history, in
`MetricTarget`. Every reader goes through `targets_for`, and every edit
through `set_target`.
"""

import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import transaction

from bowtie import measurement
from bowtie.models import MetricTarget, Person

logger = logging.getLogger(__name__)

MOST_DIGITS = 10


class TargetRefused(ValueError):
    """An edit refused, with a reason per field."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {text}" for key, text in errors.items()))


def targets_for(metrics: list[measurement.Metric]) -> dict[str, measurement.Target]:
    """Each metric's target: the edited one if any, else its default. One query."""
    edited = {
        row.metric_key: measurement.Target(row.minimum, row.maximum)
        for row in MetricTarget.objects.filter(
            metric_key__in=[metric.key for metric in metrics]
        )
    }
    return {metric.key: edited.get(metric.key, metric.target) for metric in metrics}


def can_set_targets(person: Person | None) -> bool:
    return (
        person is not None
        and person.is_active
        and person.role == Person.Role.REVOPS_ADMIN
    )


def parse_bound(value, field: str, errors: dict) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[field] = f"{value!r} is not a number."
        return None
    if not number.is_finite():
        errors[field] = "A target must be a finite number."
        return None
    if number.as_tuple().exponent < -2:
        errors[field] = "A target has at most two decimal places."
        return None
    if abs(number) >= 10**MOST_DIGITS:
        errors[field] = "That is too large for a target."
        return None
    return number


@transaction.atomic
def set_target(metric_key: str, minimum, maximum, person: Person | None, now):
    """Set a metric's target; both bounds empty brings back the default.

    Only an active RevOps admin sets targets (PermissionDenied otherwise), on
    the settings page or anywhere else. Raises TargetRefused naming the field
    and the reason; nothing changes then.
    """
    if not can_set_targets(person):
        raise PermissionDenied("Only RevOps admins change targets.")
    errors: dict[str, str] = {}
    if metric_key not in measurement.REGISTRY:
        raise TargetRefused({"metric": f"No metric is called {metric_key!r}."})
    metric = measurement.metric(metric_key)
    low = parse_bound(minimum, "minimum", errors)
    high = parse_bound(maximum, "maximum", errors)
    if low is not None and high is not None and low > high:
        errors["maximum"] = "The most must not be below the least."
    if metric.unit == measurement.Unit.PERCENT:
        for field, bound in (("minimum", low), ("maximum", high)):
            if bound is not None and field not in errors and not -1000 <= bound <= 1000:
                errors[field] = "A share is between -1000 and 1000 %."
    if errors:
        raise TargetRefused(errors)

    if low is None and high is None:
        MetricTarget.objects.filter(metric_key=metric_key).delete()
        logger.info("target of %s back to its default", metric_key)
        return metric.target
    MetricTarget.objects.update_or_create(
        metric_key=metric_key,
        defaults={
            "minimum": low,
            "maximum": high,
            "updated_by": person,
            "updated_at": now,
        },
    )
    logger.info("target of %s set", metric_key)
    return measurement.Target(low, high)
