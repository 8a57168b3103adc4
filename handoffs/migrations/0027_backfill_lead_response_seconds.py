"""Stamp the first responses recorded before 0026 with their seconds.

Business time is counted on the calendar of the lead's owner as it is when
this runs (the team's for a lead nobody owns): the best that is known of the
hours that held at each response, and what the dashboards showed until now.

The rows are read with this migration's historical models; only the rules
and the arithmetic come from the app (`bowtie.calendars.build_calendar` and
`handoffs.metrics.response_seconds`). Both are pure functions of the rows
passed in and read no table themselves, so a later change to the models
cannot make this migration read columns that do not exist yet; and counting
business time a second way here would make old and new responses disagree.
"""

from django.db import connections, migrations, transaction
from django.db.models import Q

from bowtie.calendars import build_calendar
from handoffs.metrics import response_seconds

BATCH_SIZE = 2000


class Calendars:
    """One calendar per owner and team, read once for the whole backfill."""

    def __init__(self, apps):
        self.people = apps.get_model("bowtie", "Person").objects
        self.teams = apps.get_model("bowtie", "Team").objects
        self.periods = apps.get_model("bowtie", "WorkingPeriod").objects
        self.days_off = apps.get_model("bowtie", "CompanyDayOff").objects
        self.found = {}

    def of(self, owner_id, team_id):
        key = (owner_id, team_id)
        if key not in self.found:
            person = self.people.filter(pk=owner_id).first() if owner_id else None
            team = self.teams.filter(pk=team_id).first() if team_id else None
            # As calendar_for: a lead without a team runs on its owner's team.
            if team is None and person is not None and person.team_id is not None:
                team = self.teams.get(pk=person.team_id)
            owners = Q(pk__in=[])
            if person is not None:
                owners |= Q(person_id=person.pk)
            if team is not None:
                owners |= Q(team_id=team.pk)
            self.found[key] = build_calendar(
                person,
                team,
                periods=self.periods.filter(owners),
                days_off=self.days_off.filter(
                    Q(team_id=None) | Q(team_id=team.pk if team else None)
                ),
            )
        return self.found[key]


def stamp_response_seconds(apps, schema_editor):
    Lead = apps.get_model("handoffs", "Lead")
    unstamped = Lead.objects.filter(
        first_response_at__isnull=False, response_seconds__isnull=True
    ).order_by("pk")
    calendars = Calendars(apps)

    # By pages of primary keys, each read whole before it is written (no
    # cursor stays open on the table while its rows change) and committed on
    # its own: a million leads take minutes, and sales answering a lead must
    # not wait for all of them. A stopped run picks up where it stopped.
    last_pk = 0
    while True:
        rows = list(
            unstamped.filter(pk__gt=last_pk).values_list(
                "pk", "owner_id", "team_id", "received_at", "first_response_at"
            )[:BATCH_SIZE]
        )
        if not rows:
            return
        stamps = []
        for pk, owner_id, team_id, received_at, responded_at in rows:
            elapsed, business = response_seconds(
                calendars.of(owner_id, team_id), received_at, responded_at
            )
            stamps.append((elapsed, business, pk))
        with transaction.atomic(using=unstamped.db):
            write(Lead, stamps)
        last_pk = rows[-1][0]


def write(Lead, stamps):
    # One plain UPDATE per row, sent as a batch: bulk_update's CASE per row
    # costs more to build than a million rows take to write this way.
    with connections[Lead.objects.db].cursor() as cursor:
        cursor.executemany(
            f"UPDATE {Lead._meta.db_table} "
            "SET response_seconds = %s, business_response_seconds = %s "
            "WHERE id = %s",
            stamps,
        )


def clear_response_seconds(apps, schema_editor):
    apps.get_model("handoffs", "Lead").objects.update(
        response_seconds=None, business_response_seconds=None
    )


class Migration(migrations.Migration):
    # Each page of leads commits on its own (see stamp_response_seconds).
    atomic = False

    dependencies = [
        ("bowtie", "0025_default_indicators"),
        ("handoffs", "0026_lead_response_seconds"),
    ]

    operations = [
        migrations.RunPython(stamp_response_seconds, clear_response_seconds),
    ]
