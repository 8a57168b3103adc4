"""The partner area: what a partner's people see and log, under /partner/.

Every page starts from `visible_engagements` of the member's actor, so an
engagement of another partner, and anything hanging off it, answers 404 as
if it did not exist. Vendor people have their own engagement page and are
refused here. Each form posts to its own address and calls one service; a
refusal is shown next to the field it names, with what was typed kept. The
CS packet's section is the vendor page's too (`partners.cs_packet_forms`).
"""

from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import (
    INTERNAL_RESET_SESSION_TOKEN,
    LoginView,
    PasswordResetConfirmView,
)
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from handoffs.closing import packet_items
from handoffs.services import ActionRefused
from partners.actors import actor_for_member
from partners.cs_packet_forms import (
    HAND_OVER,
    SAVE,
    SEND_AGAIN,
    CsPacketPost,
    CsPacketRefused,
    brief_entry,
    cs_packet_section,
    post_cs_packet,
)
from partners.forms import (
    CommentForm,
    ReadinessForm,
    SessionForm,
    milestone_form,
    show_refusal,
)
from partners.invitations import accept_invitation
from partners.models import Engagement, ImplementationMilestone, PartnerMember
from partners.queries import visible_engagements
from partners.services import (
    FieldsRefused,
    add_comment,
    local_today,
    log_milestone,
    log_session,
    update_readiness,
)

# The brief as a partner reads it (DESIGN.md §5), by the packet's item keys.
# Items a template adds beyond these are shown last, so none is held back.
BRIEF_SECTIONS = [
    ("Qualification summary", ["deal_history", "goals", "risks"]),
    ("Technical requirements", ["technical_requirements"]),
    ("Stakeholder map", ["stakeholders"]),
    ("Timeline", ["timeline"]),
    ("Promises log", ["commitments"]),
]


def partner_member_required(view):
    """Let in signed-in partner members only; vendor people get 403.

    The view gets the member after the request and renders in their time
    zone. A 404 raised inside is answered with the partner area's own page.
    """

    @login_required(login_url="partner-login")
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        member = getattr(request.user, "partner_member", None)
        if member is None:
            raise PermissionDenied
        with timezone.override(member.time_zone):
            try:
                return view(request, member, *args, **kwargs)
            except Http404:
                return render(
                    request,
                    "partners/area/not_found.html",
                    {"member": member},
                    status=404,
                )

    return wrapper


def get_visible_engagement(member: PartnerMember, pk: int) -> Engagement:
    engagements = visible_engagements(actor_for_member(member)).select_related(
        "deal",
        "account",
        "ae",
        "implementation_lead",
        "handoff",
        "partner",
        "cs_handoff",
    )
    return get_object_or_404(engagements, pk=pk)


class PartnerLoginView(LoginView):
    template_name = "partners/area/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        if hasattr(self.request.user, "partner_member"):
            return reverse("partner-home")
        return super().get_default_redirect_url()


class PartnerWelcomeView(PasswordResetConfirmView):
    """The invitation's link: choose a password, then the partner home.

    Only for a partner's person who has not joined; the token is Django's
    password-reset one, so it no longer matches once a password is set.
    """

    template_name = "partners/area/welcome.html"
    title = "Choose your password"

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        member = getattr(user, "partner_member", None)
        if member is None or member.joined_at is not None:
            return None
        if not member.can_sign_in():
            return None
        return user

    def form_valid(self, form):
        try:
            user = accept_invitation(
                self.user.partner_member, form.cleaned_data["new_password1"]
            )
        except FieldsRefused as refused:
            for field, reason in refused.errors.items():
                form.add_error("new_password2" if field == "password" else None, reason)
            return self.form_invalid(form)

        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        auth_login(self.request, user)
        messages.success(self.request, "Welcome: your password is set.")
        return redirect("partner-home")


@dataclass
class EngagementRow:
    engagement: Engagement
    next_milestone: ImplementationMilestone | None
    is_overdue: bool


def next_due(engagement: Engagement, today) -> EngagementRow:
    """The first milestone not done, overdue once its planned day has passed."""
    pending = [m for m in engagement.milestones.all() if not m.is_done()]
    milestone = pending[0] if pending else None
    is_overdue = bool(
        milestone and milestone.planned_on and milestone.planned_on < today
    )
    return EngagementRow(engagement, milestone, is_overdue)


@partner_member_required
def partner_home(request, member):
    actor = actor_for_member(member)
    if actor.partner is None:
        return render(
            request, "partners/area/inactive.html", {"member": member}, status=403
        )

    engagements = visible_engagements(actor)
    counts = dict(
        engagements.order_by().values_list("status").annotate(count=Count("pk"))
    )
    query = request.GET.get("q", "").strip()
    found = engagements.select_related("deal", "account").prefetch_related("milestones")
    if query:
        found = found.filter(
            Q(account__name__icontains=query) | Q(deal__name__icontains=query)
        )
    today = local_today(actor, timezone.now())
    context = {
        "member": member,
        "rows": [next_due(engagement, today) for engagement in found],
        "query": query,
        "total_count": sum(counts.values()),
        "status_counts": [
            (label, counts[value])
            for value, label in Engagement.Status.choices
            if counts.get(value)
        ],
    }
    return render(request, "partners/area/home.html", context)


def brief_sections(engagement: Engagement) -> list[dict]:
    """The packet as handed over at Closed Won, grouped for the partner.

    Rows become tables with the template's columns; empty items are left out.
    """
    packet = engagement.handoff.packet or {}
    items = {item.key: item for item in packet_items()}
    placed = {key for _, keys in BRIEF_SECTIONS for key in keys}
    groups = [
        *BRIEF_SECTIONS,
        ("Also handed over", [key for key in items if key not in placed]),
    ]
    sections = []
    for title, keys in groups:
        entries = [
            entry
            for key in keys
            if key in items
            for entry in [brief_entry(items[key], packet.get(key))]
            if entry
        ]
        sections.append({"title": title, "entries": entries})
    return [s for s in sections if s["entries"] or s["title"] != "Also handed over"]


def engagement_page(request, member, engagement, bound=None, status=200):
    """The engagement page; `bound` puts a refused form back, as typed."""
    bound = bound or {}
    milestones = list(engagement.milestones.all())
    conditions = list(engagement.readiness.all())
    sessions = engagement.sessions.prefetch_related("invited", "attended")
    is_final = engagement.status == Engagement.Status.HANDED_TO_CS
    context = {
        "member": member,
        "engagement": engagement,
        "deal": engagement.deal,
        "brief": brief_sections(engagement),
        "milestones": [
            {
                "milestone": milestone,
                "form": bound.get(("milestone", milestone.kind))
                or milestone_form(milestone, engagement),
            }
            for milestone in milestones
        ],
        "readiness": [
            {
                "condition": condition,
                "form": bound.get(("readiness", condition.key))
                or ReadinessForm(condition=condition),
            }
            for condition in conditions
        ],
        "unmet_count": sum(not condition.is_met for condition in conditions),
        "comments": engagement.comments.all(),
        "comment_form": bound.get("comment") or CommentForm(),
        "sessions": sessions,
        "session_form": bound.get("session") or SessionForm(engagement=engagement),
        "is_final": is_final,
        "cs_packet": cs_packet_section(engagement, bound.get("cs_packet")),
    }
    return render(request, "partners/area/engagement.html", context, status=status)


@partner_member_required
def engagement_detail(request, member, pk):
    engagement = get_visible_engagement(member, pk)
    return engagement_page(request, member, engagement)


def back_to(engagement: Engagement, anchor: str):
    return redirect(reverse("partner-engagement", args=[engagement.pk]) + anchor)


@require_POST
@partner_member_required
def milestone_log(request, member, pk, kind):
    engagement = get_visible_engagement(member, pk)
    milestone = get_object_or_404(engagement.milestones, kind=kind)
    form = milestone_form(milestone, engagement, request.POST)
    if form.is_valid():
        try:
            log_milestone(engagement, kind, actor_for_member(member), **form.changes())
        except Engagement.DoesNotExist:
            raise Http404 from None
        except FieldsRefused as refused:
            show_refusal(form, refused)
        except ActionRefused as refused:
            # ReadinessIncomplete among them: its message names the conditions.
            form.add_error(None, str(refused))
        else:
            messages.success(request, f"{milestone.get_kind_display()} logged.")
            return back_to(engagement, f"#milestone-{kind}")
    return engagement_page(
        request, member, engagement, {("milestone", kind): form}, status=400
    )


@require_POST
@partner_member_required
def readiness_update(request, member, pk, key):
    engagement = get_visible_engagement(member, pk)
    condition = get_object_or_404(engagement.readiness, key=key)
    form = ReadinessForm(request.POST, condition=condition)
    if form.is_valid():
        try:
            update_readiness(
                engagement, key, actor_for_member(member), **form.cleaned_data
            )
        except Engagement.DoesNotExist:
            raise Http404 from None
        except FieldsRefused as refused:
            show_refusal(form, refused)
        except ActionRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, f"{condition.get_key_display()}: saved.")
            return back_to(engagement, f"#readiness-{key}")
    return engagement_page(
        request, member, engagement, {("readiness", key): form}, status=400
    )


@require_POST
@partner_member_required
def comment_add(request, member, pk):
    engagement = get_visible_engagement(member, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = add_comment(
                engagement, actor_for_member(member), form.cleaned_data["body"]
            )
        except Engagement.DoesNotExist:
            raise Http404 from None
        except FieldsRefused as refused:
            show_refusal(form, refused)
        except ActionRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, "Comment posted.")
            return back_to(engagement, f"#comment-{comment.pk}")
    return engagement_page(request, member, engagement, {"comment": form}, status=400)


@require_POST
@partner_member_required
def session_log(request, member, pk):
    engagement = get_visible_engagement(member, pk)
    form = SessionForm(request.POST, engagement=engagement)
    if form.is_valid():
        data = form.cleaned_data
        try:
            log_session(
                engagement,
                actor_for_member(member),
                kind=data["kind"],
                title=data["title"],
                held_on=data["held_on"],
                invited=list(data["invited"]),
                attended=list(data["attended"]),
            )
        except Engagement.DoesNotExist:
            raise Http404 from None
        except FieldsRefused as refused:
            show_refusal(form, refused)
        except ActionRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, "Session logged.")
            return back_to(engagement, "#sessions")
    return engagement_page(request, member, engagement, {"session": form}, status=400)


def cs_packet_refused(request, member, pk, post: CsPacketPost):
    # Read again: the post may have saved the draft, or met a hand-over
    # made meanwhile.
    engagement = get_visible_engagement(member, pk)
    return engagement_page(request, member, engagement, {"cs_packet": post}, status=400)


def cs_packet_post(request, member, pk, action: str):
    engagement = get_visible_engagement(member, pk)
    try:
        done = post_cs_packet(
            engagement, actor_for_member(member), request.POST, action
        )
    except Engagement.DoesNotExist:
        raise Http404 from None
    except CsPacketRefused as refused:
        return cs_packet_refused(request, member, pk, refused.post)

    messages.success(request, done)
    return back_to(engagement, "#hand-over")


@require_POST
@partner_member_required
def cs_packet_save(request, member, pk):
    return cs_packet_post(request, member, pk, SAVE)


@require_POST
@partner_member_required
def cs_hand_over(request, member, pk):
    """Save the packet as typed, then hand the account to customer success.

    Before hypercare's planned end too: the end is then recorded as done
    today. A refused hand-over keeps the draft saved, as Closed Won does.
    """
    return cs_packet_post(request, member, pk, HAND_OVER)


@require_POST
@partner_member_required
def cs_send_again(request, member, pk):
    """Save the packet as typed, then send the sent-back CS handoff again."""
    return cs_packet_post(request, member, pk, SEND_AGAIN)
