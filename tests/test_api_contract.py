"""The API keeps to its own OpenAPI schema, whatever a client sends.

schemathesis reads /api/schema from the app in-process and, for every
operation, sends requests built from it: no answer may be a 500, and every
answer must have a documented status code, content type and body.
"""

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bowtie.models import ApiToken, Deal
from bowtie.services import issue_api_token
from bowtie.wsgi import application
from handoffs.closing import close_deal_won, save_deal_packet
from tests.deal_fixtures import COMPLETE_PACKET, build_open_deal

schema = schemathesis.openapi.from_wsgi("/api/schema", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The ids of the seeded rows by the first segment of their path, filled by the
# fixture below: random ids alone would only ever reach the 404 branch.
SEEDED_IDS: dict[str, list[int]] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    resource = context.operation.path.strip("/").split("/")[1]
    ids = SEEDED_IDS.get(resource)
    if not path_parameters or "id" not in path_parameters or not ids:
        return st.just(path_parameters)

    seeded = st.sampled_from(ids).map(lambda pk: {**path_parameters, "id": pk})
    return st.one_of(seeded, st.just(path_parameters))


@pytest.fixture
def kept_connection():
    """Keep the test's connection open across requests, as Django's Client does.

    schemathesis calls the WSGI app directly, and the app closes the
    connection when a request ends: on PostgreSQL that drops the transaction
    the `db` fixture holds, and every later query fails.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(db, kept_connection):
    """A key with every scope, acting as the head of the team a handoff goes to.

    A person's token, so the handoff actions run instead of being refused to
    an integration; unlimited, so the run never meets the rate limit.
    """
    won = build_open_deal()
    save_deal_packet(won.deal, COMPLETE_PACKET)
    handoff = close_deal_won(won.deal, actor=won.ae).handoff
    _, key = issue_api_token(
        "Contract test",
        sorted(set(ApiToken.Scope.values) - ApiToken.PARTNER_SCOPES),
        rate_per_minute=0,
        person=won.head,
    )

    SEEDED_IDS.update(
        accounts=[won.deal.account_id],
        # The deal won, and the renewal that closing it opened.
        deals=list(Deal.objects.values_list("pk", flat=True)),
        handoffs=[handoff.pk],
        milestones=list(handoff.milestones.values_list("pk", flat=True)),
        people=[won.ae.pk, won.head.pk],
        teams=[won.ae.team_id, won.implementation.pk],
    )
    yield key
    SEEDED_IDS.clear()


@schema.parametrize()
@hypothesis.settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    # The `db` fixture wraps every example of one operation in the same
    # rolled-back transaction, which is what is wanted here.
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
    ],
)
def test_api_answers_within_its_schema(case, api_key):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS
    )


def test_every_write_documents_its_idempotency_key(client, db):
    document = client.get("/api/schema", HTTP_ACCEPT="application/json").json()

    writes = {
        f"{method.upper()} {path}": operation
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch")
    }
    undocumented = sorted(
        name
        for name, operation in writes.items()
        if not any(
            (parameter["name"], parameter["in"]) == ("Idempotency-Key", "header")
            for parameter in operation.get("parameters", [])
        )
        or not {"409", "422"} <= set(operation["responses"])
    )

    # Vendor and partner writes alike, each with the key and what it may bring.
    assert {
        "POST /api/leads/",
        "PATCH /api/deals/{id}/",
        "POST /api/handoffs/{id}/complete/",
        "POST /api/signals/{id}/convert/",
        "PUT /api/partner/engagements/{id}/cs-packet/",
        "POST /api/partner/engagements/{engagement_id}/comments/",
    } <= set(writes)
    assert undocumented == []
