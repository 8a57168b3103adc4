from django import forms
from django.core import signing

from handoffs.models import Lead, Touch

FORM_TOKEN_SALT = "bowtie.public-form"
FORM_TOKEN_MAX_AGE_SECONDS = 6 * 3600


def issue_form_token() -> str:
    return signing.TimestampSigner(salt=FORM_TOKEN_SALT).sign("lead-form")


def is_valid_form_token(token: str) -> bool:
    try:
        signing.TimestampSigner(salt=FORM_TOKEN_SALT).unsign(
            token, max_age=FORM_TOKEN_MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return False
    return True


class PublicLeadForm(forms.Form):
    """The embeddable form. Field checks live in the intake service."""

    FORM_TYPES = [
        ("contact_sales", "Talk to sales"),
        ("demo_request", "Book a demo"),
        ("content_download", "Send me the guide"),
    ]

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    email = forms.CharField(label="Work e-mail", max_length=254)
    company_name = forms.CharField(label="Company", max_length=200)
    job_title = forms.CharField(max_length=150, required=False)
    country = forms.CharField(max_length=60, required=False)
    language = forms.CharField(max_length=20, required=False)
    form_type = forms.ChoiceField(label="I want to", choices=FORM_TYPES)
    # The spam trap: hidden from people, filled in by bots.
    website = forms.CharField(required=False, label="Leave this empty")


class TouchForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(kind, Touch.Kind(kind).label) for kind in Touch.RESPONSE_KINDS]
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class DispositionForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (Lead.Status.QUALIFIED, "Qualified → SQL"),
            (Lead.Status.DISQUALIFIED, "Disqualified"),
            (Lead.Status.NURTURE, "Back to nurture"),
        ]
    )
    reason = forms.CharField(max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("status") == Lead.Status.DISQUALIFIED and not data.get("reason"):
            self.add_error("reason", "Say why the lead is disqualified.")
        return data
