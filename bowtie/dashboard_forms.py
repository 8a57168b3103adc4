"""The dashboard's filters: a period, a team and a segment, read as a Scope."""

from datetime import date, timedelta

from django import forms

from bowtie.measurement import Scope, Segment
from bowtie.models import Person, Team
from bowtie.visibility import ALL_TEAMS_ROLES, dashboard_teams

LONGEST_PERIOD_DAYS = 731


class ScopeForm(forms.Form):
    """A period of whole days ending today by default, or the days chosen.

    Unknown values are refused with the field named; the page then shows the
    default period beside the message instead of guessing.
    """

    PERIODS = [
        ("28", "last 4 weeks"),
        ("91", "last 13 weeks"),
        ("182", "last 26 weeks"),
        ("364", "last 52 weeks"),
    ]
    DEFAULT_DAYS = 91

    days = forms.TypedChoiceField(
        label="Period",
        choices=PERIODS,
        coerce=int,
        required=False,
        empty_value=DEFAULT_DAYS,
    )
    starts_on = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    team = forms.ModelChoiceField(
        label="Team",
        queryset=Team.objects.all(),
        required=False,
        empty_label="all my teams",
    )
    segment = forms.ChoiceField(
        label="Segment",
        choices=[("", "all segments"), *Segment.choices],
        required=False,
    )

    def __init__(self, *args, person: Person, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = person
        self.today = today
        self.visible_teams = dashboard_teams(person)
        self.fields["team"].queryset = self.visible_teams
        if person.role in ALL_TEAMS_ROLES:
            self.fields["team"].empty_label = "all teams"

    def clean(self):
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if (starts_on is None) != (ends_on is None) and not self.errors:
            missing = "ends_on" if ends_on is None else "starts_on"
            self.add_error(missing, "Give both days of a period, or neither.")
        elif starts_on and ends_on:
            if ends_on < starts_on:
                self.add_error("ends_on", "The period must not end before it starts.")
            elif (ends_on - starts_on).days >= LONGEST_PERIOD_DAYS:
                self.add_error("ends_on", "A period is at most two years.")
        return cleaned

    def scope(self) -> Scope:
        """The scope asked for, or the default one when the form is refused."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("starts_on") and data.get("ends_on"):
            starts_on, ends_on = data["starts_on"], data["ends_on"]
        else:
            days = data.get("days") or self.DEFAULT_DAYS
            ends_on = self.today
            starts_on = ends_on - timedelta(days=days - 1)
        return Scope(
            starts_on, ends_on, self.team_ids(data.get("team")), data.get("segment", "")
        )

    def team_ids(self, team: Team | None) -> frozenset[int] | None:
        if team is not None:
            return frozenset({team.pk})
        if self.person.role in ALL_TEAMS_ROLES:
            return None
        return frozenset(self.visible_teams.values_list("pk", flat=True))
