"""The baseline that `manage.py bench` compares lead intake with.

Mounted only when BOWTIE_BENCHMARK_ENDPOINTS is set. A request takes the same
path as POST /api/leads up to the view: middleware, token authentication, the
leads:write scope, JSON parsing. Then it does the least a write can do: one
INSERT of a row with no history, no signal and no side effect (an in-app
notification to the person who created the token). The gap between the two
endpoints is what intake itself costs.
"""

import uuid

from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from bowtie.api.authentication import HasTokenScope
from bowtie.models import ApiToken, Notification


class BaselineSerializer(serializers.Serializer):
    # The other fields of a lead submission are parsed with the body and ignored.
    email = serializers.EmailField()


class BaselineView(APIView):
    permission_classes = [HasTokenScope]
    required_scope = ApiToken.Scope.LEADS_WRITE

    def post(self, request):
        token = request.auth
        if not isinstance(token, ApiToken) or token.created_by_id is None:
            raise PermissionDenied("Call this with a token that names its creator.")
        serializer = BaselineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        notification = Notification.objects.create(
            recipient_id=token.created_by_id,
            event_key=f"benchmark:{uuid.uuid4().hex}",
            subject=f"Benchmark request for {serializer.validated_data['email']}"[:200],
            body="",
            created_at=timezone.now(),
        )
        return Response({"id": notification.pk}, status=status.HTTP_201_CREATED)
