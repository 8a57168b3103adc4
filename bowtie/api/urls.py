"""The core records under /api/, and the schema and docs of the whole API.

The schema is generated from every API view, the other apps' included, and
served without sign-in: it is the same for every install of this code and
shows no data.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from bowtie.api.views import (
    AccountViewSet,
    ContactViewSet,
    OwnershipBandViewSet,
    PersonViewSet,
    TeamViewSet,
)

router = SimpleRouter()
# As for leads and deals: integrations call with or without the slash.
router.trailing_slash = "/?"
router.register("accounts", AccountViewSet, basename="api-account")
router.register("contacts", ContactViewSet, basename="api-contact")
router.register("people", PersonViewSet, basename="api-person")
router.register("teams", TeamViewSet, basename="api-team")
router.register("ownership-bands", OwnershipBandViewSet, basename="api-ownership-band")

urlpatterns = [
    *router.urls,
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI alone: drf-spectacular's Redoc page loads its fonts from
    # Google, which an install without internet cannot reach.
    path(
        "docs",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
]
