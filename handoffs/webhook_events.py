"""What a CRM's webhook is told about leads, handoffs, clocks and won deals.

The services call these inside their transactions, so an event is sent
exactly when its change committed (`bowtie.webhooks`). A body names records
by id, with the fields a CRM matches them by (external ids, e-mail) and the
few it acts on. Everything is read from objects the service holds already:
publishing costs one read of the endpoints, and no query per record.

The handoff events are those of the Sales -> Implementation handoff and of
the Implementation -> CS one that hypercare's end opens, whose accept,
send-back and resubmission are services of their own; a lead's handoff to
sales is told as `lead.assigned`. Clock events cover every kind.
"""

from bowtie import webhooks
from bowtie.models import Deal, EventType, Person, WebhookEndpoint
from handoffs.models import Handoff, Lead, Milestone


def person_of(person: Person | None) -> dict | None:
    if person is None:
        return None
    return {"id": person.pk, "name": person.full_name, "email": person.email}


def money_of(amount) -> dict | None:
    if amount is None:
        return None
    return {"amount": str(amount.amount), "currency": amount.currency.code}


def lead_of(lead: Lead) -> dict:
    return {
        "id": lead.pk,
        "email": lead.email,
        "company_name": lead.company_name,
        "external_source": lead.external_source,
        "external_id": lead.external_id,
        "lead_type": lead.lead_type,
        "score": lead.score,
        "cycle": lead.cycle,
        "team_id": lead.team_id,
        "account_id": lead.account_id,
    }


def handoff_of(handoff: Handoff) -> dict:
    return {
        "id": handoff.pk,
        "kind": handoff.kind,
        "state": handoff.state,
        "lead_id": handoff.lead_id,
        "deal_id": handoff.deal_id,
        "account_id": handoff.account_id,
        "sending_team_id": handoff.sending_team_id,
        "sender_id": handoff.sender_id,
        "receiving_team_id": handoff.receiving_team_id,
        "receiver_id": handoff.receiver_id,
        "involvement": handoff.involvement,
        "opened_at": handoff.opened_at,
        "accepted_at": handoff.accepted_at,
        "closed_at": handoff.closed_at,
    }


def milestone_of(milestone: Milestone) -> dict:
    return {
        "id": milestone.pk,
        "key": milestone.key,
        "label": milestone.label,
        "owed_by": milestone.owed_by,
        "clock_type": milestone.clock_type,
        "target_seconds": milestone.target_seconds,
        "started_at": milestone.started_at,
        "due_at": milestone.due_at,
        "met_at": milestone.met_at,
        "breached_at": milestone.breached_at,
        "owner_at_breach_id": milestone.owner_at_breach_id,
    }


def deal_of(deal: Deal) -> dict:
    return {
        "id": deal.pk,
        "name": deal.name,
        "external_source": deal.external_source,
        "external_id": deal.external_id,
        "account_id": deal.account_id,
        "owner_id": deal.owner_id,
        "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id,
        "amount": money_of(deal.amount),
        "term_months": deal.term_months,
        "closed_on": deal.closed_on,
        "expected_close_on": deal.expected_close_on,
    }


def publish_lead_assigned(
    lead: Lead,
    how: str,
    now,
    previous_owner: Person | None = None,
    endpoints: list[WebhookEndpoint] | None = None,
) -> None:
    """A lead got its owner: "routed" at intake, "claimed" from the team's
    queue, or "reassigned" away from `previous_owner`. `endpoints` as for
    `bowtie.webhooks.publish_many`."""
    data = {
        "lead": lead_of(lead),
        "owner": person_of(lead.owner),
        "previous_owner": person_of(previous_owner),
        "how": how,
    }
    webhooks.publish(EventType.LEAD_ASSIGNED, data, now, endpoints=endpoints)


def publish_handoff(
    event_type: str, handoff: Handoff, actor: Person | None, now, **details
) -> None:
    """A handoff was opened, accepted, sent back (with the `reason`) or sent
    again."""
    data = {"handoff": handoff_of(handoff), "actor": person_of(actor), **details}
    webhooks.publish(event_type, data, now)


def publish_closed_won(deal: Deal, handoff: Handoff, renewal: Deal, now) -> None:
    """The close of a deal: the deal won, its handoff opened, its renewal made."""
    webhooks.publish_many(
        [
            (
                EventType.DEAL_CLOSED_WON,
                {
                    "deal": deal_of(deal),
                    "handoff_id": handoff.pk,
                    "renewal_id": renewal.pk,
                },
            ),
            (EventType.HANDOFF_OPENED, {"handoff": handoff_of(handoff), "actor": None}),
            (
                EventType.RENEWAL_CREATED,
                {"renewal": deal_of(renewal), "renews_id": deal.pk},
            ),
        ],
        now,
    )


def clock_event(milestone: Milestone, handoff: Handoff) -> dict:
    return {"milestone": milestone_of(milestone), "handoff": handoff_of(handoff)}


def publish_breaches(milestones: list[Milestone], now) -> None:
    """One `milestone.breached` per milestone, in one write for the batch."""
    webhooks.publish_many(
        [
            (EventType.MILESTONE_BREACHED, clock_event(milestone, milestone.handoff))
            for milestone in milestones
        ],
        now,
    )


def publish_milestone_met(
    milestone: Milestone, handoff: Handoff, breached_now: bool, now
) -> None:
    """A clock stopped; late work the sweeper had not noticed is a breach too."""
    events = [(EventType.MILESTONE_MET, clock_event(milestone, handoff))]
    if breached_now:
        events.insert(
            0, (EventType.MILESTONE_BREACHED, clock_event(milestone, handoff))
        )
    webhooks.publish_many(events, now)
