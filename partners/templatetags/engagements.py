"""Engagements on the vendor's handoff, deal and account pages.

`{% load engagements %}`, then:

- `{% engagement_panel handoff person %}`: who delivers the implementation,
  the AE, the lead and the milestones, with the assignment form for those
  who assign partners;
- `{% engagement_milestones deal %}` (or an account): the milestones of its
  engagements as they are logged, linked to the engagement page;
- `{% close_won_assignment deal person %}`: the optional partner chosen on
  the close-won form.

The handoffs app imports nothing of partners in Python: its templates load
these tags, so the dependency stays in the templates.
"""

from django import template

from bowtie.models import Account, Person, Pipeline, Stage
from handoffs.models import Handoff
from partners.actors import actor_for_person
from partners.models import Engagement
from partners.queries import can_assign_partners, visible_engagements
from partners.vendor_forms import IN_HOUSE, AssignPartnerForm

register = template.Library()

RELATED = ("deal", "account", "partner", "ae", "implementation_lead")


def visible_ids(person: Person | None, engagements) -> set[int]:
    """Which of `engagements` the person may open on the engagement page."""
    ids = [engagement.pk for engagement in engagements]
    if person is None or not ids:
        return set()
    visible = visible_engagements(actor_for_person(person)).filter(pk__in=ids)
    return set(visible.values_list("pk", flat=True))


def find_engagement(handoff: Handoff) -> Engagement | None:
    """The engagement a handoff opened (sales -> implementation) or closed
    (implementation -> CS); None for other kinds."""
    engagements = Engagement.objects.select_related(*RELATED).prefetch_related(
        "milestones"
    )
    if handoff.kind == Handoff.Kind.SALES_TO_IMPLEMENTATION:
        return engagements.filter(handoff=handoff).first()
    if handoff.kind == Handoff.Kind.IMPLEMENTATION_TO_CS:
        return engagements.filter(cs_handoff=handoff).first()
    return None


def default_lead(handoff: Handoff) -> Person | None:
    """The lead `assign_partner` takes when none is chosen."""
    team = handoff.receiving_team
    return handoff.receiver or (team.head if team is not None else None)


def can_assign(handoff: Handoff, engagement: Engagement | None, person) -> bool:
    return (
        handoff.kind == Handoff.Kind.SALES_TO_IMPLEMENTATION
        and can_assign_partners(person)
        and handoff.deal is not None
        and handoff.deal.stage.outcome == Stage.Outcome.WON
        and (engagement is None or engagement.status != Engagement.Status.HANDED_TO_CS)
    )


def panel_context(handoff: Handoff, person, form=None) -> dict:
    """The panel's context; the assignment view passes its bound form back."""
    is_shown = handoff.kind in (
        Handoff.Kind.SALES_TO_IMPLEMENTATION,
        Handoff.Kind.IMPLEMENTATION_TO_CS,
    )
    if not is_shown:
        return {"is_shown": False}

    engagement = find_engagement(handoff)
    is_assignable = can_assign(handoff, engagement, person)
    if is_assignable and form is None:
        lead = engagement.implementation_lead if engagement else default_lead(handoff)
        partner = ""
        if engagement is not None:
            partner = str(engagement.partner_id) if engagement.partner_id else IN_HOUSE
        form = AssignPartnerForm(
            initial={"partner": partner, "implementation_lead": lead}
        )
    deal = handoff.deal
    return {
        "is_shown": True,
        "handoff": handoff,
        "engagement": engagement,
        "milestones": list(engagement.milestones.all()) if engagement else [],
        "is_visible": bool(visible_ids(person, [engagement] if engagement else [])),
        "ae": engagement.ae if engagement else getattr(deal, "owner", None),
        "lead": engagement.implementation_lead if engagement else default_lead(handoff),
        "is_won": deal is not None and deal.stage.outcome == Stage.Outcome.WON,
        "can_assign": is_assignable,
        "form": form if is_assignable else None,
    }


@register.inclusion_tag("partners/vendor/_engagement_panel.html")
def engagement_panel(handoff: Handoff, person) -> dict:
    # Django hands an inclusion tag the page's CSRF token; nothing else.
    return panel_context(handoff, person)


@register.inclusion_tag(
    "partners/vendor/_engagement_milestones.html", takes_context=True
)
def engagement_milestones(context, subject) -> dict:
    """The milestones of a deal's engagement, or of every engagement of an
    account, in three queries; whoever sees the page sees them."""
    is_account = isinstance(subject, Account)
    engagements = list(
        Engagement.objects.filter(**{"account" if is_account else "deal": subject})
        .select_related(*RELATED)
        .prefetch_related("milestones")
        .order_by("-assigned_at", "-pk")
    )
    visible = visible_ids(context.get("current_person"), engagements)
    # A won new-business deal is waiting for someone to deliver it; renewals
    # and imported history never get an implementation.
    is_awaiting = (
        not is_account
        and subject.stage.outcome == Stage.Outcome.WON
        and subject.pipeline.kind == Pipeline.Kind.NEW_BUSINESS
        and not subject.is_historical
    )
    return {
        "is_account": is_account,
        "is_awaiting": is_awaiting,
        "subject": subject,
        "engagements": [
            {
                "engagement": engagement,
                "milestones": list(engagement.milestones.all()),
                "is_visible": engagement.pk in visible,
            }
            for engagement in engagements
        ],
    }


@register.inclusion_tag("partners/vendor/_close_won_assignment.html")
def close_won_assignment(deal, person) -> dict:
    """The partner to assign as the deal closes, for those who assign."""
    if not can_assign_partners(person):
        return {"form": None}
    return {"form": AssignPartnerForm(prefix="assign", is_optional=True)}
