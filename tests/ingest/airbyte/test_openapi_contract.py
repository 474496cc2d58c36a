"""The fake Airbyte and the client, judged by Airbyte's own OpenAPI description.

Every FakeAirbyte checks each request the client made and each answer it gave when it stops
(tests/support/fake_airbyte.py, tests/support/airbyte_openapi.py). These tests show the judge
itself: a whole sync passes it, and what a wrong fake or a wrong client would send does not.
"""

from __future__ import annotations

import pytest

from ingest.airbyte import run_sync
from tests.support import fake_airbyte as fa
from tests.support.airbyte_openapi import openapi


def test_a_whole_sync_is_on_contract(fake, settings) -> None:
    run_sync(settings)
    kinds = {(r.method, r.path.split("/")[1]) for r in fake.requests}
    assert {("POST", "applications"), ("GET", "connections"), ("POST", "jobs"), ("GET", "jobs")} <= kinds
    assert fake.contract_violations() == []


def test_an_off_contract_answer_is_caught(fake, settings) -> None:
    fake.connection = fa.connection_body(status="paused_forever", prefix=7)
    with pytest.raises(Exception):  # noqa: B017 - whatever the client makes of it; the judge is the point
        run_sync(settings)
    found = fake.contract_violations()
    fake.check_contract = False  # already asserted here
    assert any("status: 'paused_forever' is not one of" in v for v in found), found
    assert any("prefix: 7 is not of type 'string'" in v for v in found), found


@pytest.mark.parametrize(
    ("body", "status", "complaint"),
    [
        # What the fake answered before: a type no problem in api-problems.yaml has.
        ({"type": "error:not-found", "title": "resource-not-found", "status": 404}, 404, "no problem"),
        ({"message": "no route GET /connections/x"}, 404, "not a problem body"),
        (fa.resource_not_found_body("connection", "x") | {"title": "not-found"}, 404, "title is 'resource-not-found'"),
        (fa.invalid_api_key_body(), 403, "is sent with HTTP 401"),
    ],
    ids=["old-404-type", "plain-message", "wrong-title", "wrong-status"],
)
def test_error_bodies_must_be_airbytes_problems(body, status, complaint) -> None:
    found = openapi().check_response("GET", f"/connections/{fa.CONNECTION_ID}", status, body)
    assert any(complaint in v for v in found), found


def test_the_fakes_problems_are_airbytes() -> None:
    for body in (
        fa.resource_not_found_body("connection", "x"),
        fa.invalid_api_key_body(),
        fa.bad_request_body("m"),
        fa.forbidden_body(fa.READER_REFUSED),
        fa.unprocessable_entity_body("$.host: m"),
    ):
        assert openapi().check_problem(body, body["status"], "fake") == []
    assert openapi().check_problem(fa.try_again_later_body("busy"), 409, "fake") == []
    assert openapi().check_problem(fa.state_conflict_body(), 409, "fake") == []


def test_client_requests_are_checked() -> None:
    spec = openapi()
    assert spec.check_request("POST", "/jobs", {"connectionId": fa.CONNECTION_ID, "jobType": "sync"}) == []
    assert any("jobType" in v for v in spec.check_request("POST", "/jobs", {"connectionId": fa.CONNECTION_ID}))
    assert any(
        "'refresh_all'" in v
        for v in spec.check_request("POST", "/jobs", {"connectionId": "c", "jobType": "refresh_all"})
    )
    token = {"client_id": "a", "client_secret": "b", "grant-type": "client_credentials"}
    assert spec.check_request("POST", "/applications/token", token) == []
    assert spec.check_request("GET", "/nowhere", None) == ["GET /nowhere: no such operation in api.yaml"]
