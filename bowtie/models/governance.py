"""Governance data RevOps keeps: who owns a deal by its value, and the rates.

Both change over time and both are read "as of" a day: a band set from
1 July does not move an owner decided in June, and a deal keeps the exchange
rate of the day it was created.
"""

from django.db import models

from bowtie.audit import audit_history
from bowtie.models.organisation import Person


class OwnershipPolicy(models.Model):
    """A complete set of ACV bands, in force from `effective_on` until the next.

    A policy is replaced, never edited in place once in force, so the bands
    that decided an old deal's owner can still be read.
    """

    effective_on = models.DateField(unique=True)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField()

    history = audit_history()

    class Meta:
        ordering = ["-effective_on"]
        verbose_name_plural = "ownership policies"

    def __str__(self):
        return f"Ownership bands from {self.effective_on}"


class OwnershipBand(models.Model):
    """One ACV band: from `lower_eur` (included) up to `upper_eur` (excluded).

    The boundary rule: an amount exactly on a boundary belongs to the band
    that starts there, so EUR 10,000 is in the 10-50K band.
    """

    class CsPart(models.TextChoices):
        CLOSES = "closes", "CS closes the deal"
        IN_MEETINGS = "in_meetings", "CS joins the meetings"
        ADVISORY = "advisory", "CS advises"

    policy = models.ForeignKey(
        OwnershipPolicy, on_delete=models.CASCADE, related_name="bands"
    )
    lower_eur = models.DecimalField(max_digits=14, decimal_places=2)
    upper_eur = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Excluded. Empty: no upper limit.",
    )
    owner_role = models.CharField(max_length=20, choices=Person.Role.choices)
    cs_role = models.CharField(max_length=20, choices=Person.Role.choices, blank=True)
    cs_part = models.CharField(max_length=20, choices=CsPart.choices)

    history = audit_history()

    class Meta:
        ordering = ["policy", "lower_eur"]

    def __str__(self):
        upper = f"{self.upper_eur:,.0f}" if self.upper_eur is not None else "∞"
        return f"EUR {self.lower_eur:,.0f} - {upper}: {self.get_owner_role_display()}"

    def holds(self, amount_eur) -> bool:
        return self.lower_eur <= amount_eur and (
            self.upper_eur is None or amount_eur < self.upper_eur
        )


class ExchangeRate(models.Model):
    """How much of a currency one unit of the base currency buys, from a day."""

    currency = models.CharField(max_length=3)
    units_per_base = models.DecimalField(max_digits=18, decimal_places=8)
    effective_on = models.DateField()
    created_by = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = audit_history()

    class Meta:
        ordering = ["currency", "-effective_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "effective_on"], name="exchange_rate_once_a_day"
            ),
            models.CheckConstraint(
                condition=models.Q(units_per_base__gt=0), name="exchange_rate_positive"
            ),
        ]

    def __str__(self):
        return f"{self.currency} {self.units_per_base} from {self.effective_on}"
