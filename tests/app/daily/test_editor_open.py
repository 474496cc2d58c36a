"""An editor, `sqlmesh ui` or a dashboard left open at night never fails `dvdrental daily` (issue 22, part 3).

The editor is SQLMesh's VS Code extension's language server, the real ``sqlmesh_lsp``, driven over stdio
with the two requests that touch the project's connections: ``sqlmesh/get_environments`` (reads state)
and ``sqlmesh/run_test`` (runs a YAML unit test). With SQLMesh's state in the warehouse file those keep
DuckDB's one lock and the night's run fails (exit 4: the first test shows it, and its message names the
fix). With the state in PostgreSQL (``dvdrental source state``; config.yaml's local gateway), the editor
and the UI never open the warehouse, and the daily run writes it while both stay open and keep answering.
Superset, the dashboard, is covered in tests/app/superset (``test_daily_succeeds_while_superset_serves``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from dvdrental.warehouse.state_store import provision_state_database
from foundation.errors import WarehouseError
from foundation.paths import PROJECT_ROOT
from ingest.source import LocalPostgres
from tests.support.editors import LanguageServer, get_json, language_server, sqlmesh_ui

DVDRENTAL = str(Path(sys.executable).with_name("dvdrental"))
UNIT_TEST_FILE = PROJECT_ROOT / "tests" / "models" / "test_bronze_loads.yaml"


def _env(source_dsn: str, warehouse: Path, logs: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVD_LOCAL_STATE_")}
    env.update(
        DVD_SOURCE_DSN=source_dsn,
        DVD_WAREHOUSE_PATH=str(warehouse),
        DVD_LOG_DIR=str(logs),
        DVD_INGEST_VIA="direct",
        SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true",
        **extra,
    )
    return env


def _daily(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([DVDRENTAL, "daily"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)


def _use_the_editor(editor: LanguageServer) -> None:
    """What an editor does that touches the project's connections: list environments, run a unit test."""
    environments = editor.request("sqlmesh/get_environments", {})
    assert "prod" in environments["environments"], environments
    name = next(iter(yaml.safe_load(UNIT_TEST_FILE.read_text())))
    result = editor.request("sqlmesh/run_test", {"textDocument": {"uri": UNIT_TEST_FILE.as_uri()}, "testName": name})
    assert result["success"] is True, result


def test_an_editor_on_state_in_the_warehouse_file_fails_the_night(
    source_db: str, warehouse: Path, tmp_path: Path
) -> None:
    """Why the state moves: the old layout, tried. The run fails with exit 4 and says what to do."""
    env = _env(source_db, warehouse, tmp_path / "logs")
    assert _daily(env).returncode == 0  # builds prod (state in the file)
    with language_server(env, tmp_path / "lsp.log") as editor:
        _use_the_editor(editor)
        assert str(warehouse) in editor.open_files()  # the editor now holds the file
        night = _daily(env)
    assert night.returncode == WarehouseError.exit_code == 4, night.stderr
    assert "open in another process" in night.stderr
    assert "DVD_LOCAL_STATE_DATABASE" in night.stderr and "dvdrental source state" in night.stderr


def test_daily_succeeds_while_the_editor_and_the_ui_are_open(
    pg_server: LocalPostgres, source_db: str, warehouse: Path, tmp_path: Path
) -> None:
    store, created = provision_state_database(pg_server, f"state_{uuid.uuid4().hex[:8]}")
    assert created
    env = _env(source_db, warehouse, tmp_path / "logs", **store.settings())
    first = _daily(env)
    assert first.returncode == 0, first.stderr
    assert "prod planned first" in first.stdout
    with pg_server.connect(store.database) as conn:  # the state is in PostgreSQL, not in the file
        assert conn.execute("SELECT count(*) FROM sqlmesh._environments WHERE name = 'prod'").fetchone() == (1,)

    with language_server(env, tmp_path / "lsp.log") as editor, sqlmesh_ui(env, tmp_path / "ui.log") as ui:
        _use_the_editor(editor)
        assert "prod" in get_json(f"{ui}/api/environments")["environments"]
        assert get_json(f"{ui}/api/lineage/gold.report_rentals")  # the UI's lineage page, read
        assert not [f for f in editor.open_files() if f.startswith(str(warehouse))]

        night = _daily(env)
        assert night.returncode == 0, night.stderr
        assert "daily ok:" in night.stdout

        # Both are still there and answer from the same state afterwards.
        _use_the_editor(editor)
        assert "prod" in get_json(f"{ui}/api/environments")["environments"]
    # Rerunnable: the database is there, nothing is created twice.
    assert provision_state_database(pg_server, store.database) == (store, False)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"DVD_LOCAL_STATE_DATABASE": "s"}, "DVD_LOCAL_STATE_USER"),
        (
            {"DVD_LOCAL_STATE_DATABASE": "s", "DVD_LOCAL_STATE_USER": "u", "DVD_LOCAL_STATE_PORT": "x"},
            "DVD_LOCAL_STATE_PORT",
        ),
    ],
)
def test_a_bad_state_setting_is_named(settings: dict[str, str], expected: str, tmp_path: Path) -> None:
    env = _env("postgresql://nobody@127.0.0.1:1/none", tmp_path / "w.duckdb", tmp_path / "logs", **settings)
    result = subprocess.run(
        [DVDRENTAL, "daily"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
