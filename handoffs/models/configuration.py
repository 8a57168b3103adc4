"""What RevOps configures: routing rules, scoring weights, import mappings."""

from django.core.exceptions import ValidationError
from django.db import models

from bowtie.audit import audit_history
from handoffs.rules import check_conditions


class RoutingRule(models.Model):
    """Send leads whose fields match every condition to a team.

    Conditions are data: a list of {"field", "operator", "value"}. Rules are
    tried by ascending priority after the account-owner override.
    """

    name = models.CharField(max_length=120, unique=True)
    priority = models.PositiveIntegerField(
        help_text="Lower numbers are tried first.", unique=True
    )
    is_active = models.BooleanField(default=True)
    conditions = models.JSONField(
        default=list,
        help_text='For example [{"field": "language", "operator": "in", '
        '"value": ["de"]}]',
    )
    team = models.ForeignKey("bowtie.Team", on_delete=models.PROTECT, related_name="+")
    is_default = models.BooleanField(
        default=False, help_text="Catches every lead no other rule took."
    )

    history = audit_history()

    class Meta:
        ordering = ["priority"]

    def __str__(self):
        return self.name

    def clean(self):
        problems = check_conditions(self.conditions)
        if problems:
            raise ValidationError({"conditions": problems})


class ScoringModel(models.Model):
    """The weights of fit, intent and third-party intent; there is one row."""

    fit_weight = models.PositiveSmallIntegerField(default=40)
    intent_weight = models.PositiveSmallIntegerField(default=40)
    third_party_weight = models.PositiveSmallIntegerField(default=20)
    updated_at = models.DateTimeField(auto_now=True)

    history = audit_history()

    class Meta:
        verbose_name = "scoring weights"
        verbose_name_plural = "scoring weights"

    def __str__(self):
        return (
            f"fit {self.fit_weight} / intent {self.intent_weight} / "
            f"third-party {self.third_party_weight}"
        )

    def clean(self):
        total = self.fit_weight + self.intent_weight + self.third_party_weight
        if total != 100:
            raise ValidationError(f"The three weights must add up to 100, not {total}.")

    @classmethod
    def current(cls) -> "ScoringModel":
        model = cls.objects.order_by("pk").first()
        return model or cls()

    def as_dict(self) -> dict[str, int]:
        return {
            "fit": self.fit_weight,
            "intent": self.intent_weight,
            "third_party": self.third_party_weight,
        }


class ImportMapping(models.Model):
    """How the columns of one source's CSV export map onto lead fields."""

    source = models.SlugField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)
    columns = models.JSONField(
        help_text='Lead field → column header, e.g. {"email": "E-mail address"}.'
    )
    values = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per field, raw value → stored value; "*" is the default, e.g. '
        '{"utm_medium": {"Google": "cpc", "*": ""}}.',
    )
    constants = models.JSONField(
        default=dict, blank=True, help_text="Fields set the same on every row."
    )

    history = audit_history()

    class Meta:
        ordering = ["source"]

    def __str__(self):
        return self.source


class ConfigurationVersion(models.Model):
    """The token of the configuration intake keeps in memory: one row or none.

    Only database triggers write it (migration 0029), in the transaction of
    any change to a table `handoffs.configuration_cache` keeps; the app adds
    the row when there is none yet.
    """

    token = models.CharField(max_length=36)

    def __str__(self):
        return self.token
