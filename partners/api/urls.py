"""The partner API: engagements and milestones for one partner's systems.

Every route is under /api/partner/, and the parts of an engagement under its
id, so that one check, the engagement's, guards them all (partners.api.views).
"""

from rest_framework.routers import SimpleRouter

from partners.api.views import (
    CommentViewSet,
    EngagementViewSet,
    MilestoneViewSet,
    ReadinessViewSet,
)

ENGAGEMENT = r"partner/engagements/(?P<engagement_id>[0-9]+)"

router = SimpleRouter()
# As for the other APIs: integrations call with or without the slash.
router.trailing_slash = "/?"
router.register(
    "partner/engagements", EngagementViewSet, basename="api-partner-engagement"
)
router.register(
    f"{ENGAGEMENT}/milestones", MilestoneViewSet, basename="api-partner-milestone"
)
router.register(
    f"{ENGAGEMENT}/readiness", ReadinessViewSet, basename="api-partner-readiness"
)
router.register(
    f"{ENGAGEMENT}/comments", CommentViewSet, basename="api-partner-comment"
)

urlpatterns = router.urls
