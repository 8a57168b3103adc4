"""Forms of the vendor's engagement pages.

They only read and check what was posted; every write goes through
`partners.services`, whose refusals come back as errors on the same fields.
"""

from django import forms
from django.db.models import Q

from bowtie.models import Contact, Person, Team
from partners.models import CustomerSession, Engagement, Partner

# The value that gives the implementation to the vendor's own team.
IN_HOUSE = "in_house"
IN_HOUSE_LABEL = "Our own implementation team"

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# The stylesheet draws inputs as full-width blocks; a tick box stays inline.
INLINE = {"style": "display: inline; width: auto; margin-right: .4rem"}


def implementation_people():
    """Active people who may lead an implementation: the implementation role,
    or anyone on an implementation team."""
    return (
        Person.objects.filter(is_active=True)
        .filter(
            Q(role=Person.Role.IMPLEMENTATION)
            | Q(team__function=Team.Function.IMPLEMENTATION)
        )
        .order_by("full_name")
    )


class AssignPartnerForm(forms.Form):
    """Who delivers a won deal's implementation: a partner or our own team.

    Only active partners are offered. A partner posted anyway once it is
    inactive reaches `assign_partner`, which refuses it by name. With
    `is_optional` (the close-won form) an empty choice leaves it for later.
    """

    partner = forms.CharField(label="Delivered by", required=False)
    implementation_lead = forms.ModelChoiceField(
        label="Implementation lead",
        queryset=Person.objects.none(),
        required=False,
        empty_label="The implementation team's lead",
    )

    def __init__(self, *args, is_optional: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_optional = is_optional
        choices = [(IN_HOUSE, IN_HOUSE_LABEL)]
        choices += [
            (str(partner.pk), partner.name)
            for partner in Partner.objects.filter(is_active=True)
        ]
        # Nothing chosen by default: in-house is a choice, never an accident.
        choices.insert(0, ("", "Decide after closing" if is_optional else "Choose…"))
        self.fields["partner"].widget = forms.Select(choices=choices)
        self.fields["implementation_lead"].queryset = implementation_people()

    def clean_partner(self) -> Partner | None:
        value = self.cleaned_data["partner"].strip()
        self.is_assigning = value != ""
        if value in ("", IN_HOUSE):
            if not value and not self.is_optional:
                raise forms.ValidationError(
                    "Choose a partner or our own implementation team."
                )
            return None
        partner = Partner.objects.filter(pk=value).first() if value.isdigit() else None
        if partner is None:
            raise forms.ValidationError("Choose a partner from the list.")
        return partner


class MilestoneForm(forms.Form):
    """A milestone's planned and actual dates; empty dates keep their value."""

    planned_on = forms.DateField(label="Planned", required=False, widget=DATE_INPUT)
    actual_on = forms.DateField(label="Done", required=False, widget=DATE_INPUT)
    notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    ae_attended = forms.TypedChoiceField(
        label="Did the AE attend?",
        choices=[("", "–"), ("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the kickoff records whether the AE came (the warm overlay).
        if kind != "kickoff":
            del self.fields["ae_attended"]


class ReadinessForm(forms.Form):
    owner_name = forms.CharField(label="Owner", max_length=200, required=False)
    evidence = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    is_met = forms.BooleanField(
        label="Met", required=False, widget=forms.CheckboxInput(attrs=INLINE)
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Write to the thread", widget=forms.Textarea(attrs={"rows": 3})
    )


class SessionForm(forms.Form):
    """A meeting or training with the customer, and which contacts came."""

    kind = forms.ChoiceField(choices=CustomerSession.Kind.choices)
    title = forms.CharField(max_length=200)
    held_on = forms.DateField(label="Held on", widget=DATE_INPUT)
    invited = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs=INLINE),
    )
    attended = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs=INLINE),
        help_text="Who came counts as invited too.",
    )

    def __init__(self, *args, engagement: Engagement, **kwargs):
        super().__init__(*args, **kwargs)
        # Any contact of the account; the service refuses anyone else.
        contacts = Contact.objects.filter(account_id=engagement.account_id)
        if engagement.account_id is None:
            contacts = contacts.none()
        for name in ("invited", "attended"):
            self.fields[name].queryset = contacts


class EngagementFilterForm(forms.Form):
    """The engagement list's filters; a value it does not know shows everything."""

    partner = forms.CharField(required=False)
    status = forms.ChoiceField(
        required=False, choices=[("", "all statuses"), *Engagement.Status.choices]
    )

    def __init__(self, *args, partners, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "all partners"), (IN_HOUSE, "In-house")]
        choices += [(str(partner.pk), partner.name) for partner in partners]
        self.fields["partner"].widget = forms.Select(choices=choices)
        self.partner_ids = {str(partner.pk) for partner in partners}

    def filter(self, engagements):
        if not self.is_valid():
            return engagements
        partner = self.cleaned_data["partner"]
        if partner == IN_HOUSE:
            engagements = engagements.filter(partner__isnull=True)
        elif partner in self.partner_ids:
            engagements = engagements.filter(partner_id=int(partner))
        if self.cleaned_data["status"]:
            engagements = engagements.filter(status=self.cleaned_data["status"])
        return engagements
