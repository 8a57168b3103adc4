"""What every API resource shares, so each viewset names only its own parts.

A resource viewset names its queryset, serializer, filterset, default order
and scopes; this module gives it the token scope check, the filters, the
ordering a client asks for and cursor pagination. A writable one also names
the service that validates and saves its rows: the serializer only checks
the shape of a request, the service decides and writes.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as ModelValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from bowtie.api.authentication import HasTokenScope
from bowtie.api.idempotency import idempotent


def acting_person(request):
    """The person a request acts as: the session's, or a person's token's.

    None for an integration's token, which acts as nobody.
    """
    return getattr(request.user, "person", None)


class StableOrderingFilter(OrderingFilter):
    """The order a client asks for, then the id, so that ties keep an order.

    Cursor pagination walks ties by their position, which holds only if two
    requests list them the same way.
    """

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if not ordering or ordering[-1].lstrip("-") in ("id", "pk"):
            return ordering
        tie_break = "-id" if ordering[0].startswith("-") else "id"
        return (*ordering, tie_break)


class ResourceViewSet(viewsets.GenericViewSet):
    """A resource read with `read_scope` and written with `write_scope`.

    A signed-in person needs no scope: `get_queryset` narrows the rows to the
    ones they may see instead.
    """

    permission_classes = [HasTokenScope]
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    read_scope = ""
    write_scope = ""

    @property
    def required_scope(self):
        # By method, not action: a PUT, which has no action, is a write too.
        # A read-only resource asks for its read scope whatever the method, so
        # that a write is answered 405 rather than as a missing scope.
        if self.request.method in SAFE_METHODS or not self.write_scope:
            return self.read_scope
        return self.write_scope


class ServiceWriteMixin:
    """POST creates and PATCH changes a row through the viewset's `service`.

    `service(row, values, actor=person)`, a staticmethod, takes None to
    create; the model's own checks run there and a refusal names each field.
    There is no PUT: a row is changed field by field.
    """

    service = None

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        row = self.save_through_service(None, serializer.validated_data)
        return Response(self.get_serializer(row).data, status=status.HTTP_201_CREATED)

    @idempotent
    def partial_update(self, request, *args, **kwargs):
        row = self.get_object()
        serializer = self.get_serializer(row, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)

        row = self.save_through_service(row, serializer.validated_data)
        return Response(self.get_serializer(row).data)

    def save_through_service(self, row, values):
        try:
            saved = self.service(row, values, actor=acting_person(self.request))
        except ModelValidationError as refused:
            raise ValidationError(field_errors(refused)) from None
        # Read back through the queryset, with what the list prefetches.
        return self.get_queryset().get(pk=saved.pk)


def field_errors(refused: ModelValidationError) -> dict[str, list[str]]:
    """A model's refusal as the API answers one: reasons by field name."""
    if not hasattr(refused, "error_dict"):
        return {"non_field_errors": refused.messages}
    errors = refused.message_dict
    if NON_FIELD_ERRORS in errors:
        errors["non_field_errors"] = errors.pop(NON_FIELD_ERRORS)
    return errors
