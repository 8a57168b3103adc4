"""Products, pipelines with their stages as data, and deals."""

import logging

from django.db import models
from django.db.models import Q
from djmoney.models.fields import MoneyField

from bowtie.audit import audit_history

logger = logging.getLogger(__name__)


def product_lookup_key(name: str) -> str:
    """Fold a product name so that "GTXPro" and "GTX Pro" are one product."""
    return "".join(name.split()).casefold()


class Product(models.Model):
    name = models.CharField(max_length=120, unique=True)
    lookup_key = models.CharField(max_length=120, unique=True, editable=False)
    series = models.CharField(max_length=120, blank=True)
    list_price = MoneyField(
        max_digits=14, decimal_places=2, null=True, blank=True, default_currency="USD"
    )
    is_active = models.BooleanField(default=True)

    history = audit_history()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.lookup_key = product_lookup_key(self.name)
        super().save(*args, **kwargs)


class Pipeline(models.Model):
    class Kind(models.TextChoices):
        NEW_BUSINESS = "new_business", "New business"
        RENEWALS = "renewals", "Renewals"
        EXPANSION = "expansion", "Expansion"

    class ExpansionType(models.TextChoices):
        UPSELL = "upsell", "Upsell"
        CROSS_SELL = "cross_sell", "Cross-sell (warm)"
        NEW_BUYING_GROUP = "new_buying_group", "Cross-sell (new buying group)"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Each expansion type has its own pipeline, so its stages are data.
    expansion_type = models.CharField(
        max_length=20, choices=ExpansionType.choices, blank=True
    )
    is_default = models.BooleanField(
        default=False, help_text="The pipeline new deals of this kind go into."
    )

    history = audit_history()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(is_default=True),
                name="one_default_pipeline_per_kind",
            )
        ]

    def __str__(self):
        return self.name


class Stage(models.Model):
    class Outcome(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField()
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, default=Outcome.OPEN
    )
    probability = models.PositiveSmallIntegerField(
        default=0, help_text="Percent chance of winning from this stage."
    )

    history = audit_history()

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "name"], name="stage_name_unique_in_pipeline"
            ),
            models.UniqueConstraint(
                fields=["pipeline", "position"],
                name="stage_position_unique_in_pipeline",
            ),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="stage_probability_is_percent"
            ),
        ]

    def __str__(self):
        return f"{self.pipeline.name}: {self.name}"

    @property
    def is_closed(self) -> bool:
        return self.outcome != self.Outcome.OPEN


class Deal(models.Model):
    name = models.CharField(max_length=200)
    account = models.ForeignKey(
        "bowtie.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deals",
        help_text="Empty while the opportunity awaits account matching.",
    )
    owner = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_deals",
    )
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="deals"
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    amount = MoneyField(
        max_digits=14, decimal_places=2, null=True, blank=True, default_currency="EUR"
    )
    engaged_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    expected_close_on = models.DateField(null=True, blank=True)
    term_months = models.PositiveSmallIntegerField(
        default=12, help_text="Length of the contract term, for its renewal."
    )
    renews = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewal",
        help_text="The deal whose term this one renews.",
    )
    # Lineage: the deal an expansion grows from, so time between deals and
    # expansion by origin are reportable.
    expands = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="expansions",
        help_text="The deal this expansion grows from.",
    )

    class Source(models.TextChoices):
        UNKNOWN = "", "Unknown"
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"
        PARTNER = "partner", "Partner"
        CUSTOMER_REFERRAL = "customer_referral", "Customer referral"
        EXPANSION = "expansion", "Expansion of a customer"

    source = models.CharField(
        max_length=20, choices=Source.choices, blank=True, default=Source.UNKNOWN
    )
    # The rate of the day the deal was created, kept so a later rate never
    # moves its owner (DESIGN.md §6): amount / rate = value in the base.
    # Stamped by `save`; empty when its currency had no rate that day.
    base_rate = models.DecimalField(
        max_digits=18, decimal_places=8, null=True, blank=True, editable=False
    )
    base_rate_on = models.DateField(null=True, blank=True, editable=False)
    # The handoff packet the AE fills in before Closed Won, item by item, and
    # its stored completeness in percent (see handoffs.packets).
    packet = models.JSONField(default=dict, blank=True)
    packet_completeness = models.PositiveSmallIntegerField(default=0)
    is_historical = models.BooleanField(
        default=False, help_text="Imported history: opens no handoffs or clocks."
    )
    external_source = models.CharField(max_length=60, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = audit_history()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~Q(external_id=""),
                name="deal_external_id_unique_per_source",
            )
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        """Save, keeping the exchange rate of the day the deal is created.

        The rate is stamped once, when the row is added, with the rate of that
        UTC day (the day of `created_at`), so a later rate never moves the
        deal's owner or involvement. A new amount in the same currency keeps
        it. A change of currency stamps the rate of the day of the change: the
        rate kept is for the old currency, and the change is the first day
        the new one was known. Batches that skip `save` stamp their rows with
        `bowtie.exchange.stamp_base_rates`.
        """
        # Here, not at the top: bowtie.exchange imports this models package.
        from bowtie.exchange import stamp_base_rate, today

        update_fields = kwargs.get("update_fields")
        writes_currency = update_fields is None or "amount_currency" in update_fields
        if self._state.adding:
            is_stamping = self.base_rate_on is None
        else:
            # Unknown when the row was loaded without its currency: kept then.
            is_stamping = (
                writes_currency
                and hasattr(self, "_rate_currency")
                and str(self.amount_currency) != str(self._rate_currency)
            )
        if is_stamping:
            stamp_base_rate(self, today())
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "base_rate", "base_rate_on"}

        super().save(*args, **kwargs)

        if "amount_currency" in self.__dict__:
            self._rate_currency = self.amount_currency
        if is_stamping and self.base_rate is None and self.amount_currency:
            logger.warning(
                "deal %s kept without a rate: no %s rate on %s",
                self.pk,
                self.amount_currency,
                self.base_rate_on,
            )

    @classmethod
    def from_db(cls, db, field_names, values, *, fetch_mode=None):
        deal = super().from_db(db, field_names, values, fetch_mode=fetch_mode)
        # The currency the stored rate is for, to tell when it changes.
        if "amount_currency" in deal.__dict__:
            deal._rate_currency = deal.__dict__["amount_currency"]
        return deal
