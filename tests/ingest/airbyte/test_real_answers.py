"""The answers the real Airbyte server gives (tests/support/fake_airbyte.py names the source of
each), through ``dvdrental ingest --via airbyte`` and ``dvdrental daily`` as separate processes:
exit code, one clear ``error:`` line, no retry storm, no secret printed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from foundation.paths import PROJECT_ROOT
from ingest.airbyte.errors import AirbyteContractError, AirbyteError
from tests.support import fake_airbyte as fa
from tests.support.fake_airbyte import Fault, airbyte_env


def _run(fake, *args: str, drop: tuple[str, ...] = (), **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRBYTE_", "DVD_INGEST_VIA"))}
    env.update(airbyte_env(fake, **overrides))
    for name in drop:
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "dvdrental", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ingest(fake, **overrides: str) -> subprocess.CompletedProcess[str]:
    return _run(fake, "ingest", "--via", "airbyte", **overrides)


def _error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one ``error:`` line, checked to be alone and not behind a traceback."""
    lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def _assert_no_secrets(fake, done: subprocess.CompletedProcess[str]) -> None:
    for secret in {fa.CLIENT_SECRET, fa.STATIC_TOKEN, *fake.tokens}:
        assert secret not in done.stdout and secret not in done.stderr


def test_inactive_connection_is_refused_before_any_post(fake) -> None:
    fake.connection = fa.connection_body(status="inactive")
    done = _ingest(fake)
    assert done.returncode == AirbyteContractError.exit_code == 10, done.stderr
    line = _error_line(done)
    assert "inactive" in line and "enable it in Airbyte" in line and fa.CONNECTION_ID in line
    assert "already running" not in line
    assert fake.seen("POST", "/jobs") == []
    _assert_no_secrets(fake, done)


def test_connection_disabled_just_before_the_post_is_not_taken_for_a_running_sync(fake) -> None:
    """The contract check saw it active; the POST meets it inactive (the real 409 state-conflict)."""
    fake.connection = fa.connection_body(status="inactive")
    fake.faults.append(Fault("GET", f"/connections/{fa.CONNECTION_ID}", status=200, body=fa.connection_body()))
    done = _ingest(fake)
    assert done.returncode == 10, done.stderr
    line = _error_line(done)
    assert "inactive" in line and "enable it in Airbyte" in line
    assert len(fake.seen("POST", "/jobs")) == 1  # not retried as if a sync were running
    _assert_no_secrets(fake, done)


def test_state_conflict_on_an_active_connection_ends_in_time_without_reposting(fake) -> None:
    fake.faults.append(Fault("POST", "/jobs", status=409, body=fa.state_conflict_body()))
    started = time.monotonic()
    done = _ingest(fake, AIRBYTE_START_TIMEOUT_SECONDS="0.5")
    assert done.returncode == AirbyteError.exit_code == 7, done.stderr
    line = _error_line(done)
    assert "409 state-conflict (Could not fulfill request)" in line and fa.CONNECTION_ID in line
    assert "AIRBYTE_START_TIMEOUT_SECONDS" in line and "already running" not in line
    assert len(fake.seen("POST", "/jobs")) == 1
    assert time.monotonic() - started < 30
    _assert_no_secrets(fake, done)


def test_job_created_after_the_servers_own_wait_is_followed(fake) -> None:
    """POST /jobs takes longer than AIRBYTE_REQUEST_TIMEOUT_SECONDS (the server waits for the job id),
    then answers state-conflict; the job shows up in GET /jobs a moment later."""
    fake.post_jobs_delay = 0.4
    fake.slow_job_id = 0.5
    done = _ingest(fake, AIRBYTE_REQUEST_TIMEOUT_SECONDS="0.2", AIRBYTE_START_TIMEOUT_SECONDS="20")
    assert done.returncode == 0, done.stderr
    job_id = min(fake.jobs)
    assert f"Airbyte sync job {job_id} succeeded" in done.stdout
    assert len(fake.seen("POST", "/jobs")) == 1  # waited for its answer, did not time out and post again
    assert [r.status for r in fake.seen("POST", "/jobs")] == [409]
    _assert_no_secrets(fake, done)


def test_try_again_later_with_no_visible_job_is_bounded_by_time(fake) -> None:
    """A workflow stuck "running" with no job (airbytehq/airbyte#25920): bounded, one clear line."""
    fake.stuck_workflow = True
    started = time.monotonic()
    done = _ingest(fake, AIRBYTE_START_TIMEOUT_SECONDS="1", AIRBYTE_RETRY_BACKOFF_SECONDS="0.05")
    elapsed = time.monotonic() - started
    assert done.returncode == 7, done.stderr
    line = _error_line(done)
    assert f"A sync is already running for: {fa.CONNECTION_ID}" in line  # data.message, not the generic detail
    assert "try-again-later" in line and "AIRBYTE_START_TIMEOUT_SECONDS" in line
    posts = fake.seen("POST", "/jobs")
    assert 2 <= len(posts) <= 8, len(posts)  # backed off, not a storm (and not the old 5-retry count)
    assert 1 <= elapsed < 30  # it kept trying for the whole bound, and no longer
    _assert_no_secrets(fake, done)


def test_self_managed_without_authentication_needs_no_credentials(fake) -> None:
    fake.accept_anonymous = True
    done = _ingest(fake, drop=("AIRBYTE_CLIENT_ID", "AIRBYTE_CLIENT_SECRET"), AIRBYTE_AUTH="none")
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    assert fake.seen("POST", "/applications/token") == []
    assert all("authorization" not in r.headers for r in fake.requests)


def test_auth_none_against_a_server_that_wants_credentials_says_so(fake) -> None:
    done = _ingest(fake, drop=("AIRBYTE_CLIENT_ID", "AIRBYTE_CLIENT_SECRET"), AIRBYTE_AUTH="none")
    assert done.returncode == 2, done.stderr
    line = _error_line(done)
    assert "AIRBYTE_AUTH=none" in line and "AIRBYTE_CLIENT_ID" in line and "401" in line
    assert len(fake.requests) == 1


def test_daily_stops_at_an_inactive_connection_before_sqlmesh(fake, tmp_path: Path) -> None:
    fake.connection = fa.connection_body(status="inactive")
    done = _run(
        fake,
        "daily",
        "--via",
        "airbyte",
        DVD_WAREHOUSE_PATH=str(tmp_path / "dvdrental.duckdb"),
        DVD_LOG_DIR=str(tmp_path / "logs"),
    )
    assert done.returncode == 10, done.stderr
    assert "inactive" in _error_line(done)
    assert "step 2/3" not in done.stdout and fake.seen("POST", "/jobs") == []
    _assert_no_secrets(fake, done)
