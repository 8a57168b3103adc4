"""Vendor pages about engagements: what the partner logged, seen at once.

The engagement list and page, the assignment of a partner from the handoff
page and at Closed Won, the implementation side's forms for milestones,
readiness and sessions, the hand-over to customer success with its CS
packet (the partner area's section, `partners.cs_packet_forms`), the thread
shared with the partner, and the partner scorecard. Every write goes through
`partners.services` or `partners.handover`; a refusal comes back on the
field it names.
"""

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bowtie.access import person_required
from bowtie.models import Person
from handoffs.account_views import visible_accounts
from handoffs.charts import count_chart, rate_chart
from handoffs.models import Handoff
from handoffs.queries import visible_deals, visible_handoffs
from handoffs.services import ActionRefused
from handoffs.views import csv_number
from partners import scorecard
from partners.actors import actor_for_person
from partners.cs_packet_forms import (
    HAND_OVER,
    SAVE,
    SEND_AGAIN,
    CsPacketRefused,
    cs_packet_section,
    post_cs_packet,
)
from partners.models import (
    Engagement,
    ImplementationMilestone,
    Partner,
    ReadinessCondition,
)
from partners.queries import can_work_engagement, visible_engagements
from partners.services import (
    FieldsRefused,
    ReadinessIncomplete,
    add_comment,
    assign_partner,
    log_milestone,
    log_session,
    update_readiness,
)
from partners.templatetags.engagements import panel_context
from partners.vendor_forms import (
    AssignPartnerForm,
    CommentForm,
    EngagementFilterForm,
    MilestoneForm,
    ReadinessForm,
    SessionForm,
)

ENGAGEMENTS_PER_PAGE = 50

# The kickoff form's answer for the attendance recorded.
ATTENDED = {True: "yes", False: "no"}

SCORECARD_ROLES = (
    Person.Role.MANAGER,
    Person.Role.REVOPS_ADMIN,
    Person.Role.IMPLEMENTATION,
)


class AssignmentRefused(ActionRefused):
    """The partner chosen at Closed Won could not be assigned: not closed."""


def add_refusal(form, refused: ActionRefused) -> None:
    """Put a service's refusal on the form: each reason on the field it names."""
    if isinstance(refused, FieldsRefused):
        for name, reason in refused.errors.items():
            form.add_error(name if name in form.fields else None, reason)
    else:
        form.add_error(None, str(refused))


def get_visible_engagement(person: Person, pk: int) -> Engagement:
    engagements = visible_engagements(actor_for_person(person)).select_related(
        "deal__stage",
        "account",
        "partner",
        "ae",
        "implementation_lead",
        "assigned_by",
        "handoff",
        "cs_handoff",
    )
    return get_object_or_404(engagements, pk=pk)


def detail_url(engagement: Engagement, anchor: str) -> str:
    return f"{reverse('engagement-detail', args=[engagement.pk])}#{anchor}"


@person_required()
def engagement_list(request, person):
    """The engagements the person may see, filtered by partner and status."""
    partners = list(Partner.objects.order_by("name"))
    filters = EngagementFilterForm(request.GET, partners=partners)
    engagements = (
        filters.filter(visible_engagements(actor_for_person(person)))
        .select_related("deal", "account", "partner", "ae", "implementation_lead")
        .prefetch_related("milestones")
        .order_by("-assigned_at", "-pk")
    )
    page = Paginator(engagements, ENGAGEMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "partners/vendor/engagement_list.html",
        {"filters": filters, "page": page, "query": query.urlencode()},
    )


@person_required()
def engagement_detail(request, person, pk):
    return engagement_page(request, person, get_visible_engagement(person, pk))


def engagement_page(request, person, engagement, bound=None, status=200):
    """The page, with the implementation side's forms; `bound` holds a posted
    form to show with its errors, keyed as the page keys its forms."""
    bound = bound or {}
    is_implementing = can_work_engagement(actor_for_person(person), engagement)
    can_work = is_implementing and engagement.status != Engagement.Status.HANDED_TO_CS
    # The CS packet outlives the other forms: it opens again when customer
    # success sends its handoff back.
    cs_packet = (
        cs_packet_section(engagement, bound.get("cs_packet"))
        if is_implementing
        else None
    )
    milestones = list(engagement.milestones.all())
    milestone_forms = [
        {
            "milestone": milestone,
            "form": bound.get(("milestone", milestone.kind))
            or MilestoneForm(
                kind=milestone.kind,
                prefix=milestone.kind,
                # The day done is left empty, so keeping it: posted again it
                # would log go-live twice, or ask again about the AE.
                initial={
                    "planned_on": milestone.planned_on,
                    "notes": milestone.notes,
                    "ae_attended": ATTENDED.get(engagement.ae_attended_kickoff),
                },
            ),
        }
        for milestone in milestones
    ]
    readiness = [
        {
            "condition": condition,
            "form": bound.get(("readiness", condition.key))
            or ReadinessForm(
                prefix=condition.key,
                initial={
                    "owner_name": condition.owner_name,
                    "evidence": condition.evidence,
                    "is_met": condition.is_met,
                },
            ),
        }
        for condition in engagement.readiness.all()
    ]
    context = {
        "engagement": engagement,
        "deal": engagement.deal,
        "can_work": can_work,
        "milestones": milestones,
        "milestone_forms": milestone_forms,
        "readiness": readiness,
        "met_count": sum(row["condition"].is_met for row in readiness),
        "comments": engagement.comments.all(),
        "comment_form": bound.get("comment") or CommentForm(),
        "sessions": engagement.sessions.prefetch_related("invited", "attended"),
        "session_form": bound.get("session")
        or SessionForm(engagement=engagement, prefix="session"),
        "can_open_deal": visible_deals(person).filter(pk=engagement.deal_id).exists(),
        "can_open_account": engagement.account_id is not None
        and visible_accounts(person).filter(pk=engagement.account_id).exists(),
        "can_open_handoff": visible_handoffs(person)
        .filter(pk=engagement.handoff_id)
        .exists(),
        "cs_packet": cs_packet,
        "cs_handoff_url": cs_handoff_url(person, engagement) if cs_packet else "",
    }
    return render(
        request, "partners/vendor/engagement_detail.html", context, status=status
    )


def cs_handoff_url(person: Person, engagement: Engagement) -> str:
    handoff_id = engagement.cs_handoff_id
    if (
        handoff_id is None
        or not visible_handoffs(person).filter(pk=handoff_id).exists()
    ):
        return ""
    return reverse("handoff-detail", args=[handoff_id])


def refused_page(request, person, engagement, key, form, refused: ActionRefused):
    """Show a refusal tied to the form on the form; any other as a message."""
    if isinstance(refused, (FieldsRefused, ReadinessIncomplete)):
        add_refusal(form, refused)
        return engagement_page(request, person, engagement, {key: form}, status=400)
    messages.error(request, str(refused))
    return redirect("engagement-detail", pk=engagement.pk)


@require_POST
@person_required()
def engagement_log_milestone(request, person, pk, kind):
    engagement = get_visible_engagement(person, pk)
    if kind not in ImplementationMilestone.Kind.values:
        raise Http404
    key = ("milestone", kind)
    form = MilestoneForm(request.POST, kind=kind, prefix=kind)
    if not form.is_valid():
        return engagement_page(request, person, engagement, {key: form}, status=400)

    data = form.cleaned_data
    try:
        milestone = log_milestone(
            engagement,
            kind,
            actor_for_person(person),
            planned_on=data["planned_on"],
            actual_on=data["actual_on"],
            notes=data["notes"],
            ae_attended=data.get("ae_attended"),
        )
    except ActionRefused as refused:
        return refused_page(request, person, engagement, key, form, refused)

    messages.success(request, f"{milestone.get_kind_display()} logged.")
    return redirect(detail_url(engagement, f"milestone-{kind}"))


@require_POST
@person_required()
def engagement_update_readiness(request, person, pk, key):
    engagement = get_visible_engagement(person, pk)
    if key not in ReadinessCondition.Key.values:
        raise Http404
    form_key = ("readiness", key)
    form = ReadinessForm(request.POST, prefix=key)
    if not form.is_valid():
        return engagement_page(
            request, person, engagement, {form_key: form}, status=400
        )

    try:
        condition = update_readiness(
            engagement, key, actor_for_person(person), **form.cleaned_data
        )
    except ActionRefused as refused:
        return refused_page(request, person, engagement, form_key, form, refused)

    state = "met" if condition.is_met else "not met"
    messages.success(request, f"{condition.get_key_display()}: {state}.")
    return redirect(detail_url(engagement, f"readiness-{key}"))


@require_POST
@person_required()
def engagement_comment(request, person, pk):
    engagement = get_visible_engagement(person, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return engagement_page(
            request, person, engagement, {"comment": form}, status=400
        )

    try:
        comment = add_comment(
            engagement, actor_for_person(person), form.cleaned_data["body"]
        )
    except ActionRefused as refused:
        return refused_page(request, person, engagement, "comment", form, refused)

    messages.success(request, "Posted to the thread; the partner sees it.")
    return redirect(detail_url(engagement, f"comment-{comment.pk}"))


@require_POST
@person_required()
def engagement_log_session(request, person, pk):
    engagement = get_visible_engagement(person, pk)
    form = SessionForm(request.POST, engagement=engagement, prefix="session")
    if not form.is_valid():
        return engagement_page(
            request, person, engagement, {"session": form}, status=400
        )

    data = form.cleaned_data
    try:
        log_session(
            engagement,
            actor_for_person(person),
            kind=data["kind"],
            title=data["title"],
            held_on=data["held_on"],
            invited=list(data["invited"]),
            attended=list(data["attended"]),
        )
    except ActionRefused as refused:
        return refused_page(request, person, engagement, "session", form, refused)

    messages.success(request, "Session logged.")
    return redirect(detail_url(engagement, "sessions"))


def cs_packet_post(request, person, pk, action: str):
    """Save the CS packet as posted, then hand it over or send it again if asked.

    A refusal comes back in the section with the packet as typed; to someone
    who does not work the engagement, and so has no section, as a message.
    """
    engagement = get_visible_engagement(person, pk)
    actor = actor_for_person(person)
    try:
        done = post_cs_packet(engagement, actor, request.POST, action)
    except CsPacketRefused as refused:
        if not can_work_engagement(actor, engagement):
            messages.error(request, str(refused))
            return redirect("engagement-detail", pk=pk)
        # Read again: the post may have saved the draft, or met a hand-over
        # made meanwhile.
        engagement = get_visible_engagement(person, pk)
        return engagement_page(
            request, person, engagement, {"cs_packet": refused.post}, status=400
        )

    messages.success(request, done)
    return redirect(detail_url(engagement, "hand-over"))


@require_POST
@person_required()
def engagement_save_cs_packet(request, person, pk):
    return cs_packet_post(request, person, pk, SAVE)


@require_POST
@person_required()
def engagement_hand_over(request, person, pk):
    """Hand the account to customer success now, in-house or on the partner's
    behalf; hypercare's end is then recorded as done today."""
    return cs_packet_post(request, person, pk, HAND_OVER)


@require_POST
@person_required()
def engagement_send_again(request, person, pk):
    """Send the CS handoff customer success sent back again: the lead who
    handed it over or their manager, as `resubmit_cs_handoff` allows."""
    return cs_packet_post(request, person, pk, SEND_AGAIN)


@require_POST
@person_required()
def handoff_assign_partner(request, person, pk):
    """Assign a partner, or our own team, from the handoff page."""
    handoffs = visible_handoffs(person).filter(
        kind=Handoff.Kind.SALES_TO_IMPLEMENTATION
    )
    handoff = get_object_or_404(
        handoffs.select_related("deal__stage", "receiver", "receiving_team__head"),
        pk=pk,
    )
    form = AssignPartnerForm(request.POST)
    if form.is_valid():
        try:
            engagement = assign_partner(
                handoff,
                actor_for_person(person),
                form.cleaned_data["partner"],
                form.cleaned_data["implementation_lead"],
            )
        except FieldsRefused as refused:
            add_refusal(form, refused)
        except ActionRefused as refused:
            messages.error(request, str(refused))
            return redirect("handoff-detail", pk=pk)
        else:
            messages.success(
                request,
                f"{engagement.delivered_by} delivers the implementation, led by "
                f"{engagement.implementation_lead or 'nobody yet'}.",
            )
            return redirect("handoff-detail", pk=pk)

    context = panel_context(handoff, person, form=form)
    # Shown even to someone who may not assign, since they posted it.
    context |= {"can_assign": True, "form": form}
    return render(request, "partners/vendor/assign_partner.html", context, status=400)


def assign_at_close(closed, person: Person, data) -> Engagement | None:
    """Assign the partner chosen on the close-won form, if one was.

    Called by the close-won view inside the close's transaction, with the
    `ClosedWon` it got: raising rolls the close back, so a refused
    assignment leaves the deal open. A deal that was won before is left to
    the handoff page.
    """
    form = AssignPartnerForm(data, prefix="assign", is_optional=True)
    if not form.is_valid():
        reasons = " ".join(" ".join(errors) for errors in form.errors.values())
        raise AssignmentRefused(f"Not closed: {reasons}")
    if not form.is_assigning or not closed.is_new:
        return None

    try:
        return assign_partner(
            closed.handoff,
            actor_for_person(person),
            form.cleaned_data["partner"],
            form.cleaned_data["implementation_lead"],
        )
    except ActionRefused as refused:
        raise AssignmentRefused(
            f"Not closed: the implementation could not be assigned. {refused}"
        ) from refused


@person_required(*SCORECARD_ROLES)
def partner_scorecard(request, person):
    """Per partner and in-house: kickoff, milestones, go-live, CS's rating."""
    today = timezone.localdate()
    card = scorecard.partner_scorecard(
        visible_engagements(actor_for_person(person)),
        Partner.objects.order_by("name"),
        today,
    )
    if request.GET.get("format") == "csv":
        return scorecard_csv(card, today)

    rows = card.rows
    context = {
        "today": today,
        "rows": rows,
        "overall": card.overall,
        "kickoff_alert_days": scorecard.KICKOFF_ALERT_DAYS,
        "kickoff_chart": scorecard.kickoff_chart(rows),
        "on_time_chart": rate_chart(rows, "on_time_rate"),
        "go_live_chart": rate_chart(rows, "go_live_rate"),
        "rating_chart": scorecard.rating_chart(rows),
        "count_chart": count_chart(rows, "engagement_count"),
    }
    return render(request, "partners/vendor/scorecard.html", context)


SCORECARD_COLUMNS = [
    "partner",
    "engagements",
    "kickoff_pending",
    "implementing",
    "hypercare",
    "handed_to_cs",
    "kickoffs",
    "median_days_to_kickoff",
    "dated_milestones",
    "milestones_on_time",
    "on_time_rate",
    "go_live_due",
    "gone_live",
    "go_live_rate",
    "rated_handoffs",
    "mean_rating",
]


def scorecard_csv(card: scorecard.Scorecard, today) -> HttpResponse:
    """The scorecard's figures, one row per partner; rates from 0 to 1."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"partner-scorecard-{today:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(SCORECARD_COLUMNS)
    for row in [*card.rows, card.overall]:
        writer.writerow(
            [
                row.label,
                row.engagement_count,
                row.kickoff_pending_count,
                row.implementing_count,
                row.hypercare_count,
                row.handed_to_cs_count,
                row.kickoff_count,
                csv_number(row.median_days_to_kickoff, 1),
                row.dated_milestone_count,
                row.on_time_count,
                csv_number(row.on_time_rate, 4),
                row.go_live_due_count,
                row.gone_live_count,
                csv_number(row.go_live_rate, 4),
                row.rated_count,
                csv_number(row.mean_rating, 2),
            ]
        )
    return response
