from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from bowtie import (
    alert_views,
    dashboard_views,
    governance_views,
    measurement,
    views,
)


class HandoffConverter:
    """One of the four handoffs of the bow tie, by its key."""

    regex = "|".join(key for key, _ in measurement.Handoff.choices)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(HandoffConverter, "handoff")

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("notifications/", views.notifications, name="notifications"),
    path(
        "notifications/preferences/",
        views.notification_preferences,
        name="notification-preferences",
    ),
    path(
        "notifications/<int:pk>/open/",
        views.open_notification,
        name="notification-open",
    ),
    path("status/", views.status, name="status"),
    path(
        "settings/ownership/",
        governance_views.ownership_settings,
        name="ownership-settings",
    ),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path(
        "dashboard/<handoff:handoff>/",
        dashboard_views.dashboard,
        name="dashboard-handoff",
    ),
    path(
        "dashboard/metrics/<slug:key>/",
        dashboard_views.metric_records,
        name="metric-records",
    ),
    path(
        "dashboard/definitions/",
        dashboard_views.metric_definitions,
        name="metric-definitions",
    ),
    path("settings/targets/", dashboard_views.metric_targets, name="metric-targets"),
    path("alerts/", alert_views.alert_list, name="alert-list"),
    path("alerts/<int:pk>/", alert_views.alert_detail, name="alert-detail"),
    path(
        "settings/indicators/",
        alert_views.indicator_settings,
        name="indicator-settings",
    ),
    path("status.json", views.status_json, name="status-json"),
    path("admin/", admin.site.urls),
    # The apps bring their own routes; the core names them only by module path.
    path("api/", include("bowtie.api.urls")),
    path("api/", include("handoffs.api.urls")),
    path("api/", include("partners.api.urls")),
    path("api/", include("expansion.api.urls")),
    path("partner/", include("partners.urls")),
    path("", include("partners.vendor_urls")),
    path("", include("expansion.report_urls")),
    path("", include("expansion.urls")),
    path("", include("handoffs.urls")),
]

handler404 = "bowtie.api.errors.page_not_found"
