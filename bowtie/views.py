from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from bowtie import heartbeats
from bowtie.access import person_required
from bowtie.models import Notification, NotificationPreference, Person, Topic
from bowtie.services import save_notification_preferences


@login_required
def home(request):
    if hasattr(request.user, "partner_member"):
        # A partner's person has an area of its own; the core knows it by name.
        return redirect("partner-home")

    person = getattr(request.user, "person", None)
    if person is None and request.user.is_staff:
        return redirect("admin:index")
    if person is None:
        # Signed in, but nobody in the organisation: nothing to show yet.
        return render(request, "bowtie/no_person.html", status=403)
    if person.role in (Person.Role.MANAGER, Person.Role.REVOPS_ADMIN):
        return redirect("team-queue")
    return redirect("my-queue")


@person_required()
def notifications(request, person):
    if request.method == "POST":
        person.notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
        return redirect("notifications")

    items = list(person.notifications.all()[:100])
    return render(
        request,
        "bowtie/notifications.html",
        {"items": items, "has_unread": any(not item.read_at for item in items)},
    )


@require_POST
@person_required()
def open_notification(request, person, pk):
    """Mark one notification read and go to what it is about."""
    notification = get_object_or_404(Notification, pk=pk, recipient=person)
    if notification.read_at is None:
        Notification.objects.filter(pk=pk).update(read_at=timezone.now())
    return redirect(notification.url or "notifications")


@person_required(Person.Role.REVOPS_ADMIN, Person.Role.MANAGER)
def status(request, person):
    now = timezone.now()
    jobs = heartbeats.job_statuses(now)
    return render(
        request,
        "bowtie/status.html",
        {
            "jobs": jobs,
            "all_healthy": all(job.is_healthy for job in jobs),
            "now": now,
        },
    )


def status_json(request):
    """For an outside monitor: names and states only, no login, 503 when late.

    The beat job that alerts on missed heartbeats cannot report its own
    scheduler dying; something outside the portal polling this can.
    """
    jobs = heartbeats.job_statuses()
    healthy = all(job.is_healthy for job in jobs)
    body = {
        "healthy": healthy,
        "jobs": [
            {
                "name": job.name,
                "state": job.state,
                "last_succeeded_at": (
                    job.heartbeat.last_succeeded_at if job.heartbeat else None
                ),
            }
            for job in jobs
        ],
    }
    return JsonResponse(body, status=200 if healthy else 503)


@person_required()
def notification_preferences(request, person):
    """Per topic, whether e-mail and the webhook carry it; in-app always does."""
    stored = {
        preference.topic: preference
        for preference in NotificationPreference.objects.filter(person=person)
    }
    errors = {}
    if request.method == "POST":
        topics = {
            topic: (
                f"{topic}-email" in request.POST,
                f"{topic}-webhook" in request.POST,
            )
            for topic in Topic.values
        }
        try:
            save_notification_preferences(
                person,
                notify_by_email="notify_by_email" in request.POST,
                webhook_url=request.POST.get("slack_webhook_url", ""),
                topics=topics,
            )
        except ValidationError as refused:
            errors = refused.message_dict
        else:
            messages.success(request, "Notification preferences saved.")
            return redirect("notification-preferences")

    rows = [
        {
            "topic": topic,
            "label": label,
            "by_email": stored[topic].by_email if topic in stored else True,
            "by_webhook": stored[topic].by_webhook if topic in stored else True,
        }
        for topic, label in Topic.choices
    ]
    return render(
        request,
        "bowtie/notification_preferences.html",
        {
            "rows": rows,
            "errors": errors,
            "webhook_url": request.POST.get("slack_webhook_url", "")
            if errors
            else person.slack_webhook_url,
            "notify_by_email": person.notify_by_email,
        },
    )
