"""The endpoints that `manage.py bench` compares lead intake with.

Mounted only when BOWTIE_BENCHMARK_ENDPOINTS is set. A request takes the same
path as POST /api/leads up to the view: middleware, token authentication, the
leads:write scope, JSON parsing. Then the baseline does the least a write can
do: one INSERT of a row with no history, no signal and no side effect (an
in-app notification to the person who created the token). The gap between the
two is what intake itself costs. A third endpoint stores and sends what intake
does for a lead, without deciding any of it, to split that gap in two.
"""

import functools
import itertools
import uuid

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bowtie.api.authentication import HasTokenScope
from bowtie.models import ApiToken, Notification, Person, Team
from handoffs.benchmarks.workspace import BENCH_TEAM_NAME, LOAD_GENERATOR_EMAIL
from handoffs.configuration_cache import Configuration, current_configuration
from handoffs.intake_writes import write_new_lead
from handoffs.models import Handoff, IntakeChannel, Lead, LeadType, RoutingDecision
from handoffs.routing import RoutingOutcome


class BaselineSerializer(serializers.Serializer):
    # The other fields of a lead submission are parsed with the body and ignored.
    email = serializers.EmailField()


class IsBenchToken(HasTokenScope):
    """Only the token the bench made for its load generator.

    These endpoints write around the services, so even with
    BOWTIE_BENCHMARK_ENDPOINTS set by mistake no integration can use them.
    """

    message = "Only the bench's own token may call this."

    def has_permission(self, request, view):
        token = request.auth
        return (
            super().has_permission(request, view)
            and isinstance(token, ApiToken)
            and token.created_by_id is not None
            and token.created_by_id == load_generator_id()
        )


@functools.cache
def load_generator_id() -> int | None:
    """The bench's load generator, looked up once a process."""
    return (
        Person.objects.filter(email=LOAD_GENERATOR_EMAIL)
        .values_list("pk", flat=True)
        .first()
    )


class BaselineView(APIView):
    permission_classes = [IsBenchToken]
    required_scope = ApiToken.Scope.LEADS_WRITE

    def post(self, request):
        token = request.auth
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


class StoredRowsView(APIView):
    """What an intake stores and sends, without the work that decides it.

    The same rows through the same code as intake (write_new_lead): the lead,
    its routing decision, first touch, handoff, clocks and their rungs, the
    owner's notification and its e-mail, and their audit history. Nothing is
    normalised, looked up, scored or routed: every lead is a hand-raiser, and
    the owner is the next of the team's reps in this process's own turn.

    Beside the baseline, it prices the records intake keeps for each lead;
    beside intake, the deciding.
    """

    permission_classes = [IsBenchToken]
    required_scope = ApiToken.Scope.LEADS_WRITE

    def post(self, request):
        team, reps, configuration = bench_team()
        data = request.data
        now = timezone.now()
        owner = reps[next(TURNS) % len(reps)]
        lead = Lead(
            email=data.get("email", ""),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            company_name=data.get("company_name", ""),
            lead_type=LeadType.HAND_RAISER,
            channel=IntakeChannel.API,
            received_at=now,
            team=team,
            owner=owner,
        )
        outcome = RoutingOutcome(
            step=RoutingDecision.Step.DEFAULT_TEAM,
            team=team,
            person=owner,
            reason=f"Next of {team} in the bench's own turn: {owner}.",
        )

        with transaction.atomic():
            write_new_lead(
                lead,
                outcome,
                channel=IntakeChannel.API,
                packet={},
                now=now,
                is_live=True,
                policies=configuration.policies_for(
                    Handoff.Kind.LEAD_TO_SALES, LeadType.HAND_RAISER
                ),
                configuration=configuration,
            )
        return Response({"id": lead.pk}, status=status.HTTP_201_CREATED)


TURNS = itertools.count()


@functools.cache
def bench_team() -> tuple[Team, list[Person], Configuration]:
    """The bench's team, its reps and the configuration, read once a process."""
    team = Team.objects.get(name=BENCH_TEAM_NAME)
    reps = list(team.members.filter(role=Person.Role.SDR).order_by("pk"))
    return team, reps, current_configuration()
