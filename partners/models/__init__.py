from partners.models.engagements import (
    CustomerSession,
    Engagement,
    EngagementComment,
    ImplementationMilestone,
    ReadinessCondition,
)
from partners.models.health import HealthComponent, HealthScore, HealthWeight
from partners.models.organisations import (
    Partner,
    PartnerInvitation,
    PartnerMember,
    PartnerToken,
)

__all__ = [
    "CustomerSession",
    "Engagement",
    "EngagementComment",
    "HealthComponent",
    "HealthScore",
    "HealthWeight",
    "ImplementationMilestone",
    "Partner",
    "PartnerInvitation",
    "PartnerMember",
    "PartnerToken",
    "ReadinessCondition",
]
