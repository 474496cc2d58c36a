"""The fake server's bodies must be what the SDK's models accept, so the
tests exercise the real API contract and the fake cannot drift from it."""

from __future__ import annotations

import json

import pytest
from airbyte_api import models
from airbyte_api.utils import unmarshal_json

from tests.support import fake_airbyte as fa


@pytest.mark.parametrize(
    ("body", "model"),
    [
        (fa.connection_body(), models.ConnectionResponse),
        (fa.destination_body(), models.DestinationResponse),
        (fa.job_body(1, "running"), models.JobResponse),
        (
            fa.job_body(
                1, "succeeded", rowsSynced=1, bytesSynced=2, duration="PT1S", lastUpdatedAt="2024-05-01T10:00:01Z"
            ),
            models.JobResponse,
        ),
        ({"data": [fa.job_body(1, "running"), fa.job_body(2, "pending")]}, models.JobsResponse),
    ],
    ids=["connection", "destination", "job", "finished-job", "jobs-list"],
)
def test_fake_bodies_validate_against_sdk_models(body, model) -> None:
    parsed = unmarshal_json(json.dumps(body), model)
    assert isinstance(parsed, model)


def test_live_fake_responses_validate(fake, settings) -> None:
    """Also the bodies the running server actually sends, not just the builders."""
    from ingest.airbyte import run_sync

    result = run_sync(settings)
    # The sync really started a job on the fake (one POST /jobs it answered 200) and read it back.
    [post] = fake.seen("POST", "/jobs")
    assert post.status == 200 and json.loads(post.body)["connectionId"] == fa.CONNECTION_ID
    assert result.status == "succeeded" and list(fake.jobs) == [result.job_id]
    import httpx

    token = httpx.post(
        f"{fake.url}/applications/token",
        json={"client_id": fa.CLIENT_ID, "client_secret": fa.CLIENT_SECRET, "grant-type": "client_credentials"},
    ).json()
    # No token model ships with airbyte-api 1.0.x; the documented shape is:
    assert set(token) == {"access_token", "token_type", "expires_in"}
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    for path, model in [
        (f"/connections/{fa.CONNECTION_ID}", models.ConnectionResponse),
        (f"/destinations/{fa.DESTINATION_ID}", models.DestinationResponse),
        (f"/jobs?connectionId={fa.CONNECTION_ID}&jobType=sync", models.JobsResponse),
        (f"/jobs/{min(fake.jobs)}", models.JobResponse),
    ]:
        response = httpx.get(fake.url + path, headers=headers)
        assert response.status_code == 200, path
        unmarshal_json(response.text, model)


def test_unknown_status_is_rejected_by_the_sdk_model() -> None:
    """Why the client parses job JSON leniently (see ingest/airbyte/jobs.py)."""
    with pytest.raises(ValueError):  # pydantic's ValidationError
        unmarshal_json(json.dumps(fa.job_body(1, "thinking_hard")), models.JobResponse)
