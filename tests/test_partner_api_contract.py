"""The partner API keeps to its OpenAPI schema, called with a partner's token.

As tests/test_api_contract.py does for the whole API, which calls these
operations with a vendor token and so only ever meets their 403: here
schemathesis sends each /api/partner/ operation with Acme's token, with path
ids of Acme's engagement (answered in full), of Birch's (404) or random ones.
"""

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st

from bowtie.wsgi import application
from partners.tokens import issue_partner_token
from tests.partner_fixtures import build_partner_world
from tests.test_api_contract import CHECKS, kept_connection  # noqa: F401

schema = schemathesis.openapi.from_wsgi("/api/schema", application).include(
    path_regex="^/api/partner/"
)

# The engagement ids the path parameters are drawn from besides random ones,
# filled by the fixture below.
SEEDED_ENGAGEMENTS: list[int] = []
ENGAGEMENT_PARAMETERS = ("id", "engagement_id")


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    names = [name for name in ENGAGEMENT_PARAMETERS if name in (path_parameters or {})]
    if not names or not SEEDED_ENGAGEMENTS:
        return st.just(path_parameters)

    seeded = st.sampled_from(SEEDED_ENGAGEMENTS).map(
        lambda pk: {**path_parameters, **dict.fromkeys(names, pk)}
    )
    return st.one_of(seeded, st.just(path_parameters))


@pytest.fixture
def partner_key(db, kept_connection):  # noqa: F811
    """Acme's token, read and write, unlimited so the run never meets the rate."""
    world = build_partner_world()
    _, key = issue_partner_token(world.acme, "Contract test", None, rate_per_minute=0)

    SEEDED_ENGAGEMENTS.extend([world.acme_engagement.pk, world.birch_engagement.pk])
    yield key
    SEEDED_ENGAGEMENTS.clear()


@schema.parametrize()
@hypothesis.settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
    ],
)
def test_partner_api_answers_within_its_schema(case, partner_key):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {partner_key}"}, checks=CHECKS
    )
