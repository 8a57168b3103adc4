import logging

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from bowtie.api.authentication import HasTokenScope
from bowtie.api.idempotency import idempotent
from bowtie.models import Deal
from handoffs.api.filters import DealFilterSet, LeadFilterSet
from handoffs.api.serializers import (
    DealSerializer,
    LeadBatchAnswerSerializer,
    LeadSerializer,
    lead_representation,
)
from handoffs.closing import packet_items
from handoffs.deal_changes import DealChangeRefused, change_deal
from handoffs.models import Handoff, IntakeChannel, Lead
from handoffs.queries import leads_with_due, visible_deals, visible_leads
from handoffs.services import IntakeRejected, intake_lead

logger = logging.getLogger(__name__)


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
        is_write = self.action in ("create", "batch")
        return "leads:write" if is_write else "leads:read"

    @idempotent
    def create(self, request, *args, **kwargs):
        data = request.data.dict() if hasattr(request.data, "dict") else request.data
        code, body = self.take_in(data)
        return Response(body, status=code)

    # A JSON list only: a form cannot carry one.
    @extend_schema(
        request={"application/json": LeadSerializer(many=True)},
        responses={
            200: LeadBatchAnswerSerializer,
            500: OpenApiResponse(
                LeadBatchAnswerSerializer,
                description="A lead failed on the server; the others are answered.",
            ),
        },
    )
    @action(detail=False, methods=["post"])
    @idempotent
    def batch(self, request, *args, **kwargs):
        """Take in a list of leads, in order, each as POST /api/leads would.

        Answers 200 with each lead's index, status and body, the answer the
        single endpoint would have given it; one refused lead leaves the others
        stored.
        """
        leads = request.data
        limit = settings.BOWTIE_LEAD_BATCH_LIMIT
        if not isinstance(leads, list):
            raise ValidationError({"non_field_errors": ["Send a JSON list of leads."]})
        if not 1 <= len(leads) <= limit:
            raise ValidationError(
                {
                    "non_field_errors": [
                        f"Send from 1 to {limit} leads in one batch; "
                        f"this one has {len(leads)}."
                    ]
                }
            )

        # No transaction around the loop: intake commits each lead on its own,
        # and inside a caller's transaction it would give up the lock under
        # which one person's intakes take turns.
        results = []
        for index, data in enumerate(leads):
            try:
                code, body = self.take_in(data)
            except Exception:
                # Its own intake rolled back; the leads before it are stored
                # and their answers must not be lost with this one.
                logger.exception("lead %s of a batch failed", index)
                code = status.HTTP_500_INTERNAL_SERVER_ERROR
                body = {"detail": "Server error; send this lead again."}
            results.append({"index": index, "status": code, "body": body})
        # A lead that failed on the server is for sending again: answered as a
        # server error, so an idempotency key does not keep this answer, and
        # the leads already stored come back as repeats on the retry.
        failed = any(result["status"] >= 500 for result in results)
        return Response(
            {"results": results},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR if failed else 200,
        )

    def take_in(self, data) -> tuple[int, dict]:
        """Take in one submission: the status and body of its answer."""
        if not isinstance(data, dict):
            return status.HTTP_400_BAD_REQUEST, {
                "non_field_errors": ["Send one JSON object."]
            }
        try:
            result = intake_lead(data, channel=IntakeChannel.API)
        except IntakeRejected as rejected:
            return status.HTTP_400_BAD_REQUEST, rejected.errors

        lead = result.lead
        if result.created:
            # Intake holds the new lead, its due time and its decision: answer
            # from those, as the list's annotation and prefetch would.
            lead.first_response_due_at = result.first_response_due_at
            lead.routing_reason = result.decision.reason
        else:
            # Not through get_queryset: a repeat of a lead the caller may not
            # see still answers, with what the single endpoint says of it.
            lead = leads_with_due(Lead.objects.filter(pk=lead.pk)).get()
        body = lead_representation(lead) | {"repeat": not result.created}
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return code, body


def deals_for_api(deals):
    """Deals with what their representation reads, in one query for a page."""
    handoffs = Handoff.objects.filter(
        deal=OuterRef("pk"), kind=Handoff.Kind.SALES_TO_IMPLEMENTATION
    )
    renewals = Deal.objects.filter(renews=OuterRef("pk"))
    return deals.select_related(
        "account", "owner", "pipeline", "stage", "product"
    ).annotate(
        implementation_handoff_id=Subquery(handoffs.values("pk")[:1]),
        renewal_deal_id=Subquery(renewals.values("pk")[:1]),
    )


def refusal_answer(refused: DealChangeRefused) -> Response:
    """400 with each field's reasons, and the packet items a close lacked.

    400 and not 409 for the packet gate as well: the caller can mend the
    request itself, by sending the missing items in `packet` beside the
    stage, and one status for every refusal keeps integrations simple.
    """
    body = dict(refused.errors)
    if refused.missing:
        body["missing"] = [
            {"key": item.key, "text": item.text} for item in refused.missing
        ]
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class DealPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class DealViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Deals: POST creates one, PATCH changes one, both through `change_deal`.

    A PATCH to the won stage closes the deal through the packet gate. There
    is no PUT: a deal is changed field by field, and its packet, when sent,
    replaces the stored one whole.
    """

    serializer_class = DealSerializer
    filterset_class = DealFilterSet
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    # Sync clients walk `?ordering=updated_at&updated_since=...`: a deal
    # changed during the walk moves behind the cursor and is read again, not
    # skipped.
    ordering_fields = ["created_at", "updated_at"]
    permission_classes = [HasTokenScope]
    pagination_class = DealPagination

    def get_queryset(self):
        deals = Deal.objects.all()
        person = getattr(self.request.user, "person", None)
        if person is not None:
            deals = visible_deals(person).distinct()
        return deals_for_api(deals)

    def get_serializer_context(self):
        return super().get_serializer_context() | {"packet_items": packet_items()}

    @property
    def required_scope(self):
        # By method, not action: a PUT, which has no action, is a write too.
        is_read = self.request.method in SAFE_METHODS
        return "deals:read" if is_read else "deals:write"

    @idempotent
    def create(self, request, *args, **kwargs):
        try:
            change = change_deal(
                None,
                request_object(request),
                actor=acting_person(request),
                source="api",
            )
        except DealChangeRefused as refused:
            return refusal_answer(refused)

        # Read back past the visibility filter: a deal created for another
        # owner is answered once, even if its creator cannot list it later.
        deal = deals_for_api(Deal.objects.filter(pk=change.deal.pk)).get()
        return Response(self.get_serializer(deal).data, status=status.HTTP_201_CREATED)

    @idempotent
    def partial_update(self, request, *args, **kwargs):
        deal = self.get_object()
        try:
            change = change_deal(
                deal,
                request_object(request),
                actor=acting_person(request),
                source="api",
            )
        except DealChangeRefused as refused:
            return refusal_answer(refused)

        deal = deals_for_api(Deal.objects.filter(pk=change.deal.pk)).get()
        return Response(self.get_serializer(deal).data)


def request_object(request) -> dict:
    data = request.data.dict() if hasattr(request.data, "dict") else request.data
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Send one JSON object."]})
    return data


def acting_person(request):
    return getattr(request.user, "person", None)
