from django.conf import settings
from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from handoffs.api.handoff_views import (
    HandoffViewSet,
    MilestoneViewSet,
    PacketTemplateViewSet,
)
from handoffs.api.inbound import hubspot_events, inbound_crm_delivery
from handoffs.api.views import DealViewSet, LeadViewSet

router = SimpleRouter()
# Integrations call /api/leads with or without the slash; both must work for POST.
router.trailing_slash = "/?"
router.register("leads", LeadViewSet, basename="api-lead")
router.register("deals", DealViewSet, basename="api-deal")
router.register("handoffs", HandoffViewSet, basename="api-handoff")
router.register("milestones", MilestoneViewSet, basename="api-milestone")
router.register(
    "packet-templates", PacketTemplateViewSet, basename="api-packet-template"
)

urlpatterns = [
    *router.urls,
    re_path(
        r"^crm/inbound/(?P<slug>[-\w]+)/?$",
        inbound_crm_delivery,
        name="api-crm-inbound",
    ),
    re_path(
        r"^crm/hubspot/(?P<slug>[-\w]+)/?$", hubspot_events, name="api-crm-hubspot"
    ),
]

if settings.BOWTIE_BENCHMARK_ENDPOINTS:
    from handoffs.benchmarks.views import BaselineView, StoredRowsView

    urlpatterns += [
        path("benchmark/baseline", BaselineView.as_view(), name="api-baseline"),
        path("benchmark/rows", StoredRowsView.as_view(), name="api-bench-rows"),
    ]
