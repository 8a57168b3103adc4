"""What the OpenAPI schema cannot read from the code by itself.

The bearer token scheme, the scope each operation needs, and the shapes of
the small objects that serializers build by hand (an owner as id, name and
e-mail), so that generated clients get types instead of strings.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import serializers


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "bowtie.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )


class ScopedAutoSchema(AutoSchema):
    """Each operation's description ends with the token scope it needs."""

    def get_description(self):
        description = super().get_description()
        scope = getattr(self.view, "required_scope", "")
        if not scope:
            return description
        needs = f"A token needs the scope `{scope}`."
        return f"{description}\n\n{needs}" if description else needs


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
