"""The forms of the signal panel and the expansion page.

They check the shape of what was typed; `expansion.services` decides, and
its refusals come back onto the form by field (`add_refusal`).
"""

from decimal import Decimal

from django import forms
from djmoney.money import Money

from bowtie.models import Pipeline
from expansion.models import SignalKind
from expansion.services import CROSS_SELLS, KNOWN_CURRENCIES

LITMUS = "Would losing the contract in the existing unit affect closing this one?"
ANSWERS = [
    ("yes", "Yes: it grows from the existing contract"),
    ("no", "No: a new logo, referred by this customer"),
]


def add_refusal(form: forms.Form, errors: dict[str, list[str]]) -> None:
    """Put a service's refusal on the form, by field where the form has one."""
    for name, texts in errors.items():
        field = name if name in form.fields else None
        for text in texts:
            form.add_error(field, text)


def form_errors(form: forms.Form) -> list[str]:
    """Every error of the form as one line each, the field named."""
    lines = []
    for name, texts in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for text in texts:
            lines.append(f"{label}: {text}" if label else text)
    return lines


class FlagSignalForm(forms.Form):
    kind = forms.ChoiceField(
        label="Signal", choices=[("", "Choose a signal")] + SignalKind.choices
    )
    evidence = forms.CharField(
        label="What you saw",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The expansion owner reads this first.",
    )


class DismissSignalForm(forms.Form):
    reason = forms.CharField(label="Why dismiss it", max_length=300)


class ConvertSignalForm(forms.Form):
    expansion_type = forms.ChoiceField(
        label="Type", choices=Pipeline.ExpansionType.choices
    )
    name = forms.CharField(label="Deal name", max_length=200)
    amount = forms.DecimalField(
        label="Amount", max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    currency = forms.CharField(
        label="Currency", max_length=3, initial="EUR", help_text="ISO 4217, e.g. EUR."
    )
    affects_existing_unit = forms.ChoiceField(
        label=LITMUS, choices=ANSWERS, widget=forms.RadioSelect, required=False
    )

    def clean_currency(self):
        code = self.cleaned_data["currency"].strip().upper()
        if code not in KNOWN_CURRENCIES:
            raise forms.ValidationError("Give an ISO 4217 currency code, e.g. EUR.")
        return code

    def clean(self):
        values = super().clean()
        if values.get("expansion_type") in CROSS_SELLS and not values.get(
            "affects_existing_unit"
        ):
            self.add_error("affects_existing_unit", "A cross-sell needs the answer.")
        return values

    def money(self) -> Money:
        return Money(self.cleaned_data["amount"], self.cleaned_data["currency"])

    def litmus_answer(self) -> bool | None:
        answer = self.cleaned_data.get("affects_existing_unit")
        if self.cleaned_data.get("expansion_type") not in CROSS_SELLS or not answer:
            return None
        return answer == "yes"


class JointMeetingForm(forms.Form):
    meeting_at = forms.DateTimeField(
        label="Meeting with the CSM on",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="In your time zone.",
    )


class SendBackForm(forms.Form):
    reason = forms.CharField(
        label="Send back to the CSM, saying why",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StageForm(forms.Form):
    stage = forms.ChoiceField(label="Move to")

    def __init__(self, *args, pipeline: Pipeline, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [
            (str(stage.pk), stage.name) for stage in pipeline.stages.all()
        ]
