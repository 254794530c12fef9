"""The OpenAPI document validates, and schemathesis finds no 500 and no response that
breaks the document, against the app itself (Django's WSGI handler, the test database)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from api.services import token_create
from tests.worksessions.factories import make_session

from .conftest import ready_dataset

pytestmark = pytest.mark.django_db

OPENAPI_URL = "/api/v1/openapi.json"
CONFIG = SchemathesisConfig.from_dict({
    "checks": {"positive_data_acceptance": {
        # A request the document allows may still break a rule it cannot state (an event
        # name the dataset does not have, a file that is not CSV): the API answers 400.
        "expected-statuses": ["2xx", "400", "401", "403", "404", "409"],
    }},
    "generation": {
        # Every case carries the owner's real token (added below); the 401s without one
        # are proven for every operation by tests/security/test_authorization.py.
        "with-security-parameters": False,
        # Unknown query parameters are ignored, as HTTP APIs usually do; not a violation.
        "allow-extra-parameters": False,
    },
})


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes the database connection around each request, which
    on PostgreSQL ends the test's transaction; Django's test client avoids this the same
    way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(team, owner, teammate):
    dataset = ready_dataset(team)
    from tests.worksessions.factories import make_success

    success = make_success(team, dataset, by=owner)
    session = make_session(team, owner, members=(teammate,), dataset=dataset, success=success)
    return {"team": team, "dataset": dataset, "success": success, "session": session,
            "token": token_create(user=owner, name="schemathesis")[1]}


# Loaded when the module is collected (pytest-django has set Django up by then); the
# document needs no database. schemathesis' lazy fixture loader does not work with
# pytest 9 (it reads a private attribute of the test item).
schema = schemathesis.openapi.from_wsgi(OPENAPI_URL, get_wsgi_application(), config=CONFIG)


def test_the_openapi_document_validates(client):
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    document = client.get(OPENAPI_URL).json()
    assert document["openapi"].startswith("3.1")
    errors = [str(error) for error in OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert errors == []
    # Proof that the validator can fail.
    assert list(OPENAPI_31_VALIDATOR.iter_errors({**document, "paths": []}))
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"TokenAuth": {"type": "http", "scheme": "bearer"}}
    operations = [op for methods in document["paths"].values() for op in methods.values()]
    assert len({op["operationId"] for op in operations}) == len(operations) >= 15
    for op in operations:
        assert op["security"] == [{"TokenAuth": []}], op["operationId"]
        assert {"401", "404", "422"} <= set(op["responses"]), op["operationId"]


def test_the_docs_page_is_served(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and b"swagger-ui" in response.content


@schema.parametrize()
@settings(max_examples=8, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case, world):
    aim_at_the_world(case, world)
    case.call_and_validate(headers={"Authorization": f"Bearer {world['token']}"})


REAL_IDS = {"dataset_id": "dataset", "session_id": "session"}


def aim_at_the_world(case, world) -> None:
    """Generated slugs and ids almost never exist, which would leave every answer a 404:
    point the team at the caller's own, and half the ids at real objects."""
    params = case.path_parameters
    if params is None:
        return
    if "team_slug" in params:
        params["team_slug"] = world["team"].slug
    for name, value in params.items():
        if name in REAL_IDS and isinstance(value, int) and value % 2 == 0:
            params[name] = world[REAL_IDS[name]].pk
