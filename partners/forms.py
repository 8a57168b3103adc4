"""Forms of the partner area and of the vendor's invitation in the admin.

They only read what was typed: the rules live in `partners.services` and
`partners.invitations`, whose refusals the views put back on these forms
field by field (`show_refusal`). The CS packet's form, shared with the
vendor's engagement page, is read in `partners.cs_packet_forms`.
"""

import zoneinfo

from django import forms

from bowtie.models import Contact
from partners.models import CustomerSession, ImplementationMilestone
from partners.services import FieldsRefused


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        # The browser's date picker reads and writes ISO dates only.
        super().__init__(attrs, format="%Y-%m-%d")


class MilestoneForm(forms.Form):
    planned_on = forms.DateField(label="Planned date", required=False, widget=DateInput)
    actual_on = forms.DateField(label="Actual date", required=False, widget=DateInput)
    notes = forms.CharField(
        label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, milestone: ImplementationMilestone, **kwargs):
        self.milestone = milestone
        kwargs.setdefault(
            "initial",
            {
                "planned_on": milestone.planned_on,
                "actual_on": milestone.actual_on,
                "notes": milestone.notes,
            },
        )
        kwargs.setdefault("prefix", f"milestone-{milestone.kind}")
        super().__init__(*args, **kwargs)

    def changes(self) -> dict:
        """The service's arguments: only the dates that differ from the stored
        ones, as a date left None keeps its value and a done go-live is not
        logged twice."""
        data = self.cleaned_data
        return {
            "planned_on": changed(data["planned_on"], self.milestone.planned_on),
            "actual_on": changed(data["actual_on"], self.milestone.actual_on),
            "notes": data["notes"],
        }


class KickoffForm(MilestoneForm):
    ae_attended = forms.ChoiceField(
        label="Did the AE attend?",
        choices=[("yes", "Yes"), ("no", "No")],
        required=False,
        widget=forms.RadioSelect,
        help_text="Needed once the kickoff's actual date is given.",
    )

    def __init__(self, *args, milestone, ae_attended: bool | None = None, **kwargs):
        super().__init__(*args, milestone=milestone, **kwargs)
        if ae_attended is not None:
            self.initial["ae_attended"] = "yes" if ae_attended else "no"

    def changes(self) -> dict:
        answer = self.cleaned_data["ae_attended"]
        return {
            **super().changes(),
            "ae_attended": {"yes": True, "no": False}.get(answer),
        }


def changed(value, stored):
    return value if value != stored else None


def milestone_form(milestone, engagement, data=None) -> MilestoneForm:
    if milestone.kind == ImplementationMilestone.Kind.KICKOFF:
        return KickoffForm(
            data,
            milestone=milestone,
            ae_attended=engagement.ae_attended_kickoff,
        )
    return MilestoneForm(data, milestone=milestone)


class ReadinessForm(forms.Form):
    owner_name = forms.CharField(label="Owner", required=False, max_length=200)
    evidence = forms.CharField(
        label="Evidence", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_met = forms.BooleanField(label="Met", required=False)

    def __init__(self, *args, condition, **kwargs):
        self.condition = condition
        kwargs.setdefault(
            "initial",
            {
                "owner_name": condition.owner_name,
                "evidence": condition.evidence,
                "is_met": condition.is_met,
            },
        )
        kwargs.setdefault("prefix", f"readiness-{condition.key}")
        super().__init__(*args, **kwargs)


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    prefix = "comment"


class SessionForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=CustomerSession.Kind.choices)
    title = forms.CharField(label="Title", required=False, max_length=200)
    held_on = forms.DateField(label="Held on", widget=DateInput)
    invited = forms.ModelMultipleChoiceField(
        label="Invited",
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    attended = forms.ModelMultipleChoiceField(
        label="Attended",
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Who came counts as invited too.",
    )

    prefix = "session"

    def __init__(self, *args, engagement, **kwargs):
        super().__init__(*args, **kwargs)
        # The account's own people only: the partner never picks from the
        # vendor's whole address book.
        contacts = Contact.objects.filter(account_id=engagement.account_id)
        if engagement.account_id is None:
            contacts = Contact.objects.none()
        self.fields["invited"].queryset = contacts
        self.fields["attended"].queryset = contacts


class InviteMemberForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="E-mail")
    time_zone = forms.ChoiceField(
        label="Time zone",
        initial="UTC",
        choices=[(zone, zone) for zone in sorted(zoneinfo.available_timezones())],
    )


def show_refusal(form: forms.Form, refused: FieldsRefused) -> None:
    """Put each refused field's reason next to it; the rest above the form."""
    for field, reason in refused.errors.items():
        form.add_error(field if field in form.fields else None, reason)
