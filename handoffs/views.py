"""Pages for reps and managers: queues, the lead page, the speed dashboard."""

import csv
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from bowtie.models import Person, Team
from handoffs import metrics
from handoffs.charts import rate_chart, response_chart
from handoffs.forms import (
    DispositionForm,
    PublicLeadForm,
    TouchForm,
    is_valid_form_token,
    issue_form_token,
)
from handoffs.models import IntakeChannel, Lead, Milestone
from handoffs.queries import leads_with_due
from handoffs.services import (
    ActionRefused,
    IntakeRejected,
    accept_lead,
    disposition_lead,
    intake_lead,
    log_touch,
)

MANAGING_ROLES = (Person.Role.MANAGER, Person.Role.REVOPS_ADMIN)


def person_required(*roles):
    """Let in signed-in people, optionally only those with one of `roles`."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            person = getattr(request.user, "person", None)
            if person is None or (roles and person.role not in roles):
                raise PermissionDenied
            return view(request, person, *args, **kwargs)

        return wrapper

    return decorator


def managed_teams(person: Person):
    if person.role == Person.Role.REVOPS_ADMIN:
        return Team.objects.all()
    headed = Team.objects.filter(head=person)
    return Team.objects.filter(
        pk__in=headed.values("pk").union(
            Team.objects.filter(parent__in=headed).values("pk"),
            Team.objects.filter(pk=person.team_id).values("pk"),
        )
    )


def visible_leads(person: Person):
    if person.role in MANAGING_ROLES:
        return Lead.objects.filter(team__in=managed_teams(person)) | Lead.objects.filter(
            owner=person
        )
    return Lead.objects.filter(owner=person) | Lead.objects.filter(
        owner__isnull=True, team=person.team_id
    )


def breached_subquery():
    return Exists(
        Milestone.objects.filter(handoff__lead=OuterRef("pk"), breached_at__isnull=False)
    )


@person_required()
def my_queue(request, person):
    leads = (
        leads_with_due(Lead.objects.filter(owner=person, status__in=Lead.OPEN_STATUSES))
        .annotate(is_breached=breached_subquery())
        .order_by(F("first_response_due_at").asc(nulls_last=True), "received_at")
    )
    return render(request, "handoffs/my_queue.html", {"leads": leads, "now": timezone.now()})


@person_required(*MANAGING_ROLES)
def team_queue(request, person):
    teams = managed_teams(person)
    leads = (
        leads_with_due(Lead.objects.filter(team__in=teams, status__in=Lead.OPEN_STATUSES))
        .annotate(is_breached=breached_subquery())
        .order_by(F("first_response_due_at").asc(nulls_last=True), "received_at")
    )
    breaches = (
        Milestone.objects.filter(
            handoff__lead__team__in=teams, breached_at__isnull=False, met_at__isnull=True
        )
        .select_related("handoff__lead", "handoff__receiver")
        .order_by("-breached_at")[:50]
    )
    return render(
        request,
        "handoffs/team_queue.html",
        {
            "leads": leads[:500],
            "queued": [lead for lead in leads[:500] if lead.owner_id is None],
            "breaches": breaches,
            "teams": teams,
            "now": timezone.now(),
        },
    )


def get_visible_lead(person: Person, pk: int) -> Lead:
    return get_object_or_404(visible_leads(person).distinct(), pk=pk)


@person_required()
def lead_detail(request, person, pk):
    lead = get_visible_lead(person, pk)
    handoff = lead.handoffs.prefetch_related("milestones").order_by("-opened_at").first()
    decision = lead.decisions.select_related("rule", "team", "person").first()
    context = {
        "lead": lead,
        "handoff": handoff,
        "milestones": handoff.milestones.all() if handoff else [],
        "decision": decision,
        "touches": lead.touches.select_related("actor"),
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
            lambda: log_touch(lead, person, form.cleaned_data["kind"],
                              form.cleaned_data["notes"]),
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
            lambda: disposition_lead(lead, person, form.cleaned_data["status"],
                                     form.cleaned_data["reason"]),
            "Lead dispositioned.",
        )
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect("lead-detail", pk=pk)


PERIODS = {"7": 7, "30": 30, "90": 90, "365": 365}


@person_required()
def speed_to_lead(request, person):
    now = timezone.now()
    days = PERIODS.get(request.GET.get("days", "30"), 30)
    since, until = now - timedelta(days=days), now
    team = None
    if request.GET.get("team"):
        team = Team.objects.filter(pk=request.GET["team"]).first()
    leads = metrics.leads_in_period(since, until, team)

    by_type = metrics.response_by_lead_type(leads)
    by_team = metrics.response_by_team(leads)
    overall = metrics.overall_response(leads)
    unworked, live = metrics.unworked_rate(leads, now)
    qualified, closed = metrics.conversion_rate(leads)

    if request.GET.get("format") == "csv":
        return speed_to_lead_csv(by_type, by_team)

    context = {
        "days": days,
        "team": team,
        "teams": Team.objects.all(),
        "overall": overall,
        "by_type": by_type,
        "by_team": by_team,
        "unworked": unworked,
        "live": live,
        "unworked_rate": metrics.share(unworked, live),
        "qualified": qualified,
        "closed": closed,
        "conversion_rate": metrics.share(qualified, closed),
        "type_chart": response_chart("Time to first response by lead type", by_type),
        "team_chart": response_chart("Time to first response by team", by_team),
        "rate_chart": rate_chart(
            metrics.share(unworked, live), metrics.share(qualified, closed)
        ),
        "query": request.GET.urlencode(),
    }
    return render(request, "handoffs/speed_to_lead.html", context)


def speed_to_lead_csv(by_type, by_team) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="speed-to-lead.csv"'
    writer = csv.writer(response)
    writer.writerow(["group", "name", "leads", "responded", "median_seconds",
                     "p90_seconds"])
    for group, rows in (("lead type", by_type), ("team", by_team)):
        for row in rows:
            writer.writerow([group, row.label, row.lead_count, row.responded_count,
                             row.median_seconds, row.p90_seconds])
    return response


@csrf_exempt  # Embedded on other sites: the signed form token stands in.
@xframe_options_exempt
def public_form(request):
    if request.method != "POST":
        return render_public_form(request, PublicLeadForm())

    if is_ratelimited(request, group="public-form", key="ip",
                      rate=settings.BOWTIE_FORM_RATE_LIMIT, increment=True):
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
