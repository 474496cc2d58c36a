"""The real client against the fake Airbyte API: one test per scenario."""

from __future__ import annotations

import logging
import time
import typing as t

import pytest

from dvdrental.commands import main
from foundation.errors import ConfigError, PipelineError
from ingest.airbyte import (
    AirbyteAuthError,
    AirbyteClient,
    AirbyteConnectionNotFound,
    AirbyteContractError,
    AirbyteError,
    AirbyteJobFailed,
    AirbyteTimeout,
    check_connection,
    run_sync,
)
from tests.support import fake_airbyte as fa
from tests.support.fake_airbyte import Fault, airbyte_env, make_settings

JOB = r"/jobs/\d+"


def test_happy_path_polls_until_succeeded(fake, settings) -> None:
    result = run_sync(settings)
    assert result.status == "succeeded"
    assert (result.rows_synced, result.bytes_synced, result.duration_seconds) == (48_211, 5_242_880, 125.0)
    assert result.attached is False
    assert len(fake.seen("POST", "/jobs")) == 1
    assert len(fake.seen("GET", JOB)) >= 4  # pending -> running x3 -> succeeded
    assert {r.path for r in fake.seen("GET", JOB)} == {f"/jobs/{result.job_id}"}
    summary = result.summary()
    assert str(result.job_id) in summary and "48,211 rows" in summary and "5.0 MiB" in summary and "2m05s" in summary
    # The token came from {base}/applications/token as JSON, and was used as a bearer token.
    token_requests = fake.seen("POST", "/applications/token")
    assert len(token_requests) == 1
    assert token_requests[0].headers["content-type"].startswith("application/json")
    assert all(r.headers["authorization"].startswith("Bearer tok-") for r in fake.seen("GET"))


def test_running_job_is_attached_without_post(fake, settings) -> None:
    running = fake.add_job(["running", "running", "succeeded"])
    result = run_sync(settings)
    assert result.job_id == running.job_id and result.attached
    assert fake.seen("POST", "/jobs") == []


def test_409_on_create_attaches_to_the_running_job(fake, settings) -> None:
    # The job appears between our "anything running?" check and our POST.
    fake.faults.append(
        Fault(
            "POST",
            "/jobs",
            status=409,
            body=fa.try_again_later_body("A sync is already running for: " + fa.CONNECTION_ID),
        )
    )
    late = fake.add_job(["running", "running", "succeeded"])
    original, calls = fake._list_jobs, []

    def list_jobs(query):  # the first check (one GET per active status) sees nothing
        calls.append(query)
        return {"data": []} if len(calls) <= 4 else original(query)

    fake._list_jobs = list_jobs
    result = run_sync(settings)
    assert result.job_id == late.job_id and result.attached and result.status == "succeeded"
    assert len(fake.seen("POST", "/jobs")) == 1  # not retried


def test_failed_job_exits_nonzero_with_id_and_status(fake, settings) -> None:
    fake.job_script = ["running", "failed"]
    with pytest.raises(AirbyteJobFailed) as caught:
        run_sync(settings)
    job_id = min(fake.jobs)
    assert caught.value.exit_code == 8
    assert str(job_id) in str(caught.value) and "failed" in str(caught.value)


def test_job_cancelled_elsewhere_is_a_failure(fake, settings) -> None:
    fake.job_script = ["running", "cancelled"]
    with pytest.raises(AirbyteJobFailed, match="cancelled"):
        run_sync(settings)


def test_poll_timeout_cancels_the_job(fake, fake_settings_timeout) -> None:
    fake.job_script = ["running"]
    with pytest.raises(AirbyteTimeout) as caught:
        run_sync(fake_settings_timeout)
    job_id = min(fake.jobs)
    assert caught.value.exit_code == 9 and str(job_id) in str(caught.value)
    assert [r.path for r in fake.seen("DELETE")] == [f"/jobs/{job_id}"]


@pytest.fixture
def fake_settings_timeout(fake):
    return make_settings(fake, poll_timeout_seconds=0.2)


def test_timeout_without_cancel_leaves_job_running(fake) -> None:
    fake.job_script = ["running"]
    with pytest.raises(AirbyteTimeout, match="left it running"):
        run_sync(make_settings(fake, poll_timeout_seconds=0.1, cancel_on_termination=False))
    assert fake.seen("DELETE") == []


def test_5xx_and_connection_reset_are_retried(fake, settings) -> None:
    fake.faults += [
        Fault("GET", f"/connections/{fa.CONNECTION_ID}", status=502),
        Fault("GET", f"/connections/{fa.CONNECTION_ID}", reset=True),
        Fault("GET", JOB, status=503),
        Fault("GET", JOB, reset=True),
    ]
    result = run_sync(settings)
    assert result.status == "succeeded"
    assert len(fake.seen("GET", f"/connections/{fa.CONNECTION_ID}")) == 3


def test_retries_are_bounded(fake, settings) -> None:
    fake.faults.append(Fault("GET", f"/connections/{fa.CONNECTION_ID}", status=500, times=99))
    with pytest.raises(AirbyteError) as caught:
        run_sync(settings)
    assert caught.value.exit_code == 7 and "4 attempt" in str(caught.value)
    assert len(fake.seen("GET", f"/connections/{fa.CONNECTION_ID}")) == 4  # 1 + max_retries


def test_post_jobs_is_not_retried_blindly_after_a_reset(fake, settings) -> None:
    fake.faults.append(Fault("POST", "/jobs", reset=True))
    result = run_sync(settings)
    # Nothing was running after the reset, so exactly one more POST.
    assert result.status == "succeeded" and len(fake.seen("POST", "/jobs")) == 2
    post_times = [r.at for r in fake.seen("POST", "/jobs")]
    lists_between = [r for r in fake.seen("GET", "/jobs") if post_times[0] < r.at < post_times[1]]
    assert lists_between, "must look for a running job before posting again"


def test_401_fails_at_once_with_credentials_message(fake) -> None:
    fake.accept_static_token = False
    with pytest.raises(AirbyteAuthError) as caught:
        run_sync(make_settings(fake, client_id=None, client_secret=None, api_token=fa.STATIC_TOKEN))
    assert isinstance(caught.value, ConfigError) and caught.value.exit_code == 2
    assert "AIRBYTE_API_TOKEN" in str(caught.value) and "401" in str(caught.value)
    assert len(fake.requests) == 1  # no retry


def test_wrong_client_secret_fails_at_once(fake) -> None:
    with pytest.raises(AirbyteAuthError, match="AIRBYTE_CLIENT_SECRET"):
        run_sync(make_settings(fake, client_secret="wrong-secret"))
    assert len(fake.requests) == 1 and fake.requests[0].path == "/applications/token"


def test_403_fails_at_once(fake, settings) -> None:
    fake.faults.append(Fault("GET", f"/connections/{fa.CONNECTION_ID}", status=403, times=9))
    with pytest.raises(AirbyteAuthError, match="403"):
        run_sync(settings)
    assert len(fake.seen("GET", f"/connections/{fa.CONNECTION_ID}")) == 1


def test_429_retry_after_is_honoured(fake) -> None:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(min(seconds, 0.01))

    fake.faults.append(Fault("GET", JOB, status=429, headers={"Retry-After": "7"}))
    with AirbyteClient(make_settings(fake), sleep=sleep) as client:
        result = run_sync(client.settings, client=client)
    assert result.status == "succeeded"
    assert 7.0 in sleeps


def test_429_retry_after_real_wait(fake, settings) -> None:
    fake.faults.append(Fault("GET", f"/connections/{fa.CONNECTION_ID}", status=429, headers={"Retry-After": "1"}))
    run_sync(settings)
    first, second = fake.seen("GET", f"/connections/{fa.CONNECTION_ID}")[:2]
    assert second.at - first.at >= 0.95


def test_token_is_refreshed_before_it_expires_mid_poll(fake) -> None:
    """An hour-long sync outlives Airbyte's 15-minute application token. Time is an injected clock the
    client's sleeps advance and the fake's token expiry reads: no real waiting, no stall can fail it."""
    now = [0.0]

    def clock() -> float:
        return now[0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    fake.clock = clock
    fake.token_lifetime = 900  # seconds; the server rejects expired tokens with 401
    fake.job_script = ["running"] * 60 + ["succeeded"]  # 60 polls a minute apart
    settings = make_settings(fake, poll_interval_seconds=60.0, poll_timeout_seconds=2 * 3600.0)
    with AirbyteClient(settings, sleep=sleep, clock=clock) as client:
        result = run_sync(settings, client=client)
    assert result.status == "succeeded"
    assert now[0] >= 3600.0, "the wait should have run an hour on the injected clock"
    # By hand: a token lives 900 s and is renewed 60 s early (every 840 s), so an hour needs
    # the first token and at least four renewals (at 840, 1680, 2520, 3360 s).
    assert len(fake.seen("POST", "/applications/token")) >= 5
    # Renewed ahead of expiry: the API never had to refuse a token.
    assert [r for r in fake.requests if r.status == 401] == []


def test_token_rejected_early_is_renewed_once(fake, settings) -> None:
    fake.faults.append(Fault("GET", JOB, status=401))
    result = run_sync(settings)
    assert result.status == "succeeded"
    assert len(fake.seen("POST", "/applications/token")) == 2


def test_unknown_status_is_logged_and_polling_continues(fake, settings, caplog) -> None:
    fake.job_script = ["running", "thinking_hard", "thinking_hard", "succeeded"]
    fake.check_contract = False  # a status outside api.yaml's JobStatusEnum, on purpose
    with caplog.at_level(logging.INFO):
        result = run_sync(settings)
    assert result.status == "succeeded"
    assert any("unknown status 'thinking_hard'" in r.getMessage() for r in caplog.records)


def test_incomplete_then_succeeded(fake, settings, caplog) -> None:
    fake.job_script = ["running", "incomplete", "running", "succeeded"]
    with caplog.at_level(logging.INFO):
        result = run_sync(settings)
    assert result.status == "succeeded"
    assert any("attempt failed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"prefix": "dvd_"}, "prefix is 'dvd_', expected 'raw_dvd_'"),
        (
            {
                "configurations": {
                    "streams": [s for s in fa.connection_body()["configurations"]["streams"] if s["name"] != "payment"]
                }
            },
            "missing: payment",
        ),
        (
            {
                "configurations": {
                    "streams": [
                        dict(s, syncMode="incremental_append") if s["name"] == "rental" else s
                        for s in fa.connection_body()["configurations"]["streams"]
                    ]
                }
            },
            "rental is incremental_append",
        ),
        ({"namespaceFormat": "${SOURCE_NAMESPACE}"}, "expected 'bronze'"),
        ({"namespaceDefinition": "source"}, "mirrors the source schema"),
        ({"status": "locked"}, "status is locked"),
    ],
    ids=["prefix", "missing-stream", "not-overwrite", "namespace-format", "namespace-source", "locked"],
)
def test_connection_mismatch_is_a_clear_error(fake, settings, change, words) -> None:
    fake.connection = fa.connection_body(**change)
    with pytest.raises(AirbyteContractError) as caught:
        run_sync(settings)
    assert words in str(caught.value) and caught.value.exit_code == 10
    assert fake.seen("POST", "/jobs") == []


def test_destination_default_schema_is_checked(fake, settings) -> None:
    fake.connection = fa.connection_body(namespaceDefinition="destination", namespaceFormat=None)
    fake.destination = fa.destination_body(schema="default")
    with pytest.raises(AirbyteContractError, match="default schema is 'default'"):
        run_sync(settings)
    fake.destination = fa.destination_body(schema="bronze")
    assert run_sync(settings).status == "succeeded"


def test_extra_stream_is_only_a_warning(fake, settings, caplog) -> None:
    streams = fa.connection_body()["configurations"]["streams"] + [
        {"name": "staff", "syncMode": "full_refresh_overwrite"}
    ]
    fake.connection = fa.connection_body(configurations={"streams": streams})
    with caplog.at_level(logging.WARNING):
        assert run_sync(settings).status == "succeeded"
    assert any("staff" in r.getMessage() for r in caplog.records)


def test_404_connection_names_the_id(fake, settings) -> None:
    fake.connection_found = False
    with pytest.raises(AirbyteConnectionNotFound) as caught:
        run_sync(settings)
    assert fa.CONNECTION_ID in str(caught.value) and "AIRBYTE_CONNECTION_ID" in str(caught.value)
    assert len(fake.seen("GET", f"/connections/{fa.CONNECTION_ID}")) == 1


@pytest.mark.parametrize("command", ["check", "sync"])
@pytest.mark.parametrize(
    ("edition", "status"),
    [
        # A self-managed instance admin holds every role: the lookup runs and answers ResourceNotFoundProblem.
        ("oss", 404),
        # Airbyte Cloud resolves the connection's workspace to check the caller's role first
        # (RoleResolver.requireRole(WORKSPACE_READER) in ConnectionsController.publicGetConnection); an id
        # that does not exist has no workspace, so no role: ForbiddenProblem before any lookup.
        ("cloud", 403),
    ],
)
def test_unknown_connection_id_is_one_line_naming_the_setting(fake, monkeypatch, capsys, edition, status, command):
    fake.edition = edition
    fake.connection_found = False
    for name, value in airbyte_env(fake).items():
        monkeypatch.setenv(name, value)
    code = main(["airbyte", command])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("error: ") and f"HTTP {status}" in line
    assert fa.CONNECTION_ID in line and "AIRBYTE_CONNECTION_ID" in line
    (seen,) = fake.seen("GET", f"/connections/{fa.CONNECTION_ID}")  # not retried
    assert seen.status == status
    assert fake.seen("POST", "/jobs") == []


def test_check_connection_starts_nothing(fake, settings) -> None:
    summary = check_connection(settings)
    assert "matches the bronze contract" in summary and fa.CONNECTION_ID in summary
    assert "No sync is running" in summary
    assert fake.seen("POST", "/jobs") == [] and fake.seen("DELETE") == []
    running = fake.add_job(["running"])
    assert f"Sync job {running.job_id} is running" in check_connection(settings)


def test_base_path_is_kept_for_every_call(fake, settings) -> None:
    """The fake 404s anything outside /api/public/v1 (the SDK urljoin bug)."""
    run_sync(settings)
    assert fake.requests and fake.outside_base_path == []


def test_secrets_never_reach_logs_or_output(fake, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = {fa.CLIENT_SECRET, fa.STATIC_TOKEN}
    # (name, settings, arrange, the error the scenario must end in: None = the sync succeeds)
    scenarios: list[tuple[str, t.Any, t.Callable[[], None], type[PipelineError] | None]] = [
        ("works", make_settings(fake), lambda: None, None),
        (
            "wrong client secret",
            make_settings(fake, client_secret="x" + fa.CLIENT_SECRET),
            lambda: None,
            AirbyteAuthError,
        ),
        (
            "static token refused",
            make_settings(fake, client_id=None, client_secret=None, api_token=fa.STATIC_TOKEN),
            lambda: setattr(fake, "reject_all_auth", True),
            AirbyteAuthError,
        ),
        (
            "two 500s echoing the secret, then retried to success",
            make_settings(fake),
            lambda: fake.faults.append(
                Fault("GET", JOB, status=500, times=2, body={"message": f"echo {fa.CLIENT_SECRET}"})
            ),
            None,
        ),
    ]
    messages = []
    outcomes = {}
    for name, scenario_settings, arrange, _ in scenarios:
        fake.reject_all_auth = False
        arrange()
        try:
            result = run_sync(scenario_settings)
            print(result.summary())
            print(check_connection(scenario_settings))
            outcomes[name] = None
        except PipelineError as error:
            messages.append(str(error))
            outcomes[name] = type(error)
        print(repr(scenario_settings))
    assert outcomes == {name: expected for name, _, _, expected in scenarios}
    issued = set(fake.tokens)
    captured = capsys.readouterr()
    text = "\n".join([caplog.text, captured.out, captured.err, *messages])
    assert issued, "scenarios should have issued tokens"
    for secret in secrets | issued:
        assert secret not in text
    assert "echo ***" in caplog.text, "the echoed secret should be logged masked, not dropped"
