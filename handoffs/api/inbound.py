"""POST /api/crm/inbound/<slug>: a CRM's signed deal updates.

A plain Django view, not a DRF one: the signature is the authentication, it
is computed over the raw body, and no session or token applies, so neither
DRF's authentication nor the CSRF check has anything to say here.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bowtie.models import InboundCrmEndpoint
from bowtie.signatures import HEADER
from handoffs.crm_inbound import receive_crm_delivery


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
