from handoffs.models.configuration import (
    ConfigurationVersion,
    ImportMapping,
    RoutingRule,
    ScoringModel,
)
from handoffs.models.escalation import EscalationRule, LadderStep
from handoffs.models.handoff import ClockType, Handoff, Milestone, OwedBy, SlaPolicy
from handoffs.models.leads import IntakeChannel, Lead, LeadType, RoutingDecision, Touch
from handoffs.models.packets import (
    HandoffParticipant,
    HandoffRating,
    HandoffTask,
    PacketItem,
    PacketTemplate,
)

__all__ = [
    "ClockType",
    "ConfigurationVersion",
    "EscalationRule",
    "Handoff",
    "HandoffParticipant",
    "HandoffRating",
    "HandoffTask",
    "ImportMapping",
    "IntakeChannel",
    "Lead",
    "LadderStep",
    "LeadType",
    "Milestone",
    "OwedBy",
    "PacketItem",
    "PacketTemplate",
    "RoutingDecision",
    "RoutingRule",
    "ScoringModel",
    "SlaPolicy",
    "Touch",
]
