"""``dvdrental airbyte ...`` end to end, in a subprocess: exit codes, the
one-line error, SIGTERM during the wait, and no secret in the output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from foundation.paths import PROJECT_ROOT
from tests.support import fake_airbyte as fa
from tests.support.fake_airbyte import airbyte_env


def _env(fake, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRBYTE_")}
    env.update(airbyte_env(fake, **overrides))
    return env


def _run(fake, *args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dvdrental", "-v", "airbyte", *args],
        cwd=PROJECT_ROOT,
        env=_env(fake, **overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _assert_no_secrets(fake, *texts: str) -> None:
    for secret in {fa.CLIENT_SECRET, fa.STATIC_TOKEN, *fake.tokens}:
        for text in texts:
            assert secret not in text


def test_check_prints_summary_and_exits_zero(fake) -> None:
    done = _run(fake, "check")
    assert done.returncode == 0, done.stderr
    assert "matches the bronze contract" in done.stdout
    assert fake.seen("POST", "/jobs") == []
    _assert_no_secrets(fake, done.stdout, done.stderr)


def test_sync_prints_rows_bytes_duration_and_job_id(fake) -> None:
    done = _run(fake, "sync")
    assert done.returncode == 0, done.stderr
    job_id = min(fake.jobs)
    assert f"job {job_id} succeeded" in done.stdout and "48,211 rows" in done.stdout
    _assert_no_secrets(fake, done.stdout, done.stderr)


def test_failed_job_exit_code_and_one_line_error(fake) -> None:
    fake.job_script = ["running", "failed"]
    done = _run(fake, "sync")
    assert done.returncode == 8
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1 and str(min(fake.jobs)) in error_lines[0] and "failed" in error_lines[0]
    assert "Traceback" not in done.stderr


def test_missing_setting_exit_code(fake) -> None:
    # Empty counts as missing, and an empty variable also stops .env from
    # supplying one, so this holds on a developer machine too.
    done = _run(fake, "check", AIRBYTE_CONNECTION_ID="")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: AIRBYTE_CONNECTION_ID is not set")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("signum", "exit_code", "words"),
    [(signal.SIGTERM, 143, "Terminated (SIGTERM) while waiting"), (signal.SIGINT, 130, "Interrupted while waiting")],
    ids=["SIGTERM", "Ctrl-C"],
)
def test_signal_during_wait_cancels_the_job(fake, signum, exit_code, words) -> None:
    fake.job_script = ["running"]  # never finishes
    process = subprocess.Popen(
        [sys.executable, "-m", "dvdrental", "-v", "airbyte", "sync"],
        cwd=PROJECT_ROOT,
        env=_env(fake, AIRBYTE_POLL_INTERVAL_SECONDS="0.05"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(fake.seen("GET", r"/jobs/\d+")) < 3:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the sync never started polling"
            time.sleep(0.02)
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    job_id = min(fake.jobs)
    assert process.returncode == exit_code, err
    assert [r.path for r in fake.seen("DELETE")] == [f"/jobs/{job_id}"]
    assert f"error: {words} for Airbyte sync job {job_id}" in err
    _assert_no_secrets(fake, out, err)
