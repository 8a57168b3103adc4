"""/api/handoffs, /api/milestones and /api/packet-templates.

Handoffs are read with `handoffs:read`; `accept`, `reject`, `resubmit` and
`rate` take `handoffs:write` and go through the services of
`handoffs.closing`, so an action over the API checks, clocks and tells
exactly what the same button on the handoff page does. They work a won
deal's handoff to implementation and an implementation's to customer
success.

Those services take the person who acts, and so does the API: a signed-in
person, or a token issued for one person (`ApiToken.person`). A token of an
integration, which acts as nobody, is refused these actions. Letting such a
token name its actor in the body was the other way; it is not taken because
every integration holding `handoffs:write` could then act as anyone on a
receiving team, and the history and the notices would name a person who
did nothing. A person's token is bound to them when an admin issues it,
dies with them, stops when they are made inactive, and sees only what they
may.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.mixins import ListModelMixin, RetrieveModelMixin
from rest_framework.response import Response

from bowtie.api.idempotency import idempotent
from bowtie.api.viewsets import ResourceViewSet, acting_person
from handoffs.api.handoff_filters import (
    HandoffFilterSet,
    MilestoneFilterSet,
    PacketTemplateFilterSet,
)
from handoffs.api.handoff_serializers import (
    HandoffRatingSerializer,
    HandoffRejectionSerializer,
    HandoffSerializer,
    MilestoneSerializer,
    PacketTemplateSerializer,
)
from handoffs.closing import (
    FLOWS,
    PacketIncomplete,
    RatingRefused,
    accept_implementation_handoff,
    can_resubmit,
    can_work_received_handoff,
    rate_handoff,
    reject_implementation_handoff,
    resubmit_implementation_handoff,
)
from handoffs.models import (
    Handoff,
    HandoffParticipant,
    HandoffTask,
    Milestone,
    PacketTemplate,
)
from handoffs.queries import visible_handoffs
from handoffs.services import ActionRefused

NEEDS_A_PERSON = (
    "This action is taken as a person: sign in, or use a token issued for one."
)
ONLY_RECEIVERS = "Only the receiving team works this handoff."
# TODO(api): the sales -> implementation and implementation -> CS kinds have
# these services; a lead's handoff is worked on the lead. The CS -> Sales kind
# is worked on its expansion page (expansion.services accept_expansion and
# the rest); route it to those when a CRM works expansion handoffs over the API.
OTHER_KIND = (
    "Only handoffs to implementation and to customer success take these "
    "actions; a lead's handoff is worked on the lead."
)

ACTION_ANSWERS = {
    200: HandoffSerializer,
    400: OpenApiResponse(
        description="Refused: reasons by field or in `non_field_errors`; for an "
        "incomplete packet, the `missing` items by key and text. Nothing changed."
    ),
    403: OpenApiResponse(
        description="Not taken as a person, or by one who may not take it."
    ),
}


def handoffs_for_api(handoffs):
    """Handoffs with all they show: four queries for a page of any size.

    The nested lists end on the id, so that two reads list ties alike.
    """
    return handoffs.select_related("rating").prefetch_related(
        Prefetch("milestones", Milestone.objects.order_by("due_at", "id")),
        Prefetch("participants", HandoffParticipant.objects.order_by("role", "id")),
        Prefetch("tasks", HandoffTask.objects.order_by("due_at", "id")),
    )


class HandoffViewSet(ListModelMixin, RetrieveModelMixin, ResourceViewSet):
    """Handoffs with their packet, clocks, participants, tasks and rating.

    Signed-in people and a person's token see the handoffs their side
    receives and those of the leads and deals they may open.
    """

    serializer_class = HandoffSerializer
    filterset_class = HandoffFilterSet
    ordering = ("-opened_at", "-id")
    ordering_fields = ["opened_at", "updated_at"]
    read_scope = "handoffs:read"
    write_scope = "handoffs:write"

    def get_queryset(self):
        handoffs = Handoff.objects.all()
        person = acting_person(self.request)
        if person is not None:
            handoffs = visible_handoffs(person).distinct()
        return handoffs_for_api(handoffs)

    @extend_schema(request=None, responses=ACTION_ANSWERS)
    @action(detail=True, methods=["post"])
    @idempotent
    def accept(self, request, pk=None):
        """Take the handoff: its acceptance clock (AE briefing, CS accepted) stops."""
        handoff, actor = self.get_handoff_to_work(can_work_received_handoff)
        return self.answer_after(accept_implementation_handoff, handoff, actor)

    @extend_schema(request=HandoffRejectionSerializer, responses=ACTION_ANSWERS)
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request, pk=None):
        """Send the handoff back to its sender with a reason; their clock starts."""
        handoff, actor = self.get_handoff_to_work(can_work_received_handoff)
        body = HandoffRejectionSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        reason = body.validated_data["reason"]
        return self.answer_after(reject_implementation_handoff, handoff, actor, reason)

    @extend_schema(request=None, responses=ACTION_ANSWERS)
    @action(detail=True, methods=["post"])
    @idempotent
    def resubmit(self, request, pk=None):
        """Send a handoff that was sent back again, its packet now complete."""
        handoff, actor = self.get_handoff_to_work(can_resubmit, only_sender=True)
        return self.answer_after(resubmit_implementation_handoff, handoff, actor)

    @extend_schema(request=HandoffRatingSerializer, responses=ACTION_ANSWERS)
    @action(detail=True, methods=["post"])
    @idempotent
    def rate(self, request, pk=None):
        """Mark an accepted handoff 1-5 on each count; a new rating replaces it."""
        handoff, actor = self.get_handoff_to_work(can_work_received_handoff)
        body = HandoffRatingSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        marks = dict(body.validated_data)
        comment = marks.pop("comment")
        return self.answer_after(rate_handoff, handoff, actor, marks, comment)

    def get_handoff_to_work(self, may_act, only_sender=False):
        """The handoff and its actor, or the status that says why not: 404
        for a handoff they cannot see, 403 for one they may not work."""
        handoff = self.get_object()
        actor = acting_person(self.request)
        if actor is None:
            raise PermissionDenied(NEEDS_A_PERSON)
        if handoff.kind not in FLOWS:
            raise ValidationError({"non_field_errors": [OTHER_KIND]})
        # The service asks again under the handoff's lock; asked here first,
        # the answer is a 403 rather than a refusal of the request itself.
        if not may_act(handoff, actor):
            raise PermissionDenied(
                FLOWS[handoff.kind].only_sender if only_sender else ONLY_RECEIVERS
            )
        return handoff, actor

    def answer_after(self, service, handoff, actor, *args):
        """Call the service; answer the handoff as it now is, or a 400.

        400 for every refusal, as the deals API does: the state it names
        (already accepted, the packet incomplete) is in the message.
        """
        try:
            service(handoff, actor, *args)
        except PacketIncomplete as refused:
            missing = [
                {"key": item.key, "text": item.text}
                for item in refused.assessment.missing
            ]
            body = {"non_field_errors": [str(refused)], "missing": missing}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        except RatingRefused as refused:
            raise ValidationError(
                {name: [text] for name, text in refused.errors.items()}
            ) from None
        except ActionRefused as refused:
            raise ValidationError({"non_field_errors": [str(refused)]}) from None

        # Read back past the visibility filter, as the deals API does.
        handoff = handoffs_for_api(Handoff.objects.filter(pk=handoff.pk)).get()
        return Response(self.get_serializer(handoff).data)


class MilestoneViewSet(ListModelMixin, RetrieveModelMixin, ResourceViewSet):
    """The clocks of the handoffs the caller may see, soonest due first."""

    serializer_class = MilestoneSerializer
    filterset_class = MilestoneFilterSet
    ordering = ("due_at", "id")
    ordering_fields = ["due_at", "started_at"]
    read_scope = "handoffs:read"

    def get_queryset(self):
        milestones = Milestone.objects.all()
        person = acting_person(self.request)
        if person is not None:
            milestones = milestones.filter(handoff__in=visible_handoffs(person))
        return milestones


class PacketTemplateViewSet(ListModelMixin, RetrieveModelMixin, ResourceViewSet):
    """What each kind of handoff's packet holds, item by item with its parts.

    Every signed-in person reads them: the AE fills the packet they define.
    """

    queryset = PacketTemplate.objects.prefetch_related("items")
    serializer_class = PacketTemplateSerializer
    filterset_class = PacketTemplateFilterSet
    ordering = ("handoff_kind",)
    ordering_fields = ["handoff_kind", "updated_at"]
    read_scope = "handoffs:read"
