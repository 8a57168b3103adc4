"""Pages for reps and managers: queues, the lead page, the speed dashboard."""

import csv
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db.models import Exists, F, OuterRef
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from bowtie.access import person_required
from bowtie.models import Person
from bowtie.templatetags.bowtie_format import format_duration
from handoffs import compliance, metrics
from handoffs.charts import (
    UNWORKED_ALERT_RATE,
    count_chart,
    rate_chart,
    response_chart,
)
from handoffs.forms import (
    DashboardFilterForm,
    DispositionForm,
    PublicLeadForm,
    TouchForm,
    is_valid_form_token,
    issue_form_token,
)
from handoffs.models import IntakeChannel, Lead, Milestone
from handoffs.queries import (
    ALL_TEAMS_ROLES,
    MANAGING_ROLES,
    dashboard_teams,
    leads_with_due,
    managed_leads_filter,
    managed_teams,
    visible_leads,
)
from handoffs.services import (
    ActionRefused,
    IntakeRejected,
    accept_lead,
    disposition_lead,
    intake_lead,
    log_touch,
)
from handoffs.timeline import handoff_timeline


def breached_subquery():
    return Exists(
        Milestone.objects.filter(
            handoff__lead=OuterRef("pk"), breached_at__isnull=False
        )
    )


def open_leads_by_deadline(leads):
    """Open leads with their first-response due time, the nearest first."""
    return (
        leads_with_due(leads.filter(status__in=Lead.OPEN_STATUSES))
        .annotate(is_breached=breached_subquery())
        .order_by(F("first_response_due_at").asc(nulls_last=True), "received_at")
    )


@person_required()
def my_queue(request, person):
    leads = open_leads_by_deadline(Lead.objects.filter(owner=person))
    return render(request, "handoffs/my_queue.html", {"leads": leads})


TEAM_QUEUE_LIMIT = 500


@person_required(*MANAGING_ROLES)
def team_queue(request, person):
    teams = list(managed_teams(person))
    managed = managed_leads_filter(person)
    leads = list(
        open_leads_by_deadline(Lead.objects.filter(managed))[:TEAM_QUEUE_LIMIT]
    )
    breaches = (
        Milestone.objects.filter(
            managed_leads_filter(person, prefix="handoff__lead__"),
            breached_at__isnull=False,
            met_at__isnull=True,
        )
        .select_related("handoff__lead", "handoff__receiver")
        .order_by("-breached_at")[:50]
    )
    return render(
        request,
        "handoffs/team_queue.html",
        {
            "leads": leads,
            "is_truncated": len(leads) == TEAM_QUEUE_LIMIT,
            "queued": [lead for lead in leads if lead.owner_id is None],
            "breaches": breaches,
            "teams": teams,
            "show_team": len(teams) > 1,
            "now": timezone.now(),
        },
    )


def get_visible_lead(person: Person, pk: int) -> Lead:
    return get_object_or_404(visible_leads(person).distinct(), pk=pk)


ENGAGEMENT_LABELS = {
    "visits": "Visits",
    "time_on_site_seconds": "Time on site",
    "page_views_per_visit": "Pages per visit",
    "last_activity": "Last activity",
}


def engagement_facts(engagement: dict) -> list[tuple[str, str]]:
    """The engagement figures of a lead as (label, value) pairs to show."""
    facts = []
    for key, value in engagement.items():
        label = ENGAGEMENT_LABELS.get(key, key.replace("_", " ").capitalize())
        if key == "time_on_site_seconds":
            value = format_duration(value)
        elif isinstance(value, float):
            value = f"{value:g}"
        facts.append((label, value))
    return facts


@person_required()
def lead_detail(request, person, pk):
    lead = get_visible_lead(person, pk)
    handoff = (
        lead.handoffs.prefetch_related("milestones").order_by("-opened_at").first()
    )
    decision = lead.decisions.select_related("rule", "team", "person").first()
    context = {
        "lead": lead,
        "handoff": handoff,
        "milestones": handoff.milestones.all() if handoff else [],
        "timeline": handoff_timeline(handoff) if handoff else [],
        "decision": decision,
        "touches": lead.touches.select_related("actor"),
        "engagement": engagement_facts(lead.engagement),
        "packet": handoff.packet if handoff else {},
        "history": lead.history.select_related("history_user")[:20],
        "touch_form": TouchForm(),
        "disposition_form": DispositionForm(),
        "now": timezone.now(),
        "can_accept": handoff is not None and handoff.state == "open" and lead.is_open,
    }
    return render(request, "handoffs/lead_detail.html", context)


def run_lead_action(request, action, success: str):
    try:
        action()
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, success)


@require_POST
@person_required()
def lead_accept(request, person, pk):
    lead = get_visible_lead(person, pk)
    run_lead_action(request, lambda: accept_lead(lead, person), "Lead accepted.")
    return redirect("lead-detail", pk=pk)


@require_POST
@person_required()
def lead_touch(request, person, pk):
    lead = get_visible_lead(person, pk)
    form = TouchForm(request.POST)
    if form.is_valid():
        run_lead_action(
            request,
            lambda: log_touch(
                lead, person, form.cleaned_data["kind"], form.cleaned_data["notes"]
            ),
            "Touch logged.",
        )
    else:
        messages.error(request, "Choose what kind of touch this was.")
    return redirect("lead-detail", pk=pk)


@require_POST
@person_required()
def lead_disposition(request, person, pk):
    lead = get_visible_lead(person, pk)
    form = DispositionForm(request.POST)
    if form.is_valid():
        run_lead_action(
            request,
            lambda: disposition_lead(
                lead, person, form.cleaned_data["status"], form.cleaned_data["reason"]
            ),
            f"Cycle closed: {Lead.Status(form.cleaned_data['status']).label}.",
        )
    else:
        # The message names the field: it is shown away from the form.
        for name, errors in form.errors.items():
            field = form.fields.get(name)
            label = (
                (field.label or name.replace("_", " ").capitalize()) if field else ""
            )
            text = " ".join(errors)
            messages.error(request, f"{label}: {text}" if label else text)
    return redirect("lead-detail", pk=pk)


@person_required()
def speed_to_lead(request, person):
    now = timezone.now()
    teams = dashboard_teams(person)
    filters = DashboardFilterForm(
        {"days": DashboardFilterForm.DEFAULT_DAYS, **request.GET.dict()}, teams=teams
    )
    days, team = filters.filters()
    since, until = now - timedelta(days=days), now
    leads = metrics.leads_in_period(since, until, team)
    if person.role not in ALL_TEAMS_ROLES:
        leads = leads.filter(team__in=teams)
    stats = metrics.speed_to_lead(leads, now)

    if request.GET.get("format") == "csv":
        return speed_to_lead_csv(stats, since, until)

    export_query = {"days": days, "format": "csv"}
    if team is not None:
        export_query["team"] = team.pk
    context = {
        "filters": filters,
        "since": since,
        "until": until,
        "team": team,
        "stats": stats,
        "overall": stats.overall,
        "unworked_alert_rate": UNWORKED_ALERT_RATE,
        "is_unworked_alert": (stats.overall.unworked_rate or 0) > UNWORKED_ALERT_RATE,
        "type_chart": response_chart(stats.by_lead_type),
        "team_chart": response_chart(stats.by_team),
        "unworked_chart": rate_chart(
            stats.by_team, "unworked_rate", alert_above=UNWORKED_ALERT_RATE
        ),
        "conversion_chart": rate_chart(stats.by_lead_type, "conversion_rate"),
        "types_without_response": [
            row.label for row in stats.by_lead_type if row.median_seconds is None
        ],
        "teams_without_response": [
            row.label for row in stats.by_team if row.median_seconds is None
        ],
        "export_query": urlencode(export_query),
    }
    return render(request, "handoffs/speed_to_lead.html", context)


CSV_COLUMNS = [
    "group",
    "name",
    "leads",
    "responded",
    "median_seconds",
    "p90_seconds",
    "business_median_seconds",
    "business_p90_seconds",
    "unworked",
    "unworked_rate",
    "qualified",
    "closed",
    "conversion_rate",
]


def csv_number(value: float | None, places: int) -> str:
    """A number for a spreadsheet: no exponent, no trailing zeros, "" if unknown."""
    if value is None:
        return ""
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


def speed_to_lead_csv(stats: metrics.SpeedToLead, since, until) -> HttpResponse:
    """The dashboard's figures, one row per group; seconds and rates unformatted."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = (
        f"speed-to-lead-{timezone.localdate(since):%Y-%m-%d}"
        f"-to-{timezone.localdate(until):%Y-%m-%d}.csv"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    groups = [
        ("all", [stats.overall]),
        ("lead type", stats.by_lead_type),
        ("team", stats.by_team),
    ]
    for group, rows in groups:
        for row in rows:
            writer.writerow(
                [
                    group,
                    row.label,
                    row.lead_count,
                    row.responded_count,
                    csv_number(row.median_seconds, 1),
                    csv_number(row.p90_seconds, 1),
                    csv_number(row.business_median_seconds, 1),
                    csv_number(row.business_p90_seconds, 1),
                    row.unworked_count,
                    csv_number(row.unworked_rate, 4),
                    row.qualified_count,
                    row.closed_count,
                    csv_number(row.conversion_rate, 4),
                ]
            )
    return response


@csrf_exempt  # Embedded on other sites: the signed form token stands in.
@xframe_options_exempt
def public_form(request):
    if request.method != "POST":
        # The embedding site may preset the language of its pages: ?language=de
        initial = {"language": request.GET.get("language", "")}
        return render_public_form(request, PublicLeadForm(initial=initial))

    if is_ratelimited(
        request,
        group="public-form",
        key="ip",
        rate=settings.BOWTIE_FORM_RATE_LIMIT,
        increment=True,
    ):
        return render(request, "handoffs/public_form_limited.html", status=429)

    form = PublicLeadForm(request.POST)
    if not is_valid_form_token(request.POST.get("form_token", "")):
        form.add_error(None, "This form expired. Reload the page and send it again.")
        return render_public_form(request, form, status=400)
    if not form.is_valid():
        return render_public_form(request, form, status=400)
    if form.cleaned_data["website"]:
        # A bot filled the trap: answer as if it worked, store nothing.
        return redirect("public-form-thanks")

    submission = {k: v for k, v in form.cleaned_data.items() if k != "website"}
    try:
        intake_lead(submission, channel=IntakeChannel.FORM)
    except IntakeRejected as rejected:
        for field, errors in rejected.errors.items():
            form.add_error(field if field in form.fields else None, " ".join(errors))
        return render_public_form(request, form, status=400)
    return redirect("public-form-thanks")


def render_public_form(request, form, status=200):
    return render(
        request,
        "handoffs/public_form.html",
        {"form": form, "form_token": issue_form_token()},
        status=status,
    )


@xframe_options_exempt
def public_form_thanks(request):
    return render(request, "handoffs/public_form_thanks.html")


@person_required()
def sla_compliance(request, person):
    """The weekly SLA compliance of every team the viewer may see."""
    now = timezone.now()
    this_week = compliance.Week.of(timezone.localdate(now))
    # This week so far by default: the Monday e-mail covers the week before.
    try:
        week = compliance.Week.parse(request.GET.get("week") or str(this_week))
    except ValueError as error:
        messages.error(request, f"Week: {error}")
        week = this_week
    teams = dashboard_teams(person).order_by("name")
    reports = [compliance.team_compliance(team, week) for team in teams]

    if request.GET.get("format") == "csv":
        return sla_compliance_csv(reports, week)

    context = {
        "week": week,
        "is_this_week": week == this_week,
        "previous_week": week.previous,
        "next_week": week.next if week.next.monday <= this_week.monday else None,
        "reports": reports,
        "compliance_chart": rate_chart(reports, "compliance_rate"),
        "breach_chart": count_chart(reports, "breach_count", alert_above_zero=True),
        "export_query": urlencode({"week": str(week), "format": "csv"}),
    }
    return render(request, "handoffs/sla_compliance.html", context)


COMPLIANCE_CSV_COLUMNS = [
    "week",
    "team",
    "clocks_due",
    "on_time",
    "compliance_rate",
    "breaches",
    "managers_told",
    "escalations",
    "reassignments",
    "leads",
    "responded",
    "business_median_seconds",
    "median_seconds",
    "worst_offenders",
]


def sla_compliance_csv(reports, week) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="sla-compliance-{week}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(COMPLIANCE_CSV_COLUMNS)
    for report in reports:
        writer.writerow(
            [
                str(week),
                report.team.name,
                report.due_count,
                report.on_time_count,
                csv_number(report.compliance_rate, 4),
                report.breach_count,
                report.managers_told_count,
                report.escalation_count,
                report.reassignment_count,
                report.response.lead_count,
                report.response.responded_count,
                csv_number(report.response.business_median_seconds, 1),
                csv_number(report.response.median_seconds, 1),
                "; ".join(
                    f"{offender.name} ({offender.breach_count})"
                    for offender in report.worst_offenders
                ),
            ]
        )
    return response
