"""Every write to an engagement: assignment, milestones, readiness, comments.

The partner area, the vendor pages, the partner API and the admin call these,
so go-live is refused on every path until the five readiness conditions hold,
and a partner's caller reaches only its own partner's engagements. Each takes
the `Actor`, runs in one transaction with the engagement locked, and leaves
notifications and webhooks to after the commit (they are outbox rows).
"""

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bowtie import webhooks
from bowtie.models import Contact, EventType, Person, Stage, Topic
from bowtie.notifications import Notice, notify_many
from handoffs import clocks
from handoffs.models import Handoff
from handoffs.services import ActionRefused
from partners.actors import Actor
from partners.models import (
    CustomerSession,
    Engagement,
    EngagementComment,
    ImplementationMilestone,
    Partner,
    ReadinessCondition,
)
from partners.queries import (
    can_assign_partners,
    can_work_engagement,
    visible_engagements,
)

logger = logging.getLogger(__name__)

Kind = ImplementationMilestone.Kind

# The handoff clock each milestone stops: planning the kickoff meets
# "kickoff scheduled"; holding the first meeting meets its own clock.
CLOCK_MET_WHEN_PLANNED = {Kind.KICKOFF: "kickoff_scheduled"}
CLOCK_MET_WHEN_DONE = {Kind.FIRST_MEETING: "first_meeting"}

# A milestone is done only after the one it follows.
DONE_AFTER = {
    Kind.FIRST_MEETING: Kind.KICKOFF,
    Kind.GO_LIVE: Kind.KICKOFF,
    Kind.HYPERCARE_END: Kind.GO_LIVE,
}

COMMENT_LIMIT = 5000


class FieldsRefused(ActionRefused):
    """Input refused field by field; `errors` maps each field to its reason."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(" ".join(errors.values()))


class ReadinessIncomplete(ActionRefused):
    """Go-live asked for before all five readiness conditions hold."""

    def __init__(self, unmet: list[ReadinessCondition]):
        self.unmet = unmet
        super().__init__(
            "Go-live needs every readiness condition met. Not yet: "
            + ", ".join(condition.get_key_display() for condition in unmet)
            + "."
        )


def engagement_path(engagement: Engagement) -> str:
    return reverse("engagement-detail", args=[engagement.pk])


def lock_engagement(engagement: Engagement, actor: Actor) -> Engagement:
    """Lock the row and check the actor works it; a partner's caller that does
    not is told nothing more than that the engagement does not exist."""
    engagement = (
        Engagement.objects.select_for_update(of=("self",))
        .select_related("partner", "deal", "handoff")
        .get(pk=engagement.pk)
    )
    if not can_work_engagement(actor, engagement):
        if actor.is_partner:
            raise Engagement.DoesNotExist
        raise ActionRefused("Only the implementation side works this engagement.")
    return engagement


def local_today(actor: Actor, now: datetime) -> date:
    return now.astimezone(ZoneInfo(actor.time_zone)).date()


@transaction.atomic
def assign_partner(
    handoff: Handoff,
    actor: Actor,
    partner: Partner | None,
    implementation_lead: Person | None = None,
    now=None,
) -> Engagement:
    """Give a won deal's implementation to a partner, or to the in-house team.

    The first call opens the engagement with its milestones and readiness
    conditions; a later one changes who delivers it until customer success
    has it. The AE and the vendor's implementation lead are attached to it.
    """
    now = now or timezone.now()
    if actor.is_partner or not can_assign_partners(actor.person):
        raise ActionRefused("Only the implementation team or RevOps assigns partners.")
    handoff = (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("deal__stage", "deal__owner", "receiving_team__head")
        .get(pk=handoff.pk)
    )
    if handoff.kind != Handoff.Kind.SALES_TO_IMPLEMENTATION:
        raise ActionRefused("Partners are assigned to a deal's implementation only.")
    if handoff.deal.stage.outcome != Stage.Outcome.WON:
        raise ActionRefused("A partner is assigned at Closed Won or later.")
    if partner is not None and not partner.is_active:
        raise FieldsRefused({"partner": f"{partner} is no longer an active partner."})
    lead = (
        implementation_lead
        or handoff.receiver
        or getattr(handoff.receiving_team, "head", None)
    )
    if lead is not None and not lead.is_active:
        raise FieldsRefused(
            {"implementation_lead": f"{lead} is inactive; choose someone else."}
        )

    engagement = Engagement.objects.filter(handoff=handoff).first()
    if engagement is None:
        engagement = open_engagement(handoff, actor, partner, lead, now)
        previous = None
    else:
        # Locked directly: the actor may assign (checked above), which is not
        # the same as working the engagement (a manager assigns, never logs).
        engagement = Engagement.objects.select_for_update(of=("self",)).get(
            pk=engagement.pk
        )
        if engagement.status == Engagement.Status.HANDED_TO_CS:
            raise ActionRefused("Customer success has this account now.")
        previous = engagement.partner
        if partner != previous:
            # Time to kickoff counts from the partner's own assignment; a new
            # lead alone does not restart it.
            engagement.assigned_by = actor.person
            engagement.assigned_at = now
        engagement.partner = partner
        engagement.implementation_lead = lead
        engagement.save()

    tell_vendor(
        engagement,
        what="assigned",
        subject=f"Implementation of {engagement.deal.name}: {engagement.delivered_by}",
        body=f"{actor} gave the implementation to {engagement.delivered_by}"
        + (f" (it was {previous})." if previous else "."),
        now=now,
        told=[actor.person],
    )
    logger.info(
        "engagement %s assigned to partner %s",
        engagement.pk,
        partner.pk if partner else None,
    )
    return engagement


def open_engagement(handoff, actor, partner, lead, now) -> Engagement:
    engagement = Engagement.objects.create(
        handoff=handoff,
        deal=handoff.deal,
        account=handoff.deal.account,
        partner=partner,
        ae=handoff.deal.owner,
        implementation_lead=lead,
        assigned_by=actor.person,
        assigned_at=now,
    )
    for position, kind in enumerate(ImplementationMilestone.ORDER):
        ImplementationMilestone.objects.create(
            engagement=engagement, kind=kind, position=position
        )
    for position, key in enumerate(ReadinessCondition.Key.values):
        ReadinessCondition.objects.create(
            engagement=engagement, key=key, position=position
        )
    return engagement


@transaction.atomic
def log_milestone(
    engagement: Engagement,
    kind: str,
    actor: Actor,
    *,
    planned_on: date | None = None,
    actual_on: date | None = None,
    notes: str | None = None,
    ae_attended: bool | None = None,
    now=None,
) -> ImplementationMilestone:
    """Record a milestone's planned or actual date, with notes.

    Dates left None keep their value. Go-live is refused until every readiness
    condition holds; a kickoff done records whether the AE attended; a
    milestone is done only after the one it follows. Logging go-live starts
    hypercare; logging its end hands the account to customer success.
    """
    now = now or timezone.now()
    engagement = lock_engagement(engagement, actor)
    if kind not in Kind.values:
        raise FieldsRefused({"kind": f"Unknown milestone {kind!r}."})
    if engagement.status == Engagement.Status.HANDED_TO_CS:
        raise ActionRefused("Customer success has this account; milestones are final.")
    milestones = {m.kind: m for m in engagement.milestones.select_for_update()}
    milestone = milestones[kind]
    check_milestone_dates(milestone, milestones, actor, planned_on, actual_on, now)
    if kind == Kind.KICKOFF and actual_on is not None and ae_attended is None:
        raise FieldsRefused({"ae_attended": "Say whether the AE attended the kickoff."})
    if kind == Kind.GO_LIVE and actual_on is not None:
        check_readiness(engagement)

    was_planned = milestone.planned_on is not None
    was_done = milestone.is_done()
    if planned_on is not None:
        milestone.planned_on = planned_on
    if actual_on is not None:
        milestone.actual_on = actual_on
    if notes is not None:
        milestone.notes = notes.strip()
    milestone.logged_by = actor.name
    milestone.logged_by_user = actor.user
    milestone.logged_at = now
    milestone.save()

    if kind in CLOCK_MET_WHEN_PLANNED and milestone.planned_on and not was_planned:
        clocks.meet_milestone(engagement.handoff, CLOCK_MET_WHEN_PLANNED[kind], now)
    if kind in CLOCK_MET_WHEN_DONE and milestone.is_done() and not was_done:
        clocks.meet_milestone(engagement.handoff, CLOCK_MET_WHEN_DONE[kind], now)
    apply_milestone(engagement, milestone, milestones, ae_attended)

    publish_milestone_logged(engagement, milestone, actor, now)
    if actor.is_partner:
        tell_vendor(
            engagement,
            what=f"milestone {kind}",
            subject=f"{milestone.get_kind_display()} logged: {engagement.deal.name}",
            body=f"{actor} logged {milestone.get_kind_display().lower()}"
            + (f", done {milestone.actual_on}" if milestone.actual_on else "")
            + (f", planned {milestone.planned_on}" if milestone.planned_on else "")
            + ".",
            now=now,
        )
    logger.info("engagement %s milestone %s logged", engagement.pk, kind)

    if kind == Kind.HYPERCARE_END and milestone.is_done() and not was_done:
        # Imported here: the handover reads this module's helpers.
        from partners.handover import hand_over_to_cs

        hand_over_to_cs(engagement, actor, now)
    return milestone


def check_milestone_dates(milestone, milestones, actor, planned_on, actual_on, now):
    errors = {}
    if actual_on is not None and actual_on > local_today(actor, now):
        errors["actual_on"] = "A milestone is done on a day that has come."
    before = DONE_AFTER.get(milestone.kind)
    if actual_on is not None and before is not None:
        earlier = milestones[before]
        if not earlier.is_done():
            errors["actual_on"] = f"Log the {earlier.get_kind_display().lower()} first."
        elif actual_on < earlier.actual_on:
            errors["actual_on"] = (
                f"It cannot come before the {earlier.get_kind_display().lower()} "
                f"({earlier.actual_on})."
            )
    if milestone.kind == Kind.HYPERCARE_END and planned_on is not None:
        go_live = milestones[Kind.GO_LIVE].actual_on
        if go_live is None:
            errors["planned_on"] = "Hypercare is planned from the go-live."
        elif not 14 <= (planned_on - go_live).days <= 28:
            errors["planned_on"] = "Hypercare lasts two to four weeks after go-live."
    if (
        milestone.is_done()
        and actual_on is not None
        and milestone.kind in (Kind.GO_LIVE,)
    ):
        errors["actual_on"] = "Go-live is logged already."
    if errors:
        raise FieldsRefused(errors)


def check_readiness(engagement: Engagement) -> None:
    unmet = list(engagement.readiness.filter(is_met=False))
    if unmet:
        raise ReadinessIncomplete(unmet)


def apply_milestone(engagement, milestone, milestones, ae_attended) -> None:
    """Move the engagement along: implementing from kickoff, live at go-live."""
    changed = []
    if milestone.kind == Kind.KICKOFF and milestone.is_done():
        if ae_attended is not None:
            engagement.ae_attended_kickoff = ae_attended
            changed.append("ae_attended_kickoff")
        if engagement.status == Engagement.Status.KICKOFF_PENDING:
            engagement.status = Engagement.Status.IMPLEMENTING
            changed.append("status")
    if milestone.kind == Kind.GO_LIVE and milestone.is_done():
        engagement.status = Engagement.Status.HYPERCARE
        engagement.hypercare_days = settings.BOWTIE_HYPERCARE_DAYS
        engagement.hypercare_ends_on = milestone.actual_on + timedelta(
            days=engagement.hypercare_days
        )
        changed += ["status", "hypercare_days", "hypercare_ends_on"]
        ending = milestones[Kind.HYPERCARE_END]
        ending.planned_on = engagement.hypercare_ends_on
        ending.save(update_fields=["planned_on"])
    if milestone.kind == Kind.HYPERCARE_END and milestone.planned_on:
        if engagement.hypercare_ends_on != milestone.planned_on:
            engagement.hypercare_ends_on = milestone.planned_on
            changed.append("hypercare_ends_on")
    if changed:
        engagement.save(update_fields=[*changed, "updated_at"])


@transaction.atomic
def update_readiness(
    engagement: Engagement,
    key: str,
    actor: Actor,
    *,
    owner_name: str | None = None,
    evidence: str | None = None,
    is_met: bool | None = None,
    now=None,
) -> ReadinessCondition:
    """Name a condition's owner and evidence, and say whether it holds.

    Met needs both an owner and evidence. Once live, a condition cannot be
    unmet: go-live happened on it.
    """
    now = now or timezone.now()
    engagement = lock_engagement(engagement, actor)
    if key not in ReadinessCondition.Key.values:
        raise FieldsRefused({"key": f"Unknown readiness condition {key!r}."})
    condition = engagement.readiness.select_for_update().get(key=key)
    owner_name = condition.owner_name if owner_name is None else owner_name.strip()
    evidence = condition.evidence if evidence is None else evidence.strip()
    is_met = condition.is_met if is_met is None else is_met

    errors = {}
    if is_met and not owner_name:
        errors["owner_name"] = "Name who answers for it before marking it met."
    if is_met and not evidence:
        errors["evidence"] = "Give the evidence that it holds before marking it met."
    is_live = engagement.milestones.filter(kind=Kind.GO_LIVE, actual_on__isnull=False)
    if condition.is_met and not is_met and is_live.exists():
        errors["is_met"] = "The customer went live on it; it stays met."
    if errors:
        raise FieldsRefused(errors)

    became_met = is_met and not condition.is_met
    condition.owner_name = owner_name
    condition.evidence = evidence
    condition.is_met = is_met
    if became_met:
        condition.confirmed_by = actor.name
        condition.confirmed_at = now
    elif not is_met:
        condition.confirmed_by = ""
        condition.confirmed_at = None
    condition.save()
    logger.info("engagement %s readiness %s is_met=%s", engagement.pk, key, is_met)
    return condition


@transaction.atomic
def add_comment(
    engagement: Engagement, actor: Actor, body: str, now=None
) -> EngagementComment:
    """Post to the thread the partner and the vendor share."""
    now = now or timezone.now()
    body = body.strip()
    if not body:
        raise FieldsRefused({"body": "Write something first."})
    if len(body) > COMMENT_LIMIT:
        raise FieldsRefused({"body": f"Keep it under {COMMENT_LIMIT} characters."})
    if not actor.is_partner:
        # Anyone of the vendor who may see it may talk on it; only the
        # implementation side logs its milestones.
        if not visible_engagements(actor).filter(pk=engagement.pk).exists():
            raise ActionRefused("You cannot see this engagement.")
        engagement = Engagement.objects.select_related("deal").get(pk=engagement.pk)
    else:
        engagement = lock_engagement(engagement, actor)

    comment = EngagementComment.objects.create(
        engagement=engagement,
        author=actor.user,
        author_name=actor.name,
        is_from_partner=actor.is_partner,
        body=body,
        created_at=now,
    )
    if actor.is_partner:
        tell_vendor(
            engagement,
            what=f"comment {comment.pk}",
            subject=f"{actor} wrote on {engagement.deal.name}",
            body=body[:300],
            now=now,
        )
    # TODO(partners): a partner's people read vendor comments in the partner
    # area only; they get no e-mail for them. Add a partner outbox like
    # PartnerInvitation's when partners ask to be told outside the portal.
    return comment


@transaction.atomic
def log_session(
    engagement: Engagement,
    actor: Actor,
    *,
    kind: str,
    title: str,
    held_on: date,
    invited: list[Contact],
    attended: list[Contact],
    now=None,
) -> CustomerSession:
    """Record a meeting or training with the customer and who came.

    Only the account's own contacts count; someone who came was invited.
    """
    now = now or timezone.now()
    engagement = lock_engagement(engagement, actor)
    errors = {}
    if kind not in CustomerSession.Kind.values:
        errors["kind"] = "Choose meeting or training."
    if not title.strip():
        errors["title"] = "Give the session a title."
    if held_on > local_today(actor, now):
        errors["held_on"] = "Log a session once it has been held."
    strangers = [
        c for c in [*invited, *attended] if c.account_id != engagement.account_id
    ]
    if strangers:
        errors["attended"] = "Only the customer's own contacts attend its sessions."
    if errors:
        raise FieldsRefused(errors)

    session = CustomerSession.objects.create(
        engagement=engagement,
        kind=kind,
        title=title.strip(),
        held_on=held_on,
        logged_by=actor.name,
    )
    session.invited.set({*invited, *attended})
    session.attended.set(attended)
    return session


def vendor_people(engagement: Engagement) -> list[Person]:
    people = {engagement.ae, engagement.implementation_lead} - {None}
    return [person for person in people if person.is_active]


def tell_vendor(engagement, what: str, subject: str, body: str, now, told=()):
    """In-app and e-mail notice to the AE and implementation lead, sent after
    commit by the outbox."""
    notices = [
        Notice(
            person,
            event_key=f"engagement:{engagement.pk}:{what}:{now.isoformat()}",
            topic=Topic.NEW_WORK,
            subject=subject,
            body=body,
            url=engagement_path(engagement),
        )
        for person in vendor_people(engagement)
        if person not in told
    ]
    notify_many(notices, now)


def engagement_of(engagement: Engagement) -> dict:
    return {
        "id": engagement.pk,
        "deal_id": engagement.deal_id,
        "account_id": engagement.account_id,
        "partner_id": engagement.partner_id,
        "status": engagement.status,
    }


def publish_milestone_logged(engagement, milestone, actor: Actor, now) -> None:
    webhooks.publish(
        EventType.ENGAGEMENT_MILESTONE_LOGGED,
        {
            "engagement": engagement_of(engagement),
            "milestone": {
                "kind": milestone.kind,
                "planned_on": milestone.planned_on,
                "actual_on": milestone.actual_on,
                "notes": milestone.notes,
            },
            "logged_by": actor.name,
        },
        now,
    )
