from rest_framework.routers import SimpleRouter

from expansion.api.views import SignalViewSet

router = SimpleRouter()
# As the other resources: integrations call with or without the slash.
router.trailing_slash = "/?"
router.register("signals", SignalViewSet, basename="api-signal")

urlpatterns = router.urls
