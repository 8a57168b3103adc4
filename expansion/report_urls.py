from django.urls import path

from expansion import report_views

urlpatterns = [
    path(
        "reports/expansion/",
        report_views.expansion_report,
        name="expansion-report",
    ),
    path("renewals/", report_views.renewal_book_page, name="renewal-book"),
    path(
        "renewals/<int:pk>/roi-report/",
        report_views.roi_report_page,
        name="renewal-roi-report",
    ),
    path(
        "renewal-actions/<int:pk>/done/",
        report_views.renewal_action_done,
        name="renewal-action-done",
    ),
]
