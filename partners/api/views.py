"""/api/partner/: one partner's engagements, for its systems and its people.

Two kinds of caller, both a partner's: a partner token (a `bowtie.ApiToken`
linked to one partner, see `partners.tokens`) and the browser session of a
partner's member. Each becomes an `Actor` that carries its partner, and every
row is read through `visible_engagements(actor)`: an engagement of another
partner answers 404, on itself and on everything under it, exactly as one
that does not exist. A token with partner scopes but no partner (or an
inactive one), a vendor token and a vendor person's session are refused 403:
this API is the partner's, and the vendor has the rest of /api/.

Reads take `partner:read`, writes `partner:write`; a member's session does
both, as in the partner area. Writes go through `partners.services`, so the
milestone order and the go-live readiness gate hold here as in the browser,
and `Idempotency-Key` makes a retried write safe.

Refusals of a write: 400 with the reasons by field, or in
`non_field_errors` for one about the engagement as a whole (customer success
has it). Go-live asked for before the five readiness conditions hold is 409,
with `readiness` naming the unmet ones: the request itself is right and will
pass unchanged once they are met, so it is the engagement's state that
conflicts, and that is mended elsewhere (PATCH .../readiness/{key}/). So
is a hand-over to customer success asked for before the CS packet is
complete: 409, with `missing` naming its items, mended by PUT
.../cs-packet/. An Idempotency-Key keeps a refusal as it keeps any 4xx: the
request sent again once the conditions hold takes a new key.
"""

from functools import cached_property

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import (
    APIException,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from rest_framework.mixins import ListModelMixin, RetrieveModelMixin
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from bowtie.api.authentication import ApiTokenAuthentication
from bowtie.api.idempotency import idempotent
from bowtie.api.schema import ApiErrorSerializer, ScopedAutoSchema
from bowtie.api.viewsets import ResourceViewSet
from bowtie.models import ApiToken
from handoffs.closing import CS_KIND, PacketIncomplete, packet_items
from handoffs.services import ActionRefused
from partners import handover
from partners.actors import Actor, actor_for_member, actor_for_token
from partners.api.filters import EngagementFilterSet
from partners.api.serializers import (
    CsPacketChangeSerializer,
    CsPacketSerializer,
    EngagementCommentSerializer,
    EngagementSerializer,
    ImplementationMilestoneSerializer,
    MilestoneChangeSerializer,
    PacketRefusalSerializer,
    ReadinessChangeSerializer,
    ReadinessConditionSerializer,
    ReadinessRefusalSerializer,
)
from partners.cs_packet_forms import cs_packet_proposals
from partners.models import (
    Engagement,
    EngagementComment,
    ImplementationMilestone,
    ReadinessCondition,
)
from partners.queries import visible_engagements
from partners.services import (
    FieldsRefused,
    ReadinessIncomplete,
    add_comment,
    log_milestone,
    update_readiness,
)

NOT_A_PARTNER = (
    "This API is for a partner's systems and people: use a partner's token or "
    "sign in as a partner's member. Vendor tokens and people use the rest of /api/."
)
NO_ACTIVE_PARTNER = "This caller is linked to no active partner; it reaches nothing."


class PartnerTokenAuthentication(ApiTokenAuthentication):
    """The bearer keys of `ApiTokenAuthentication`, named apart in the schema,
    each read with the partner it reaches."""

    def get_tokens(self):
        return super().get_tokens().select_related("partner_link__partner")


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "partners.api.views.PartnerTokenAuthentication"
    name = "partnerToken"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
        scheme["description"] = (
            "A partner's token: issued for one partner (admin, or manage.py "
            "create_partner_token), with partner:read and optionally "
            "partner:write. It reaches that partner's engagements only."
        )
        return scheme


FORBIDDEN = OpenApiResponse(
    ApiErrorSerializer,
    description="Not a partner's caller (a vendor token or person, a token with "
    "no active partner), or a token without the scope this needs.",
)


class PartnerAutoSchema(ScopedAutoSchema):
    """The refusals of the shared schema, with a 403 that says who may call."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction == "response" and "403" in responses:
            responses["403"] = self._get_response_for_code(
                FORBIDDEN, "403", direction=direction
            )
        return responses


def partner_actor_of(request) -> Actor | None:
    """The partner's caller behind a request; None for anyone else's."""
    token = request.auth if isinstance(request.auth, ApiToken) else None
    if token is not None:
        return actor_for_token(token) if token.is_for_partner() else None
    member = getattr(request.user, "partner_member", None)
    return actor_for_member(member) if member is not None else None


class IsPartnerCaller(BasePermission):
    """Let in a partner's token with the view's scope, or a partner's member.

    A caller with no partner, or one no longer active, is refused rather
    than shown empty lists, so a token issued without its link is noticed.
    """

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            # DRF answers 401 with the bearer challenge.
            return False
        actor = view.actor
        if actor is None:
            raise PermissionDenied(NOT_A_PARTNER)
        if actor.partner is None:
            raise PermissionDenied(NO_ACTIVE_PARTNER)
        token = actor.token
        if token is not None and not token.has_scope(view.required_scope):
            raise PermissionDenied(f"This token lacks the scope {view.required_scope}.")
        return True


class ReadinessConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "readiness_incomplete"

    def __init__(self, refused: ReadinessIncomplete):
        unmet = [
            {"key": condition.key, "label": condition.get_key_display()}
            for condition in refused.unmet
        ]
        super().__init__({"detail": str(refused), "readiness": unmet})


class PacketConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "packet_incomplete"

    def __init__(self, refused: PacketIncomplete):
        missing = [
            {"key": missing.key, "text": missing.text}
            for missing in refused.assessment.missing
        ]
        super().__init__({"detail": str(refused), "missing": missing})


def through_service(service, *args, **kwargs):
    """Call a write service; answer its refusals as the API does."""
    try:
        return service(*args, **kwargs)
    except ReadinessIncomplete as refused:
        raise ReadinessConflict(refused) from None
    except FieldsRefused as refused:
        raise ValidationError(
            {field: [reason] for field, reason in refused.errors.items()}
        ) from None
    except ActionRefused as refused:
        raise ValidationError({"non_field_errors": [str(refused)]}) from None
    except Engagement.DoesNotExist:
        # Given to another partner between the read and the write.
        raise NotFound() from None


ENGAGEMENT_ID = OpenApiParameter(
    "engagement_id", int, OpenApiParameter.PATH, description="The engagement's id."
)
KIND = OpenApiParameter(
    "kind",
    str,
    OpenApiParameter.PATH,
    enum=ImplementationMilestone.Kind.values,
    description="Which milestone.",
)
KEY = OpenApiParameter(
    "key",
    str,
    OpenApiParameter.PATH,
    enum=ReadinessCondition.Key.values,
    description="Which readiness condition.",
)


class PartnerViewSet(ResourceViewSet):
    """What every partner API view shares: its callers, scopes and actor."""

    authentication_classes = [PartnerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsPartnerCaller]
    schema = PartnerAutoSchema()
    read_scope = ApiToken.Scope.PARTNER_READ.value
    write_scope = ApiToken.Scope.PARTNER_WRITE.value

    @cached_property
    def actor(self) -> Actor | None:
        return partner_actor_of(self.request)

    def is_schema_view(self) -> bool:
        # drf-spectacular builds the views without a caller to read models.
        return getattr(self, "swagger_fake_view", False)


def engagements_for_api(engagements):
    """Engagements with all they show: three queries for a page of any size."""
    return engagements.select_related(
        "deal", "account", "ae", "implementation_lead", "handoff"
    ).prefetch_related(
        Prefetch("milestones", ImplementationMilestone.objects.order_by("position")),
        Prefetch("readiness", ReadinessCondition.objects.order_by("position")),
    )


class EngagementViewSet(ListModelMixin, RetrieveModelMixin, PartnerViewSet):
    """The partner's engagements, newest first, each with its brief.

    Only the partner's own: filters, search and the cursor work inside them.
    """

    serializer_class = EngagementSerializer
    filterset_class = EngagementFilterSet
    ordering = ("-assigned_at", "-id")
    ordering_fields = ["assigned_at", "updated_at"]

    def get_queryset(self):
        if self.is_schema_view():
            return Engagement.objects.none()
        return engagements_for_api(visible_engagements(self.actor))

    def get_serializer_context(self):
        # The template's items, once for the whole page.
        return super().get_serializer_context() | {"packet_items": packet_items()}

    @extend_schema(responses={200: CsPacketSerializer})
    @action(detail=True, methods=["get"], url_path="cs-packet", url_name="cs-packet")
    def cs_packet(self, request, pk=None):
        """The CS packet as saved, what it lacks, and Bowtie's proposals.

        The packet customer success takes the account with after hypercare,
        by the items of its template. `proposals` holds what Bowtie knows for
        the items still empty (training sessions, readiness evidence, the
        deal's stakeholders, usage since go-live); they count once a PUT
        sends them.
        """
        return Response(cs_packet_answer(self.get_object()))

    @extend_schema(
        request=CsPacketChangeSerializer,
        responses={200: CsPacketSerializer},
    )
    @cs_packet.mapping.put
    @idempotent
    def put_cs_packet(self, request, pk=None):
        """Save the CS packet whole, complete or not.

        Taken until customer success has the packet, and again while they
        have sent it back; each item is checked against the template.
        """
        engagement = self.get_object()
        body = CsPacketChangeSerializer(
            data=request.data, context={"packet_items": packet_items(CS_KIND)}
        )
        body.is_valid(raise_exception=True)

        through_service(
            handover.save_cs_packet,
            engagement,
            self.actor,
            body.validated_data["packet"],
        )
        return Response(cs_packet_answer(self.get_object()))

    @extend_schema(
        request=None,
        responses={
            200: CsPacketSerializer,
            "409": OpenApiResponse(
                PacketRefusalSerializer,
                description="Not handed over: `missing` names the CS packet's "
                "items it lacks; complete them (PUT .../cs-packet/), then send "
                "the request again (with a new Idempotency-Key: a key keeps this "
                "answer). Or a request with this Idempotency-Key still running "
                "(`detail` only).",
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="hand-over", url_name="hand-over")
    @idempotent
    def hand_over(self, request, pk=None):
        """Hand the live engagement to customer success, with its saved packet.

        Opens the Implementation -> CS handoff and starts its clocks; before
        hypercare's planned end too, which is then recorded as done today.
        Sent again, it answers as the first time and changes nothing.
        """
        through_service(hand_over_or_conflict, self.get_object(), self.actor)
        return Response(cs_packet_answer(self.get_object()))


def hand_over_or_conflict(engagement: Engagement, actor: Actor):
    try:
        return handover.hand_over_to_cs(engagement, actor)
    except PacketIncomplete as refused:
        raise PacketConflict(refused) from None


def cs_packet_answer(engagement: Engagement) -> dict:
    """The CS packet's representation: `CsPacketSerializer`'s data."""
    packet = engagement.cs_packet or {}
    cs_handoff = engagement.cs_handoff
    is_open = handover.is_cs_packet_open(engagement, cs_handoff)
    assessment = handover.assess_cs_packet(packet)
    state = {
        "items": packet_items(CS_KIND),
        "is_open": is_open,
        "packet": packet,
        "completeness": assessment.completeness,
        "missing": [
            {"key": missing.key, "text": missing.text} for missing in assessment.missing
        ],
        # Nothing to propose for a packet customer success has.
        "proposals": cs_packet_proposals(engagement, packet) if is_open else {},
        "handoff": cs_handoff,
    }
    return CsPacketSerializer(state).data


class EngagementPartViewSet(PartnerViewSet):
    """A part of one engagement: 404 unless the caller sees the engagement."""

    @cached_property
    def engagement(self) -> Engagement:
        return get_object_or_404(
            visible_engagements(self.actor), pk=self.kwargs["engagement_id"]
        )


@extend_schema(parameters=[ENGAGEMENT_ID])
class MilestoneViewSet(ListModelMixin, RetrieveModelMixin, EngagementPartViewSet):
    """The four milestones of an engagement, in order, each by its kind."""

    serializer_class = ImplementationMilestoneSerializer
    lookup_field = "kind"
    lookup_value_regex = "[a-z_]+"
    # Four rows, always: no pages, no filters.
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        if self.is_schema_view():
            return ImplementationMilestone.objects.none()
        return self.engagement.milestones.order_by("position")

    @extend_schema(parameters=[KIND])
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        parameters=[KIND],
        request=MilestoneChangeSerializer,
        responses={
            200: ImplementationMilestoneSerializer,
            "409": OpenApiResponse(
                ReadinessRefusalSerializer,
                description="Go-live refused: `readiness` names the conditions "
                "not met yet; meet them, then send the request again (with a new "
                "Idempotency-Key: a key keeps this answer). Or a request with "
                "this Idempotency-Key still running (`detail` only).",
            ),
        },
    )
    @idempotent
    def partial_update(self, request, *args, **kwargs):
        """Log a milestone's planned or actual date, notes, the AE's presence.

        A field left out keeps its value. A milestone is done after the one
        it follows; the kickoff done says whether the AE attended; go-live
        needs every readiness condition met, and starts hypercare.
        """
        milestone = self.get_object()
        body = MilestoneChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        milestone = through_service(
            log_milestone,
            self.engagement,
            milestone.kind,
            self.actor,
            **body.validated_data,
        )
        return Response(self.get_serializer(milestone).data)


@extend_schema(parameters=[ENGAGEMENT_ID])
class ReadinessViewSet(ListModelMixin, RetrieveModelMixin, EngagementPartViewSet):
    """The five go-live readiness conditions of an engagement, each by key."""

    serializer_class = ReadinessConditionSerializer
    lookup_field = "key"
    lookup_value_regex = "[a-z_]+"
    # Five rows, always: no pages, no filters.
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        if self.is_schema_view():
            return ReadinessCondition.objects.none()
        return self.engagement.readiness.order_by("position")

    @extend_schema(parameters=[KEY])
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        parameters=[KEY],
        request=ReadinessChangeSerializer,
        responses={200: ReadinessConditionSerializer},
    )
    @idempotent
    def partial_update(self, request, *args, **kwargs):
        """Name a condition's owner and evidence, and say whether it holds.

        Met needs both an owner and evidence; once live, a met condition
        stays met.
        """
        condition = self.get_object()
        body = ReadinessChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        condition = through_service(
            update_readiness,
            self.engagement,
            condition.key,
            self.actor,
            **body.validated_data,
        )
        return Response(self.get_serializer(condition).data)


@extend_schema(parameters=[ENGAGEMENT_ID])
class CommentViewSet(ListModelMixin, EngagementPartViewSet):
    """The thread the partner and the vendor share on an engagement, oldest
    first."""

    serializer_class = EngagementCommentSerializer
    ordering = ("created_at", "id")
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if self.is_schema_view():
            return EngagementComment.objects.none()
        return self.engagement.comments.all()

    @extend_schema(
        responses={201: EngagementCommentSerializer},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        """Write on the thread; the AE and the implementation lead are told."""
        engagement = self.engagement
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)

        comment = through_service(
            add_comment, engagement, self.actor, body.validated_data["body"]
        )
        return Response(
            self.get_serializer(comment).data, status=status.HTTP_201_CREATED
        )
