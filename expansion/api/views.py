"""/api/signals: expansion signals, raised, dismissed and turned into deals.

Read with `signals:read`; POST, `dismiss` and `convert` take `signals:write`
and go through `expansion.services`, so a signal sent by a CRM is checked,
deduplicated and told exactly as one flagged on the account page. A raise of
a kind already open on the account answers 200 with that signal and
`repeat: true` instead of 201.

An integration's token (acting as nobody) raises and dismisses signals; a
conversion is taken as a person, a CSM or an account manager, because the
handoff it opens is sent by them: sign in, or use a token issued for one.
"""

from djmoney.money import Money
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.mixins import ListModelMixin, RetrieveModelMixin
from rest_framework.response import Response

from bowtie.api.idempotency import idempotent
from bowtie.api.viewsets import ResourceViewSet, acting_person
from expansion.api.filters import SignalFilterSet
from expansion.api.serializers import (
    ConversionAnswerSerializer,
    RaisedSignalSerializer,
    SignalConversionSerializer,
    SignalDismissalSerializer,
    SignalRaiseSerializer,
    SignalSerializer,
)
from expansion.models import Signal
from expansion.queries import signals_for_list, visible_signals
from expansion.services import (
    NotAllowed,
    SignalRefused,
    convert_signal,
    dismiss_signal,
    raise_signal,
)
from handoffs.services import ActionRefused

NEEDS_A_PERSON = (
    "A conversion is taken as a person: sign in, or use a token issued for one."
)
REFUSED = OpenApiResponse(
    description="Refused: reasons by field or in `non_field_errors`. Nothing changed."
)


def refusal(refused: ActionRefused):
    """A service's refusal as the API answers it: 403 for who, 400 for what."""
    if isinstance(refused, NotAllowed):
        return PermissionDenied(str(refused))
    if isinstance(refused, SignalRefused):
        return ValidationError(refused.errors)
    return ValidationError({"non_field_errors": [str(refused)]})


class SignalViewSet(ListModelMixin, RetrieveModelMixin, ResourceViewSet):
    """Expansion signals of the accounts the caller may see, newest first.

    Filter by `kind`, `category` (usage, relationship, commercial, outcome),
    `status`, `source`, `account` and `raised_since`.
    """

    serializer_class = SignalSerializer
    filterset_class = SignalFilterSet
    ordering = ("-raised_at", "-id")
    ordering_fields = ["raised_at"]
    read_scope = "signals:read"
    write_scope = "signals:write"

    def get_queryset(self):
        return signals_for_list(visible_signals(acting_person(self.request)))

    def read_back(self, signal: Signal):
        # Past the visibility filter, as the deals API answers its writes.
        return signals_for_list(Signal.objects.filter(pk=signal.pk)).get()

    @extend_schema(
        request=SignalRaiseSerializer,
        responses={201: RaisedSignalSerializer, 200: RaisedSignalSerializer},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        """Raise a signal; one already open of the kind answers 200 as a repeat."""
        body = SignalRaiseSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        values = body.validated_data
        try:
            signal = raise_signal(
                values["account"],
                values["kind"],
                Signal.Source.API,
                acting_person(request),
                evidence=values["evidence"],
                details=values["details"],
            )
        except ActionRefused as refused:
            raise refusal(refused) from None

        answer = RaisedSignalSerializer(
            self.read_back(signal), context=self.get_serializer_context()
        ).data | {"repeat": signal.is_repeat}
        code = status.HTTP_200_OK if signal.is_repeat else status.HTTP_201_CREATED
        return Response(answer, status=code)

    @extend_schema(
        request=SignalDismissalSerializer,
        responses={200: SignalSerializer, 400: REFUSED},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def dismiss(self, request, pk=None):
        """Close an open signal as not worth a deal, with the reason."""
        signal = self.get_object()
        body = SignalDismissalSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        try:
            dismiss_signal(
                signal, acting_person(request), body.validated_data["reason"]
            )
        except ActionRefused as refused:
            raise refusal(refused) from None
        return Response(self.get_serializer(self.read_back(signal)).data)

    @extend_schema(
        request=SignalConversionSerializer,
        responses={201: ConversionAnswerSerializer, 400: REFUSED},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def convert(self, request, pk=None):
        """Turn an open signal into an expansion deal, owned by the thresholds.

        Opens the CS -> Sales handoff with the CSM brief and its clocks. A
        cross-sell needs `affects_existing_unit`; false makes a new-logo deal.
        """
        signal = self.get_object()
        actor = acting_person(request)
        if actor is None:
            raise PermissionDenied(NEEDS_A_PERSON)
        body = SignalConversionSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        values = body.validated_data
        try:
            conversion = convert_signal(
                signal,
                actor,
                values["expansion_type"],
                values["name"],
                Money(values["amount"], values["currency"]),
                values["affects_existing_unit"],
            )
        except ActionRefused as refused:
            raise refusal(refused) from None

        deal = conversion.deal
        value = conversion.handoff.annual_value_eur
        answer = {
            "signal": self.get_serializer(self.read_back(conversion.signal)).data,
            "deal": {"id": deal.pk, "name": deal.name},
            "handoff_id": conversion.handoff.pk,
            "owner": {
                "id": deal.owner.pk,
                "name": deal.owner.full_name,
                "email": deal.owner.email,
            },
            "pipeline": {"id": deal.pipeline_id, "name": deal.pipeline.name},
            "stage": {"id": deal.stage_id, "name": deal.stage.name},
            "source": deal.source,
            "expands_id": deal.expands_id,
            "annual_value_eur": None if value is None else f"{value:.2f}",
        }
        # Built as `ConversionAnswerSerializer` documents it, from rows at hand.
        return Response(answer, status=status.HTTP_201_CREATED)
