"""What a new lead writes, built in memory and stored in two round trips.

The lead, its routing decision and first touch, the lead → sales handoff,
its clocks and their escalation rungs, the owner's notification and its
outbox deliveries, and the audit history of the lead, handoff and clocks.
All their ids are taken in one statement (bowtie.row_writes), so the event
key and link of the notification, which name the lead and the handoff, are
known before anything is sent; then every row goes in one batch. Intake
spent most of its time in one round trip per row before.
"""

import logging
from dataclasses import dataclass

from django.urls import reverse

from bowtie.models import Delivery, Notification, Person, Topic
from bowtie.notifications import (
    Notice,
    deliver_after_commit,
    in_zone_of,
    preferences_of,
    unsaved_deliveries,
    unsaved_notification,
)
from bowtie.row_writes import assign_ids, insert_rows
from handoffs import clocks
from handoffs.models import Handoff, Lead, Milestone, RoutingDecision, Touch
from handoffs.routing import RoutingOutcome

logger = logging.getLogger(__name__)


@dataclass
class NewLeadRows:
    lead: Lead
    decision: RoutingDecision
    handoff: Handoff
    milestones: list[Milestone]
    notifications: list[Notification]
    deliveries: list[Delivery]

    @property
    def first_response(self) -> Milestone | None:
        return next(
            (m for m in self.milestones if m.key == Milestone.Key.FIRST_RESPONSE),
            None,
        )


def write_new_lead(
    lead: Lead,
    outcome: RoutingOutcome,
    *,
    channel: str,
    packet: dict,
    now,
    is_live: bool,
    policies: list,
    configuration,
) -> NewLeadRows:
    """Store a routed, unsaved lead with everything its intake writes.

    Inside the intake's transaction. Only a live lead is announced: imported
    history and a lead that arrives closed tell nobody. `policies` are the
    clocks to start; a live lead whose type has none is still announced.
    """
    decision = RoutingDecision(
        lead=lead,
        step=outcome.step,
        rule=outcome.rule,
        team=outcome.team,
        person=outcome.person,
        reason=outcome.reason,
        candidates=outcome.candidates,
        decided_at=now,
    )
    touch = Touch(
        lead=lead, kind=Touch.Kind.SUBMISSION, channel=channel, occurred_at=now
    )
    # A lead that arrives closed (history) hands nothing over any more.
    handoff = Handoff(
        kind=Handoff.Kind.LEAD_TO_SALES,
        lead=lead,
        receiving_team=outcome.team,
        receiver=outcome.person,
        opened_at=now,
        packet=packet,
        state=Handoff.State.OPEN if lead.is_open else Handoff.State.COMPLETED,
        closed_at=None if lead.is_open else now,
    )
    calendar = clocks.calendar_for_policies(
        handoff, policies, clocks.OwedBy.RECEIVERS, configuration
    )
    milestones = clocks.milestone_rows(handoff, now, policies, calendar=calendar)
    recipients, subject = new_lead_recipients(lead) if is_live else ([], "")
    # Described once the ids they name exist.
    notifications = [
        Notification(recipient=person, topic=Topic.NEW_WORK, created_at=now)
        for person in recipients
    ]
    deliveries = unsaved_deliveries(
        notifications, preferences_for(notifications, configuration)
    )
    rows = NewLeadRows(lead, decision, handoff, milestones, notifications, deliveries)

    # The touch keeps the key the database gives it: nothing points at it.
    assign_ids(
        [lead, decision, handoff, *milestones] + rows.notifications + rows.deliveries
    )
    steps = clocks.ladder_rows(milestones, policies, calendar)
    describe_notifications(rows, subject, now)
    insert_rows(
        [lead, decision, touch, handoff, *milestones, *steps]
        + rows.notifications
        + rows.deliveries
    )
    deliver_after_commit(rows.deliveries)
    return rows


def new_lead_recipients(lead: Lead) -> tuple[list[Person], str]:
    """Who hears of a new lead, and the subject they read."""
    if lead.owner is not None:
        return [lead.owner], f"New lead: {lead.display_name}"
    if lead.team is not None and lead.team.head is not None:
        return [lead.team.head], f"Lead waiting in the {lead.team} fallback queue"
    if lead.team is None:
        # No rule matched and no default rule is set: RevOps, who own the
        # rules, route it by hand from the team queue.
        revops = Person.objects.filter(role=Person.Role.REVOPS_ADMIN, is_active=True)
        return list(revops), f"Lead with no team: {lead.display_name}"
    logger.warning("lead %s waits in team %s, which has no head", lead.pk, lead.team_id)
    return [], ""


def preferences_for(notifications: list[Notification], configuration) -> dict:
    # Kept with the configuration for reps; a head's or RevOps' are read.
    people = [notification.recipient for notification in notifications]
    kept = configuration.notification_preferences(people) if people else {}
    return kept if kept is not None else preferences_of(notifications)


def describe_notifications(rows: NewLeadRows, subject: str, now) -> None:
    """Write what each notification says, now that the ids it names exist."""
    lead, first_response = rows.lead, rows.first_response
    # As services.lead_url, which this module cannot import: services uses it.
    url = reverse("lead-detail", args=[lead.pk])
    # A form may leave the company out: the domain says where the lead is from.
    where_from = lead.company_name or lead.email_domain or "an unnamed company"
    body = f"{lead.get_lead_type_display()} lead from {where_from}."
    for notification in rows.notifications:
        # With the date: a nurture lead is due days later, not at that hour.
        due = (
            f" Respond by {in_zone_of(notification.recipient, first_response.due_at)}."
            if first_response
            else ""
        )
        described = unsaved_notification(
            Notice(
                person=notification.recipient,
                event_key=f"lead:{lead.pk}:assigned:{rows.handoff.pk}",
                topic=Topic.NEW_WORK,
                subject=subject,
                body=body + due,
                url=url,
            ),
            now,
        )
        # The same rules as every notification (the subject's length, say).
        for field in ("event_key", "subject", "body", "url"):
            setattr(notification, field, getattr(described, field))
