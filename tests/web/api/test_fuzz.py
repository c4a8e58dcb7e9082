"""The API fuzzed by schemathesis from its own OpenAPI document (issue 13, point 9): every
operation, with data that fits the document and data that does not, through the WSGI app with
a real API token. No answer may be a 5xx, and every answer must be what the document says
(status code, content type, headers and body schema). Derandomized, so CI sees the same cases
every run; on SQLite, as the rest of the suite runs by default.

The document is loaded when the tests are collected (schemathesis's fixture-based loader does
not work with pytest 9), and the fixture checks that the app serves exactly that document."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from alumni.accounts.api_tokens import create_token
from alumni.extensions import db
from alumni.web.api import openapi
from tests.support.factories import make_campaign, make_staff

# Per operation and generation mode; the whole run stays well under a minute on two cores.
MAX_EXAMPLES = 40


@pytest.fixture
def api_token(app) -> str:
    _, raw = create_token(make_staff("officer"), name="schemathesis")
    for _ in range(3):  # campaigns 1 to 3 exist: paths with a known id reach the service
        make_campaign()
    db.session.commit()
    return raw


# A send_at in the past fits the document's date-time but is refused (422, documented): no JSON
# schema can say "not in the past". Only where a body carries send_at may valid data get a 422.
SEND_AT_OPERATIONS = r"^/campaigns(/\{campaign_id\}/schedule)?$"
POSITIVE_EXPECTED = ["2xx", "401", "403", "404", "409"]

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
        "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_EXPECTED}},
        "operations": [
            {
                "include-path-regex": SEND_AT_OPERATIONS,
                "include-method": "POST",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*POSITIVE_EXPECTED, "422"]}
                },
            }
        ],
    }
)
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(openapi.document())), config=CONFIG)


@pytest.fixture
def served(app) -> None:
    """What is fuzzed is what /api/v1/openapi.json serves."""
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.json == schema.raw_schema


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_document(case, app, api_token, served):
    # Every call goes to this app, also the probes some checks send on their own (the same
    # call without the token, with a method the route does not have).
    case.operation.schema.app = app
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {api_token}"})
