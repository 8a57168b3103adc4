"""Teams, people, territories and when people are available to work."""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from bowtie.audit import audit_history


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name")


def validate_https_url(value: str) -> None:
    # The address carries its own secret: never send it in the clear.
    if value and not value.startswith("https://"):
        raise ValidationError("A webhook address must start with https://.")


class Team(models.Model):
    class Function(models.TextChoices):
        SALES = "sales", "Sales"
        IMPLEMENTATION = "implementation", "Implementation"
        CUSTOMER_SUCCESS = "customer_success", "Customer success"
        ACCOUNT_MANAGEMENT = "account_management", "Account management"

    class Distribution(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round-robin"
        WEIGHTED = "weighted", "Weighted round-robin"
        CAPACITY = "capacity", "Capacity-based"

    name = models.CharField(max_length=120, unique=True)
    function = models.CharField(
        max_length=20,
        choices=Function.choices,
        default=Function.SALES,
        help_text="Which handoffs the team receives.",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    head = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_teams",
        help_text="The manager who receives this team's escalations.",
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166 code, for public holidays."
    )
    holiday_region = models.CharField(
        max_length=10,
        blank=True,
        help_text="Subdivision for regional holidays, for example BY for Bavaria.",
    )
    distribution = models.CharField(
        max_length=20, choices=Distribution.choices, default=Distribution.ROUND_ROBIN
    )
    # Position in the rotation: only ever changed under a row lock by routing.
    rotation_position = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audit_history(excluded_fields=["rotation_position"])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        check_holiday_place(self.country, self.holiday_region)


def check_holiday_place(country: str, region: str) -> None:
    """Refuse a country or region the holiday calendar does not know."""
    from bowtie.calendars import supported_regions

    if not country:
        if region:
            raise ValidationError({"holiday_region": "Give the country first."})
        return
    regions = supported_regions(country)
    if regions is None:
        raise ValidationError(
            {"country": f"No public holidays are known for {country!r}."}
        )
    if region and region not in regions:
        raise ValidationError(
            {
                "holiday_region": f"{region!r} is not a region of {country}: "
                f"use one of {', '.join(regions) or 'none'}."
            }
        )


class Person(models.Model):
    class Role(models.TextChoices):
        REVOPS_ADMIN = "revops_admin", "RevOps admin"
        MARKETING_OPS = "marketing_ops", "Marketing ops"
        SDR = "sdr", "SDR"
        AE = "ae", "Account executive"
        MANAGER = "manager", "Manager"
        IMPLEMENTATION = "implementation", "Implementation lead"
        CSM = "csm", "Customer success manager"
        AM = "am", "Account manager"

    # Roles that take leads from the routing rotation.
    LEAD_TAKING_ROLES = (Role.SDR, Role.AE)

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    full_name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SDR)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    country = models.CharField(
        max_length=2,
        blank=True,
        help_text="ISO 3166 code for public holidays; empty: the team's.",
    )
    holiday_region = models.CharField(
        max_length=10, blank=True, help_text="Subdivision for regional holidays."
    )
    is_active = models.BooleanField(
        default=True, help_text="Inactive people receive no new work."
    )
    capacity = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most open leads at once; empty means no limit.",
    )
    routing_weight = models.PositiveSmallIntegerField(
        default=1, help_text="Share of leads under weighted distribution."
    )
    languages = models.JSONField(
        default=list,
        blank=True,
        help_text='ISO 639-1 codes, for example ["de", "en"]. Empty: any language.',
    )
    slack_webhook_url = models.URLField(
        blank=True,
        validators=[validate_https_url],
        help_text="A Slack-compatible incoming webhook, https only.",
    )
    notify_by_email = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audit_history()

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "people"

    def __str__(self):
        return self.full_name

    def clean(self):
        if self.country:
            check_holiday_place(self.country, self.holiday_region)
        elif self.holiday_region:
            raise ValidationError({"holiday_region": "Give the country first."})

    def is_out_of_office(self, now) -> bool:
        return self.out_of_office_periods.filter(
            starts_at__lte=now, ends_at__gt=now
        ).exists()


class OutOfOffice(models.Model):
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="out_of_office_periods"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    history = audit_history()

    class Meta:
        ordering = ["starts_at"]
        verbose_name = "out-of-office period"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="out_of_office_ends_after_start",
            )
        ]

    def __str__(self):
        return (
            f"{self.person} away {self.starts_at:%Y-%m-%d} to {self.ends_at:%Y-%m-%d}"
        )


class WorkingPeriod(models.Model):
    """One interval of a weekly schedule; a day may hold several."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="working_periods",
    )
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="working_periods",
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts_at = models.TimeField()
    ends_at = models.TimeField(help_text="00:00 works to midnight.")

    history = audit_history()

    class Meta:
        ordering = ["weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at"))
                | Q(ends_at=datetime.time(0)),
                name="working_period_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(team__isnull=True, person__isnull=False)
                | Q(team__isnull=False, person__isnull=True),
                name="working_period_belongs_to_team_or_person",
            ),
        ]

    def __str__(self):
        return (
            f"{self.get_weekday_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"
        )


class CompanyDayOff(models.Model):
    """A day the company (or one team) does not work, beside public holidays."""

    on = models.DateField()
    name = models.CharField(max_length=120)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="days_off",
        help_text="Empty: a day off for every team.",
    )

    history = audit_history()

    class Meta:
        ordering = ["on"]
        verbose_name = "company day off"
        verbose_name_plural = "company days off"
        constraints = [
            models.UniqueConstraint(
                fields=["on"],
                condition=Q(team=None),
                name="company_day_off_once_for_everyone",
            ),
            models.UniqueConstraint(
                fields=["on", "team"],
                condition=Q(team__isnull=False),
                name="company_day_off_once_per_team",
            ),
        ]

    def __str__(self):
        return f"{self.on:%Y-%m-%d} {self.name}"


class Territory(models.Model):
    name = models.CharField(max_length=120, unique=True)
    countries = models.JSONField(
        default=list, blank=True, help_text='ISO 3166 codes, for example ["DE", "AT"].'
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="territories",
    )

    history = audit_history()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "territories"

    def __str__(self):
        return self.name
