"""No secret in any output: stdout, stderr, error messages, run logs, SQLMesh's log files.

Recognisable fake secrets (``SECRET-ab12cd34-...``) are set for the two production paths and
every command that handles them is run as a subprocess, as cron or CI would:

* Airbyte: `dvdrental -v daily --via airbyte` against the fake Airbyte server (the fake accepts
  the fake client secret), when it works, when the secret is wrong, and when the server echoes
  the secret back in an error body;
* Databricks: the `databricks` gateway with a fake token / OAuth secret and a fake state
  password, pointing at closed local ports: `dvdrental doctor --gateway databricks`,
  `sqlmesh --gateway databricks plan` and `dvdrental daily --gateway databricks` all fail to
  connect, and none of them may print or log a secret on the way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest

from dvdrental.warehouse import gateways
from foundation.paths import LOG_DIR, PROJECT_ROOT
from ingest.source.server import free_port
from tests.support import fake_airbyte
from tests.support.fake_airbyte import FakeAirbyte, Fault, airbyte_env
from tests.support.warehouses import (
    copy_warehouse,
)

MARK = "SECRET-ab12cd34"
AIRBYTE_SECRET = f"{MARK}-airbyte-client"
WRONG_AIRBYTE_SECRET = f"{MARK}-airbyte-wrong"
DATABRICKS_TOKEN = f"{MARK}-dbx-token"
DATABRICKS_OAUTH_SECRET = f"{MARK}-dbx-oauth"
STATE_PASSWORD = f"{MARK}-state-pw"
SQLMESH = str(Path(sys.executable).with_name("sqlmesh"))
# Every variable a gateway reads: cleared, so nothing from the developer's shell leaks in.
GATEWAY_VARS = {s.name for gw in gateways.GATEWAYS.values() for s in gw.all_settings()} | {"SQLMESH_GATEWAY"}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[FakeAirbyte]:
    monkeypatch.setattr(fake_airbyte, "CLIENT_SECRET", AIRBYTE_SECRET)  # what the fake accepts
    with FakeAirbyte() as server:
        yield server


def _base_env(warehouse: Path, logs: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRBYTE_", "DATABRICKS_", "SQLMESH_STATE_"))}
    for name in GATEWAY_VARS:
        env.pop(name, None)
    env.update(DVD_WAREHOUSE_PATH=str(warehouse), DVD_LOG_DIR=str(logs), SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true")
    return env


def _airbyte_env(fake: FakeAirbyte, **overrides: str) -> dict[str, str]:
    return airbyte_env(fake, **{"AIRBYTE_CLIENT_SECRET": AIRBYTE_SECRET, "AIRBYTE_MAX_RETRIES": "1", **overrides})


def _databricks_env(oauth: bool = False) -> dict[str, str]:
    closed = str(free_port())
    env = {
        "SQLMESH_GATEWAY": "databricks",
        "DATABRICKS_SERVER_HOSTNAME": "127.0.0.1",
        "DATABRICKS_HTTP_PATH": f"/sql/1.0/warehouses/closed-port-{closed}",
        "DATABRICKS_CATALOG": "main",
        "SQLMESH_STATE_HOST": "127.0.0.1",
        "SQLMESH_STATE_PORT": closed,
        "SQLMESH_STATE_USER": "sqlmesh",
        "SQLMESH_STATE_PASSWORD": STATE_PASSWORD,
        "SQLMESH_STATE_DATABASE": "sqlmesh_state",
    }
    if oauth:
        env.update(DATABRICKS_CLIENT_ID="fake-sp-id", DATABRICKS_CLIENT_SECRET=DATABRICKS_OAUTH_SECRET)
    else:
        env["DATABRICKS_TOKEN"] = DATABRICKS_TOKEN
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def _texts(done: subprocess.CompletedProcess, logs: Path, since: float) -> dict[str, str]:
    """Everything the run showed or wrote: its stdout/stderr, its run logs, and SQLMesh's own
    log files in the project's logs/ written since the run started."""
    texts = {"stdout": done.stdout, "stderr": done.stderr}
    files = list(logs.glob("**/*")) if logs.exists() else []
    files += [p for p in LOG_DIR.glob("*") if p.is_file() and p.stat().st_mtime >= since - 1]
    for path in files:
        if path.is_file():
            texts[str(path)] = path.read_text(errors="replace")
    return texts


def _assert_no_secret(texts: dict[str, str], *extra: str) -> None:
    for where, text in texts.items():
        assert MARK not in text, f"a secret leaked into {where}"
        for secret in extra:
            assert secret not in text, f"a secret leaked into {where}"


def test_airbyte_daily_prints_and_logs_no_secret(
    fake: FakeAirbyte,
    sample_warehouse: Path,
    tmp_path: Path,  # noqa: F811
) -> None:
    warehouse = copy_warehouse(sample_warehouse, tmp_path / "warehouse" / "dvdrental.duckdb")
    logs = tmp_path / "logs"
    env = {**_base_env(warehouse, logs), **_airbyte_env(fake)}

    started = time.time()
    ok = _run([sys.executable, "-m", "dvdrental", "-v", "daily", "--via", "airbyte"], env)
    assert ok.returncode == 0, ok.stderr
    assert fake.tokens, "the fake should have issued an access token"
    _assert_no_secret(_texts(ok, logs, started), fake_airbyte.STATIC_TOKEN, *fake.tokens)

    # A wrong secret: refused by the token endpoint.
    started = time.time()
    refused = _run(
        [sys.executable, "-m", "dvdrental", "-v", "daily", "--via", "airbyte"],
        {**env, "AIRBYTE_CLIENT_SECRET": WRONG_AIRBYTE_SECRET},
    )
    # docs/reliability.md, "Secrets": exit 2 (a setting is wrong), the line naming the settings to check
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .startswith("error: Airbyte refused the application credentials (HTTP 401 from ")
    ), refused.stderr
    assert "Check AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET" in refused.stderr
    _assert_no_secret(_texts(refused, logs, started))

    # The server echoes the secret back in an error body.
    fake.faults.append(
        Fault(
            "POST", "/jobs", status=400, body={"message": f"bad request from client_secret={AIRBYTE_SECRET}"}, times=5
        )
    )
    started = time.time()
    echoed = _run([sys.executable, "-m", "dvdrental", "-v", "daily", "--via", "airbyte"], env)
    # docs/reliability.md: exit 7 (Airbyte refused to start the sync), the echoed secret masked in the line
    assert echoed.returncode == 7 and "Traceback" not in echoed.stderr, echoed.stderr
    assert (
        echoed.stderr.strip().splitlines()[-1]
        == "error: POST /jobs (start sync) failed: HTTP 400 (bad request from client_secret=***)"
    ), echoed.stderr
    _assert_no_secret(_texts(echoed, logs, started), *fake.tokens)


@pytest.mark.parametrize("oauth", [False, True], ids=["token", "oauth"])
def test_databricks_doctor_prints_no_secret(oauth: bool, tmp_path: Path) -> None:
    env = {**_base_env(tmp_path / "dvdrental.duckdb", tmp_path / "logs"), **_databricks_env(oauth)}
    started = time.time()
    done = _run(
        [sys.executable, "-m", "dvdrental", "-v", "doctor", "--gateway", "databricks", "--timeout", "3"],
        env,
        timeout=120,
    )
    assert done.returncode == 4, done.stdout + done.stderr  # docs/reliability.md: exit 4, nothing answers
    assert "Traceback" not in done.stderr
    secret_setting = "DATABRICKS_CLIENT_SECRET" if oauth else "DATABRICKS_TOKEN"
    assert any(secret_setting in line and " set " in line for line in done.stdout.splitlines()), done.stdout
    _assert_no_secret(_texts(done, tmp_path / "logs", started))


@pytest.mark.slow  # runs SQLMesh end to end in a subprocess
def test_databricks_plan_and_daily_fail_to_connect_without_printing_secrets(fake: FakeAirbyte, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    env = {**_base_env(tmp_path / "dvdrental.duckdb", logs), **_databricks_env()}

    started = time.time()
    plan = _run([SQLMESH, "--gateway", "databricks", "plan", "--no-prompts", "--auto-apply", "--skip-tests"], env)
    assert plan.returncode != 0, plan.stdout + plan.stderr
    texts = _texts(plan, logs, started)
    assert "refused" in (plan.stdout + plan.stderr).lower() or "connect" in (plan.stdout + plan.stderr).lower()
    _assert_no_secret(texts)

    started = time.time()
    daily = _run(
        [sys.executable, "-m", "dvdrental", "-v", "daily", "--gateway", "databricks", "--via", "airbyte"],
        {**env, **_airbyte_env(fake)},
    )
    assert daily.returncode == 6, daily.stdout + daily.stderr  # TransformError: the state cannot be read
    assert "Traceback" not in daily.stderr
    assert "error: Cannot read SQLMesh's state (databricks gateway)" in daily.stderr
    assert fake.seen("POST", "/jobs"), "the Airbyte ingest should have run before SQLMesh"
    texts = _texts(daily, logs, started)
    assert list(logs.glob("daily_*.log")), "the daily run should have written its log"
    _assert_no_secret(texts, *fake.tokens)
