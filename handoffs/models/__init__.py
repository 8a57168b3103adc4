from handoffs.models.configuration import ImportMapping, RoutingRule, ScoringModel
from handoffs.models.handoff import ClockType, Handoff, Milestone, SlaPolicy
from handoffs.models.leads import IntakeChannel, Lead, LeadType, RoutingDecision, Touch

__all__ = [
    "ClockType",
    "Handoff",
    "ImportMapping",
    "IntakeChannel",
    "Lead",
    "LeadType",
    "Milestone",
    "RoutingDecision",
    "RoutingRule",
    "ScoringModel",
    "SlaPolicy",
    "Touch",
]
