from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from bowtie.api.authentication import HasTokenScope
from handoffs.api.filters import LeadFilterSet
from handoffs.api.serializers import LeadSerializer
from handoffs.models import IntakeChannel, Lead
from handoffs.queries import leads_with_due, visible_leads
from handoffs.services import IntakeRejected, intake_lead


class LeadPagination(CursorPagination):
    # The default cursor orders by "-created", which leads do not have.
    ordering = ("-received_at", "-id")


class LeadViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Leads: POST takes a submission through the intake service."""

    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet
    permission_classes = [HasTokenScope]
    pagination_class = LeadPagination

    def get_queryset(self):
        leads = Lead.objects.all()
        person = getattr(self.request.user, "person", None)
        if person is not None:
            leads = visible_leads(person).distinct()
        return leads_with_due(leads).prefetch_related("decisions")

    @property
    def required_scope(self):
        return "leads:write" if self.action == "create" else "leads:read"

    def create(self, request, *args, **kwargs):
        data = request.data.dict() if hasattr(request.data, "dict") else request.data
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["Send one JSON object."]})
        try:
            result = intake_lead(data, channel=IntakeChannel.API)
        except IntakeRejected as rejected:
            raise ValidationError(rejected.errors) from None

        lead = result.lead
        if result.created:
            # Intake holds the new lead, its due time and its decision: answer
            # from those, as the list's annotation and prefetch would.
            lead.first_response_due_at = result.first_response_due_at
            lead.routing_reason = result.decision.reason
        else:
            lead = self.get_queryset().get(pk=lead.pk)
        body = self.get_serializer(lead).data | {"repeat": not result.created}
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(body, status=code)
