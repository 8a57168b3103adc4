"""/api/handoffs, /api/milestones and /api/packet-templates.

Handoffs are read with `handoffs:read`; `accept`, `reject`, `resubmit`,
`rate` and `complete` take `handoffs:write` and go through the services
the kind of handoff is worked with in the browser, so an action over the
API checks, clocks and tells exactly what the same button does there: a
won deal's handoff to implementation and an implementation's to customer
success are those of `handoffs.closing` (their handoff page), a CS -> Sales
handoff those of `expansion.services` (its expansion page). Which service
each kind's action calls is `handoffs.api.handoff_actions`, where the
expansion app registers its kind: this app cannot import that one, which
builds on it. An action a kind does not take answers 400 saying which it
takes; a lead's handoff takes none, as it is worked on the lead.

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
from handoffs.api.handoff_actions import actions_of, not_taken
from handoffs.api.handoff_filters import (
    HandoffFilterSet,
    MilestoneFilterSet,
    PacketTemplateFilterSet,
)
from handoffs.api.handoff_serializers import (
    HandoffCompletionSerializer,
    HandoffRatingSerializer,
    HandoffRejectionSerializer,
    HandoffSerializer,
    MilestoneSerializer,
    PacketTemplateSerializer,
)
from handoffs.closing import PacketIncomplete, RatingRefused
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

ACTION_ANSWERS = {
    200: HandoffSerializer,
    400: OpenApiResponse(
        description="Refused: reasons by field or in `non_field_errors` (an "
        "action this kind does not take among them); for an incomplete packet, "
        "the `missing` items by key and text. Nothing changed."
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
        """Take the handoff: its acceptance clock stops.

        AE briefing for a won deal's handoff, CS accepted for customer
        success's, the owner's 48 hours for an expansion (CS -> Sales).
        """
        return self.work("accept")

    @extend_schema(request=HandoffRejectionSerializer, responses=ACTION_ANSWERS)
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request, pk=None):
        """Send the handoff back to its sender with a reason.

        The receivers' clocks end; the sender's start, where the kind has
        them. An expansion goes back to the CSM.
        """
        body = HandoffRejectionSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        return self.work("reject", body.validated_data["reason"])

    @extend_schema(request=None, responses=ACTION_ANSWERS)
    @action(detail=True, methods=["post"])
    @idempotent
    def resubmit(self, request, pk=None):
        """Send a handoff that was sent back again.

        Its packet complete this time; an expansion with a fresh CSM brief.
        Taken by the sender's side.
        """
        return self.work("resubmit")

    @extend_schema(request=HandoffRatingSerializer, responses=ACTION_ANSWERS)
    @action(detail=True, methods=["post"])
    @idempotent
    def rate(self, request, pk=None):
        """Mark an accepted handoff 1-5 on each count; a new rating replaces it.

        Handoffs to implementation and to customer success; an expansion
        takes no rating.
        """
        body = HandoffRatingSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        marks = dict(body.validated_data)
        comment = marks.pop("comment")
        return self.work("rate", marks, comment)

    @extend_schema(request=HandoffCompletionSerializer, responses=ACTION_ANSWERS)
    @action(detail=True, methods=["post"])
    @idempotent
    def complete(self, request, pk=None):
        """Close an accepted expansion's deal won or lost; the handoff completes.

        CS -> Sales handoffs only, by the deal's owner or their manager. A
        new-logo deal is won only through the packet gate (`missing` names
        what it lacks). Other handoffs complete when the work they hand over
        is done.
        """
        body = HandoffCompletionSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        return self.work("complete", body.validated_data["stage"])

    def work(self, name: str, *values):
        """Take the action `name` through the service of the handoff's kind.

        404 for a handoff the caller cannot see, 403 for one they may not
        work, 400 for an action the kind does not take or one the rules
        refuse; otherwise the handoff as it now is.
        """
        handoff = self.get_object()
        actor = acting_person(self.request)
        if actor is None:
            raise PermissionDenied(NEEDS_A_PERSON)
        kind = actions_of(handoff.kind)
        taken = kind.actions.get(name) if kind is not None else None
        if taken is None:
            raise ValidationError({"non_field_errors": [not_taken(handoff, name)]})
        # The service asks again under the handoff's lock; asked here first,
        # the answer is a 403 rather than a refusal of the request itself.
        if not taken.may_act(handoff, actor):
            raise PermissionDenied(taken.only)

        try:
            taken.service(handoff, actor, *values)
        except PacketIncomplete as refused:
            return packet_refusal(refused)
        except ActionRefused as refused:
            raise (kind.answer_refusal or field_refusal)(refused) from None

        # Read back past the visibility filter, as the deals API does.
        handoff = handoffs_for_api(Handoff.objects.filter(pk=handoff.pk)).get()
        return Response(self.get_serializer(handoff).data)


def packet_refusal(refused: PacketIncomplete) -> Response:
    """The 400 of an incomplete packet: the reason and each missing item."""
    missing = [
        {"key": item.key, "text": item.text} for item in refused.assessment.missing
    ]
    body = {"non_field_errors": [str(refused)], "missing": missing}
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def field_refusal(refused: ActionRefused) -> ValidationError:
    """A refusal by the rules as a 400, as the deals API answers one.

    Bad marks by field; otherwise the state it names (already accepted, not
    yet accepted) in `non_field_errors`.
    """
    if isinstance(refused, RatingRefused):
        return ValidationError({name: [text] for name, text in refused.errors.items()})
    return ValidationError({"non_field_errors": [str(refused)]})


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
