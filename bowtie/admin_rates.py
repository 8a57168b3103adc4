"""Governance data in the admin: dated exchange rates, and the ownership bands.

A rate says how much of a currency one unit of the base currency buys, from
a day on. A rate in force is shown, never edited: deals created while it was
in force kept it, so a correction is a new rate from a later day. A rate that
has not started yet may be changed or withdrawn. Every write goes through
`bowtie.exchange`, and the audit history keeps each version with who and when.

Ownership policies and their bands are shown read-only: they change on the
RevOps page (/settings/ownership/), where the gap and overlap checks hold.

django-money's own page of its undated rates is removed: nothing reads them
since they were copied into dated rates.
"""

from django import forms
from django.contrib import admin
from django.db.models import OuterRef, Subquery
from djmoney.contrib.exchange.models import Rate
from simple_history.admin import SimpleHistoryAdmin

from bowtie.exchange import (
    add_exchange_rate,
    base_currency,
    change_upcoming_rate,
    find_rate_problems,
    today,
    withdraw_upcoming_rate,
)
from bowtie.models import ExchangeRate, OwnershipBand, OwnershipPolicy

RATE_FIELDS = ["currency", "units_per_base", "effective_on"]

if admin.site.is_registered(Rate):
    admin.site.unregister(Rate)


def acting_person(request):
    return getattr(request.user, "person", None)


class ExchangeRateForm(forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = RATE_FIELDS
        help_texts = {
            "currency": "ISO 4217 code, such as USD.",
            "effective_on": "Today or later; the rate holds until the next one.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        base = base_currency()
        if "units_per_base" in self.fields:
            self.fields["units_per_base"].label = f"Units for one {base}"
            self.fields[
                "units_per_base"
            ].help_text = (
                f"How much of the currency one {base} buys, e.g. 1.08 for USD."
            )
        if "effective_on" in self.fields and self.instance.pk is None:
            self.fields["effective_on"].initial = today()

    def clean_currency(self):
        return self.cleaned_data["currency"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        problems = find_rate_problems(
            cleaned.get("currency", instance.currency),
            cleaned.get("units_per_base"),
            cleaned.get("effective_on"),
            today(),
            rate=instance if instance.pk else None,
        )
        for name, texts in problems.items():
            # A field that failed its own check already says why.
            if name in self.fields and name not in self.errors:
                self.add_error(name, texts)
        return cleaned


@admin.register(ExchangeRate)
class ExchangeRateAdmin(SimpleHistoryAdmin):
    """Dated rates for deal values in other currencies, as RevOps keeps them."""

    form = ExchangeRateForm
    list_display = [
        "currency",
        "units_per_base",
        "effective_on",
        "state",
        "created_by",
        "created_at",
    ]
    list_filter = ["currency"]
    list_select_related = ["created_by"]
    ordering = ["currency", "-effective_on"]

    def get_queryset(self, request):
        # The day the next rate of the currency took over, if it has.
        next_on = ExchangeRate.objects.filter(
            currency=OuterRef("currency"),
            effective_on__gt=OuterRef("effective_on"),
            effective_on__lte=today(),
        ).order_by("effective_on")
        return (
            super()
            .get_queryset(request)
            .annotate(replaced_on=Subquery(next_on.values("effective_on")[:1]))
        )

    @admin.display(description="State")
    def state(self, rate):
        if rate.effective_on > today():
            return "Upcoming"
        if rate.replaced_on is not None:
            return f"Replaced from {rate.replaced_on:%Y-%m-%d}"
        return "In force"

    def is_upcoming(self, rate) -> bool:
        return rate is not None and rate.effective_on > today()

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Another currency is another rate: withdraw this one, add that one.
        return ["currency", "created_by", "created_at"]

    def has_change_permission(self, request, obj=None):
        # A rate in force is shown, not edited: deals may have kept it.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.is_upcoming(obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self.is_upcoming(obj))

    def get_actions(self, request):
        # A bulk delete would skip the check that a rate has not started.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        # The form ran the same checks; the service holds them for every door.
        actor = acting_person(request)
        if change:
            saved = change_upcoming_rate(
                obj, obj.units_per_base, obj.effective_on, actor
            )
        else:
            saved = add_exchange_rate(
                obj.currency, obj.units_per_base, obj.effective_on, actor
            )
        obj.pk, obj.created_at, obj.created_by = (
            saved.pk,
            saved.created_at,
            saved.created_by,
        )

    def delete_model(self, request, obj):
        withdraw_upcoming_rate(obj, acting_person(request))


class OwnershipBandInline(admin.TabularInline):
    model = OwnershipBand
    fields = ["lower_eur", "upper_eur", "owner_role", "cs_role", "cs_part"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OwnershipPolicy)
class OwnershipPolicyAdmin(SimpleHistoryAdmin):
    """Read-only: the bands change on /settings/ownership/, where they are
    checked for gaps and overlaps."""

    list_display = ["effective_on", "note", "created_by", "created_at"]
    list_select_related = ["created_by"]
    readonly_fields = ["effective_on", "note", "created_by", "created_at"]
    inlines = [OwnershipBandInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "subtitle": "Read-only here: RevOps changes the bands on the "
            "ownership settings page, which checks them for gaps and overlaps.",
        }
        return super().changelist_view(request, extra_context)
