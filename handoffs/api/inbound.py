"""POST /api/crm/inbound/<slug> and /api/crm/hubspot/<slug>: signed CRM updates.

A plain Django view, not a DRF one: the signature is the authentication, it
is computed over the raw body, and no session or token applies, so neither
DRF's authentication nor the CSRF check has anything to say here.
"""

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bowtie.models import InboundCrmEndpoint
from bowtie.signatures import HEADER
from handoffs.crm_inbound import receive_crm_delivery
from handoffs.hubspot import receive_hubspot_events


@csrf_exempt
@require_POST
def inbound_crm_delivery(request, slug):
    endpoint = InboundCrmEndpoint.objects.filter(slug=slug, is_active=True).first()
    if endpoint is None:
        return JsonResponse(
            {"detail": "No active endpoint at this address."}, status=404
        )

    answer = receive_crm_delivery(endpoint, request.body, request.headers.get(HEADER))
    return JsonResponse(answer.body, status=answer.status)


@csrf_exempt
@require_POST
def hubspot_events(request, slug):
    endpoint = InboundCrmEndpoint.objects.filter(slug=slug, is_active=True).first()
    if endpoint is None:
        return JsonResponse(
            {"detail": "No active endpoint at this address."}, status=404
        )

    # HubSpot signs the address it called, so the public one, not the host
    # a proxy in front of Bowtie forwarded to.
    uri = settings.BOWTIE_BASE_URL.rstrip("/") + request.get_full_path()
    answer = receive_hubspot_events(
        endpoint, request.method, uri, request.body, request.headers
    )
    return JsonResponse(answer.body, status=answer.status)
