from django.urls import path

from handoffs import views

urlpatterns = [
    path("queue/", views.my_queue, name="my-queue"),
    path("team-queue/", views.team_queue, name="team-queue"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/accept/", views.lead_accept, name="lead-accept"),
    path("leads/<int:pk>/touch/", views.lead_touch, name="lead-touch"),
    path(
        "leads/<int:pk>/disposition/", views.lead_disposition, name="lead-disposition"
    ),
    path("dashboard/speed-to-lead/", views.speed_to_lead, name="speed-to-lead"),
    path("reports/sla-compliance/", views.sla_compliance, name="sla-compliance"),
    path("form/", views.public_form, name="public-form"),
    path("form/thanks/", views.public_form_thanks, name="public-form-thanks"),
]
