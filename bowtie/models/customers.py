"""Accounts (companies), the domains that identify them, and their contacts."""

from django.core.exceptions import ValidationError
from django.db import models
from djmoney.models.fields import MoneyField

from bowtie.audit import audit_history


class Account(models.Model):
    class Size(models.TextChoices):
        SMALL = "small", "Small (1-199)"
        MID = "mid", "Mid-market (200-999)"
        ENTERPRISE = "enterprise", "Enterprise (1000+)"

    name = models.CharField(max_length=200, unique=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subsidiaries",
    )
    owner = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code.")
    industry = models.CharField(max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = MoneyField(
        max_digits=16, decimal_places=2, null=True, blank=True, default_currency="USD"
    )
    founded_year = models.PositiveSmallIntegerField(null=True, blank=True)
    external_id = models.CharField(max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = audit_history()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def size(self) -> str:
        if self.employee_count is None:
            return ""
        if self.employee_count < 200:
            return self.Size.SMALL
        if self.employee_count < 1000:
            return self.Size.MID
        return self.Size.ENTERPRISE

    def clean(self):
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.pk == self.pk:
                raise ValidationError(
                    {"parent": "An account cannot be its own parent."}
                )
            ancestor = ancestor.parent


class AccountDomain(models.Model):
    """A registered domain (example.com, not www.example.com) of an account."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="domains"
    )
    domain = models.CharField(max_length=253, unique=True)

    history = audit_history()

    class Meta:
        ordering = ["domain"]

    def __str__(self):
        return self.domain

    def clean(self):
        from bowtie.domains import registered_domain

        normalised = registered_domain(self.domain)
        if not normalised:
            raise ValidationError({"domain": "Not a domain name with a public suffix."})
        if normalised != self.domain.strip().lower():
            raise ValidationError(
                {"domain": f"Register the domain itself: {normalised}"}
            )


class Contact(models.Model):
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)
    # The id the CRM knows the contact by, as an account keeps its own.
    external_id = models.CharField(max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = audit_history()

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email
