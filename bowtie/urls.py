from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from bowtie import dashboard_views, governance_views, measurement, views

HANDOFF_PATTERN = "|".join(key for key, _ in measurement.Handoff.choices)

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
    re_path(
        rf"^dashboard/(?P<handoff>{HANDOFF_PATTERN})/$",
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
