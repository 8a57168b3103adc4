from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from bowtie.models import Person


@login_required
def home(request):
    person = getattr(request.user, "person", None)
    if person is None:
        return redirect("admin:index") if request.user.is_staff else redirect("logout")
    if person.role in (Person.Role.MANAGER, Person.Role.REVOPS_ADMIN):
        return redirect("team-queue")
    return redirect("my-queue")


@login_required
def notifications(request):
    person = getattr(request.user, "person", None)
    items = person.notifications.all()[:100] if person else []
    if person and request.method == "POST":
        person.notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
        return redirect("notifications")
    return render(request, "bowtie/notifications.html", {"items": items})
