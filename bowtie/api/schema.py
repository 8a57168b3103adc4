"""What the OpenAPI schema cannot read from the code by itself.

The bearer token scheme, the scope each operation needs, and the shapes of
the small objects that serializers build by hand (an owner as id, name and
e-mail), so that generated clients get types instead of strings. And the
refusals every operation may answer with, so that a client, and the contract
test that holds the API to its schema, know a 400 or a 404 is part of it.
Every write that honours `Idempotency-Key` (`bowtie.api.idempotency`) says
so, with the 409 and 422 the key may bring.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from bowtie.api.idempotency import HEADER as IDEMPOTENCY_HEADER


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "bowtie.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )


class ApiErrorSerializer(serializers.Serializer):
    """A refusal of the request as a whole, in DRF's words."""

    detail = serializers.CharField()


# By bowtie.api.errors: the bad fields named, by field (nested for nested
# input), in `non_field_errors`, or as `errors` when there is no field.
INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Refused: the bad fields named, nothing stored."
)
REFUSED = {
    "401": OpenApiResponse(ApiErrorSerializer, description="No token, or a bad one."),
    "403": OpenApiResponse(
        ApiErrorSerializer, description="The token lacks the scope this needs."
    ),
    "429": OpenApiResponse(
        ApiErrorSerializer, description="Over the token's rate; retry after a minute."
    ),
}
NOT_FOUND = OpenApiResponse(
    ApiErrorSerializer, description="No such row, or not one the caller may see."
)
# DRF's cursor pagination answers a cursor it cannot read with 404.
INVALID_CURSOR = OpenApiResponse(
    ApiErrorSerializer, description="The `cursor` is not one this list gave out."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A key of the caller's own, up to 255 printable ASCII "
    "characters: a repeat of the request with it within 24 hours replays the "
    "first answer, marked `Idempotent-Replayed: true`, and changes nothing.",
)
IDEMPOTENT_REFUSALS = {
    "409": OpenApiResponse(
        ApiErrorSerializer,
        description="A request with this Idempotency-Key is still running; "
        "send it again in a moment.",
    ),
    "422": OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="This Idempotency-Key was first sent with another request.",
    ),
}


class ScopedAutoSchema(AutoSchema):
    """Each operation's description ends with the token scope it needs.

    Its answers list the refusals besides its own: 401, 403 and 429 for all,
    400 where it reads a body or filters, 404 where it names a row or pages
    by cursor, 409 and 422 where it takes an Idempotency-Key (a parameter it
    lists too). An answer an operation declares itself with `extend_schema`
    takes precedence.
    """

    def is_idempotent(self) -> bool:
        """Whether this operation's handler honours `Idempotency-Key`."""
        name = getattr(self.view, "action", None) or self.method.lower()
        handler = getattr(self.view, name, None)
        return getattr(handler, "is_idempotent", False)

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.is_idempotent():
            parameters = [*parameters, IDEMPOTENCY_KEY]
        return parameters

    def get_description(self):
        description = super().get_description()
        scope = getattr(self.view, "required_scope", "")
        if not scope:
            return description
        needs = f"A token needs the scope `{scope}`."
        return f"{description}\n\n{needs}" if description else needs

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses

        refusals = dict(REFUSED)
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            refusals["400"] = INVALID
        if "{" in self.path:
            refusals["404"] = NOT_FOUND
        elif self._is_list_view() and getattr(self.view, "pagination_class", None):
            refusals["404"] = INVALID_CURSOR
        if self.is_idempotent():
            refusals |= IDEMPOTENT_REFUSALS

        for code, refusal in refusals.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    refusal, code, direction=direction
                )
        return dict(sorted(responses.items()))


class ReferenceSerializer(serializers.Serializer):
    """A related row as its id and name."""

    id = serializers.IntegerField()
    name = serializers.CharField()


class PersonReferenceSerializer(ReferenceSerializer):
    email = serializers.EmailField()


class StageReferenceSerializer(ReferenceSerializer):
    outcome = serializers.CharField()


class MissingItemSerializer(serializers.Serializer):
    """A required packet item that is missing, by key and the text shown."""

    key = serializers.CharField()
    text = serializers.CharField()
