"""Weekly SLA compliance per team: what ran late, who was told, who was moved.

A week is an ISO week, Monday 00:00 to the next Monday 00:00 in the team's own
zone. The figures cover the handoffs the team received:

- Clocks due: milestones whose due time fell in the week; on time, those met
  by their due time; compliance, on time over due.
- Breaches: milestones breached in the week, by owner for the worst offenders.
- Managers told, escalations: ladder rungs that fired in the week.
- Reassignments: leads the ladder moved to someone else in the week.
- Response: first responses to the week's leads, in business and elapsed time.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F
from django.urls import reverse

from bowtie.models import Notification, Team, Topic
from bowtie.notifications import notify
from bowtie.templatetags.bowtie_format import format_duration
from handoffs import metrics
from handoffs.models import EscalationRule, LadderStep, Milestone, RoutingDecision

logger = logging.getLogger(__name__)

WORST_OFFENDER_COUNT = 5


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @classmethod
    def of(cls, day: date) -> "Week":
        year, number, _ = day.isocalendar()
        return cls(year, number)

    @classmethod
    def parse(cls, text: str) -> "Week":
        """Read "2027-W13"; raise ValueError naming the form otherwise."""
        try:
            year, number = text.split("-W")
            week = cls(int(year), int(number))
            # Week 53 of a year with 52 is refused here.
            date.fromisocalendar(week.year, week.number, 1)
        except ValueError as error:
            raise ValueError(f"{text!r} is not a week like 2027-W13.") from error
        return week

    def __str__(self):
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def previous(self) -> "Week":
        return Week.of(self.monday - timedelta(days=7))

    @property
    def next(self) -> "Week":
        return Week.of(self.monday + timedelta(days=7))

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The week's start and end in UTC, midnight to midnight in `zone`."""
        start = datetime.combine(self.monday, time(0), tzinfo=zone)
        end = datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class Offender:
    name: str
    breach_count: int


@dataclass(frozen=True)
class TeamCompliance:
    team: Team
    week: Week
    since: datetime
    until: datetime
    due_count: int
    on_time_count: int
    breach_count: int
    managers_told_count: int
    escalation_count: int
    reassignment_count: int
    response: metrics.GroupStats
    worst_offenders: list[Offender]

    @property
    def label(self) -> str:
        return self.team.name

    @property
    def is_quiet(self) -> bool:
        """Nothing was due, nothing ran late and no lead came in."""
        return not (self.due_count or self.breach_count or self.response.lead_count)

    @property
    def compliance_rate(self) -> float | None:
        return metrics.share(self.on_time_count, self.due_count)


def team_compliance(team: Team, week: Week) -> TeamCompliance:
    since, until = week.bounds(ZoneInfo(team.time_zone))
    milestones = Milestone.objects.filter(handoff__receiving_team=team)

    due = milestones.filter(due_at__gte=since, due_at__lt=until)
    breached = milestones.filter(breached_at__gte=since, breached_at__lt=until)
    fired = LadderStep.objects.filter(
        milestone__handoff__receiving_team=team,
        fired=True,
        taken_at__gte=since,
        taken_at__lt=until,
    )
    offenders = Counter(
        name or "Nobody (team queue)"
        for name in breached.values_list("owner_at_breach__full_name", flat=True)
    )
    leads = metrics.leads_in_period(since, until, team=team)
    return TeamCompliance(
        team=team,
        week=week,
        since=since,
        until=until,
        due_count=due.count(),
        on_time_count=due.filter(met_at__lte=F("due_at")).count(),
        breach_count=breached.count(),
        managers_told_count=fired.filter(
            action=EscalationRule.Action.NOTIFY_MANAGER
        ).count(),
        escalation_count=fired.filter(action=EscalationRule.Action.ESCALATE).count(),
        reassignment_count=RoutingDecision.objects.filter(
            lead__team=team,
            step=RoutingDecision.Step.SLA_REASSIGNMENT,
            decided_at__gte=since,
            decided_at__lt=until,
        ).count(),
        response=metrics.group_stats(team.name, leads, until),
        worst_offenders=[
            Offender(name, count)
            for name, count in sorted(offenders.items(), key=lambda i: (-i[1], i[0]))[
                :WORST_OFFENDER_COUNT
            ]
        ],
    )


def last_finished_week(team: Team, now: datetime) -> Week:
    """The latest week that has ended in the team's zone."""
    return Week.of(now.astimezone(ZoneInfo(team.time_zone)).date()).previous


# Reports go out on Monday morning in the team's zone, once the late-night
# breaches of Sunday are in.
REPORT_HOUR = 7


def report_week_due(team: Team, now: datetime) -> Week:
    """The week whose report is due: last week from Monday 07:00 local on."""
    local = now.astimezone(ZoneInfo(team.time_zone)) - timedelta(hours=REPORT_HOUR)
    return Week.of(local.date()).previous


def report_event_key(team: Team, week: Week) -> str:
    return f"sla-report:{team.pk}:{week}"


def send_weekly_compliance_reports(now: datetime) -> dict:
    """E-mail each team head the report of the week just ended, once.

    Safe to run at any time and as often as liked: the event key makes a
    second report of the same week a no-op, and a scheduler that was down on
    Monday sends it at its next run.
    """
    sent = 0
    for team in Team.objects.select_related("head").exclude(head=None):
        week = report_week_due(team, now)
        key = report_event_key(team, week)
        if Notification.objects.filter(recipient=team.head, event_key=key).exists():
            continue

        report = team_compliance(team, week)
        if report.is_quiet:
            continue
        with transaction.atomic():
            notify(
                team.head,
                event_key=key,
                topic=Topic.REPORT,
                subject=f"SLA compliance of {team}, week {week}: "
                f"{format_rate(report.compliance_rate)} on time",
                body=report_text(report),
                url=f"{reverse('sla-compliance')}?{urlencode({'week': str(week)})}",
                now=now,
            )
        sent += 1
        logger.info("compliance report of team %s for %s sent", team.pk, week)
    return {"sent": sent}


def format_rate(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.0f} %"


def report_text(report: TeamCompliance) -> str:
    response = report.response
    first_day = report.week.monday
    last_day = first_day + timedelta(days=6)
    lines = [
        f"{report.team}, {report.week} ({first_day:%d %b} to {last_day:%d %b %Y}, "
        f"{report.team.time_zone}).",
        "",
        f"Clocks due: {report.due_count}, on time: {report.on_time_count} "
        f"({format_rate(report.compliance_rate)}).",
        f"Breaches: {report.breach_count}. Managers told: "
        f"{report.managers_told_count}. Escalations: {report.escalation_count}. "
        f"Reassignments: {report.reassignment_count}.",
        f"Median first response: {format_duration(response.business_median_seconds)} "
        f"in business time, {format_duration(response.median_seconds)} elapsed "
        f"({response.responded_count} of {response.lead_count} leads responded).",
    ]
    if report.worst_offenders:
        lines += ["", "Most breaches:"]
        lines += [
            f"- {offender.name}: {offender.breach_count}"
            for offender in report.worst_offenders
        ]
    return "\n".join(lines)
