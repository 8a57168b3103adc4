"""Who may open a page: signed-in people, optionally of some roles."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils import timezone


def person_required(*roles):
    """Let in signed-in people, optionally only those with one of `roles`.

    The view gets the person after the request. The page is rendered in the
    person's time zone; UTC stays stored.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            person = getattr(request.user, "person", None)
            if person is None or (roles and person.role not in roles):
                raise PermissionDenied
            with timezone.override(person.time_zone):
                return view(request, person, *args, **kwargs)

        return wrapper

    return decorator
