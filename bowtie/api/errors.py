"""API errors: always a JSON object with the bad fields named."""

from django.http import JsonResponse
from django.views import defaults
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"errors": response.data}
    return response


def page_not_found(request, exception):
    """Answer an address under /api/ that no route matches as the API would.

    A path id that is not a number (`/api/deals/0.5/`) matches no route, so
    DRF never sees it; a client must still get JSON, not the HTML page.
    """
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
