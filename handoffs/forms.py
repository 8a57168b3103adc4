import unicodedata
from functools import cache

import pycountry
from django import forms
from django.core import signing

from bowtie.models import Team
from handoffs.compliance import Week
from handoffs.models import Lead, Touch
from handoffs.normalisation import normalise_submission

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


# The form language is the first routing filter for European teams; each
# language is named in itself, so a visitor finds their own.
FORM_LANGUAGES = [
    ("", "—"),
    ("cs", "Čeština"),
    ("da", "Dansk"),
    ("de", "Deutsch"),
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
    ("no", "Norsk"),
    ("pl", "Polski"),
    ("pt", "Português"),
    ("fi", "Suomi"),
    ("sv", "Svenska"),
]


def unaccented(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


@cache
def country_choices() -> list[tuple[str, str]]:
    """Every ISO country by its English name, Åland among the As."""
    countries = [
        (country.alpha_2, getattr(country, "common_name", country.name))
        for country in pycountry.countries
    ]
    countries.sort(key=lambda choice: unaccented(choice[1]))
    return [("", "—"), *countries]


class PublicLeadForm(forms.Form):
    """The embeddable form.

    The fields are checked by the same normalisation as every other intake
    door, so the visitor sees every problem at once, next to its field. Country
    and language are offered as lists but accept any value a site posts, as
    the API does ("de-AT", "Deutschland").
    """

    FORM_TYPES = [
        ("contact_sales", "Talk to sales"),
        ("demo_request", "Book a demo"),
        ("content_download", "Send me the guide"),
    ]

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    email = forms.CharField(
        label="Work e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    company_name = forms.CharField(label="Company", max_length=200)
    job_title = forms.CharField(max_length=150, required=False)
    country = forms.CharField(
        max_length=60, required=False, widget=forms.Select(choices=country_choices)
    )
    language = forms.CharField(
        label="Preferred language",
        max_length=20,
        required=False,
        widget=forms.Select(choices=FORM_LANGUAGES),
    )
    form_type = forms.ChoiceField(label="I want to", choices=FORM_TYPES)
    # The spam trap: hidden from people, filled in by bots.
    website = forms.CharField(required=False, label="Leave this empty")

    def clean(self):
        data = super().clean()
        submission = {name: value for name, value in data.items() if name != "website"}
        for name, errors in normalise_submission(submission).errors.items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, errors)
        return data


class TouchForm(forms.Form):
    kind = forms.ChoiceField(
        label="What did you do?",
        choices=[(kind, Touch.Kind(kind).label) for kind in Touch.RESPONSE_KINDS],
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
    reason = forms.CharField(label="Reason", max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("status") == Lead.Status.DISQUALIFIED and not data.get("reason"):
            self.add_error("reason", "Say why the lead is disqualified.")
        return data


class DashboardFilterForm(forms.Form):
    """The period and team of the speed-to-lead dashboard; bad values fall back."""

    PERIODS = [
        ("7", "last 7 days"),
        ("30", "last 30 days"),
        ("90", "last 90 days"),
        ("365", "last 365 days"),
    ]
    DEFAULT_DAYS = 30

    days = forms.TypedChoiceField(
        label="Period",
        choices=PERIODS,
        coerce=int,
        required=False,
        empty_value=DEFAULT_DAYS,
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, empty_label="all teams"
    )

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams

    def filters(self) -> tuple[int, Team | None]:
        self.is_valid()
        return (
            self.cleaned_data.get("days") or self.DEFAULT_DAYS,
            self.cleaned_data.get("team"),
        )


class ReviewChoiceForm(forms.Form):
    """The team and ISO week of an operating review; the week just ended first."""

    team = forms.ModelChoiceField(
        label="Team", queryset=Team.objects.none(), empty_label=None
    )
    week = forms.CharField(label="Week", widget=forms.TextInput(attrs={"type": "week"}))

    def __init__(self, *args, teams, this_week: Week, **kwargs):
        super().__init__(*args, **kwargs)
        self.this_week = this_week
        self.fields["team"].queryset = teams
        self.fields["week"].initial = str(this_week.previous)

    def clean_week(self) -> Week:
        try:
            week = Week.parse(self.cleaned_data["week"].strip())
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error
        if week.monday > self.this_week.monday:
            raise forms.ValidationError(f"{week} has not begun yet.")
        return week


def packet_from_post(items, data) -> dict:
    """Read a packet from the deal page's fields; empty rows are dropped.

    A text item is the field `<key>`; rows are `<key>-<n>-<part>`, numbered
    from 0 in the order shown.
    """
    packet = {}
    for item in items:
        if item.kind != "rows":
            packet[item.key] = data.get(item.key, "").strip()
            continue
        rows = []
        for number in range(MAX_PACKET_ROWS):
            row = {
                part["key"]: data.get(f"{item.key}-{number}-{part['key']}", "").strip()
                for part in item.parts
            }
            if any(row.values()):
                rows.append(row)
        packet[item.key] = rows
    return packet


# A page never shows more rows than this for one item.
MAX_PACKET_ROWS = 30
