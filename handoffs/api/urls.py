from django.conf import settings
from django.urls import path
from rest_framework.routers import SimpleRouter

from handoffs.api.views import LeadViewSet

router = SimpleRouter()
# Integrations call /api/leads with or without the slash; both must work for POST.
router.trailing_slash = "/?"
router.register("leads", LeadViewSet, basename="api-lead")

urlpatterns = router.urls

if settings.BOWTIE_BENCHMARK_ENDPOINTS:
    from handoffs.benchmarks.views import BaselineView

    urlpatterns.append(
        path("benchmark/baseline", BaselineView.as_view(), name="api-baseline")
    )
