from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from bowtie import views
from handoffs.api.views import LeadViewSet

api = SimpleRouter()
# Integrations call /api/leads with or without the slash; both must work for POST.
api.trailing_slash = "/?"
api.register("leads", LeadViewSet, basename="api-lead")

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("notifications/", views.notifications, name="notifications"),
    path(
        "notifications/<int:pk>/open/",
        views.open_notification,
        name="notification-open",
    ),
    path("admin/", admin.site.urls),
    path("api/", include(api.urls)),
    path("", include("handoffs.urls")),
]

if settings.BOWTIE_BENCHMARK_ENDPOINTS:
    from handoffs.benchmarks.views import BaselineView

    urlpatterns.append(
        path("api/benchmark/baseline", BaselineView.as_view(), name="api-baseline")
    )
