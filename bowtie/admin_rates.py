"""The admin page of exchange rates: one euro buys this much of a currency.

Replaces django-money's own page, which cannot add a rate: its backend field
is read-only there, and every rate here belongs to the admin backend anyway.
"""

from django import forms
from django.contrib import admin
from djmoney.contrib.exchange.models import Rate
from moneyed import CURRENCIES

from bowtie.exchange import BASE_CURRENCY, rates_backend


class RateForm(forms.ModelForm):
    class Meta:
        model = Rate
        fields = ["currency", "value"]
        labels = {"value": f"Units for one {BASE_CURRENCY}"}
        help_texts = {
            "currency": "ISO 4217 code, such as USD.",
            "value": "How much of the currency one euro buys, e.g. 1.08 for USD.",
        }

    def clean_currency(self):
        code = self.cleaned_data["currency"].strip().upper()
        if code == BASE_CURRENCY:
            raise forms.ValidationError(f"{BASE_CURRENCY} is the base: it is 1.")
        if code not in CURRENCIES:
            raise forms.ValidationError(f"{code} is not an ISO 4217 currency code.")
        duplicate = Rate.objects.filter(
            currency=code, backend_id=rates_backend().pk
        ).exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise forms.ValidationError(f"{code} has a rate already; edit that one.")
        return code

    def clean_value(self):
        value = self.cleaned_data["value"]
        if value is None or value <= 0:
            raise forms.ValidationError("A rate is more than 0.")
        return value


if admin.site.is_registered(Rate):
    admin.site.unregister(Rate)


@admin.register(Rate)
class RateAdmin(admin.ModelAdmin):
    """Rates for deal values in other currencies, as RevOps keeps them."""

    form = RateForm
    list_display = ["currency", "value", "last_update"]
    ordering = ["currency"]

    @admin.display(description="Backend updated")
    def last_update(self, rate):
        return rate.backend.last_update

    def save_model(self, request, obj, form, change):
        backend = rates_backend()
        obj.backend = backend
        super().save_model(request, obj, form, change)
        # Touch the backend so "last update" says when a rate last changed.
        backend.save(update_fields=["last_update"])
