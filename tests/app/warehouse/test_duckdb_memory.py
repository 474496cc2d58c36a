"""Bounded memory on the local warehouse: DVD_DUCKDB_MEMORY_LIMIT and DVD_DUCKDB_TEMP_DIRECTORY reach
DuckDB in SQLMesh's own connection (config.yaml's ``local`` gateway) and in ours (the readers), and
config.yaml's Jinja check says what foundation/duckdb_memory.py says, so a bare ``sqlmesh`` and
``dvdrental`` accept and refuse the same values.

What DuckDB reports is compared with what DuckDB itself makes of the same size string on a plain
in-memory connection (it prints ``4GB`` back as ``3.7 GiB``), never with a figure copied from the code.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import duckdb
import pytest

from dvdrental.commands import main
from dvdrental.warehouse.context import open_context
from dvdrental.warehouse.reader import duckdb_reader
from foundation.duckdb_memory import (
    DEFAULT_MEMORY_LIMIT,
    MEMORY_LIMIT_ENV,
    SPILL_FOLDER,
    TEMP_DIRECTORY_ENV,
    size_problem,
)
from foundation.paths import PROJECT_ROOT

SETTINGS_SQL = "SELECT current_setting('memory_limit'), current_setting('temp_directory')"


def duckdb_reads(size: str) -> str:
    """How DuckDB shows ``size`` as its memory_limit: the oracle."""
    with duckdb.connect() as con:
        con.execute(f"SET memory_limit = '{size}'")
        return t.cast(str, con.execute("SELECT current_setting('memory_limit')").fetchone()[0])


def load_config() -> t.Any:
    from sqlmesh.core.config import Config
    from sqlmesh.core.config.loader import load_config_from_paths

    return load_config_from_paths(Config, project_paths=[PROJECT_ROOT / "config.yaml"])


@pytest.fixture
def no_memory_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setattr("foundation.settings._loaded", True)  # no project .env: the test's environment only
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.delenv(TEMP_DIRECTORY_ENV, raising=False)
    return monkeypatch


def test_the_settings_reach_duckdb_in_a_sqlmesh_context(
    no_memory_settings: pytest.MonkeyPatch, warehouse: Path, tmp_path: Path
) -> None:
    no_memory_settings.setenv(MEMORY_LIMIT_ENV, "1536MiB")
    no_memory_settings.setenv(TEMP_DIRECTORY_ENV, str(tmp_path / "spill here"))
    warehouse.parent.mkdir()
    with open_context() as ctx:
        limit, spill = ctx.engine_adapter.fetchone(SETTINGS_SQL)
    assert limit == duckdb_reads("1536MiB") != duckdb_reads(DEFAULT_MEMORY_LIMIT)
    assert Path(spill) == tmp_path / "spill here"
    # The readers open the same file with the same two (DuckDB refuses a second configuration).
    with duckdb_reader(warehouse) as reader:
        _, rows = reader.fetch(SETTINGS_SQL)
    assert rows == [(limit, spill)]


def test_without_settings_duckdb_gets_the_laptop_defaults(
    no_memory_settings: pytest.MonkeyPatch, warehouse: Path
) -> None:
    warehouse.parent.mkdir()
    with open_context() as ctx:
        limit, spill = ctx.engine_adapter.fetchone(SETTINGS_SQL)
    assert limit == duckdb_reads(DEFAULT_MEMORY_LIMIT) != _duckdb_default_limit()
    assert Path(spill) == warehouse.parent / SPILL_FOLDER


def _duckdb_default_limit() -> str:
    """DuckDB's own default (80 % of RAM), which the gateway must not fall back to."""
    with duckdb.connect() as con:
        return t.cast(str, con.execute("SELECT current_setting('memory_limit')").fetchone()[0])


@pytest.mark.parametrize(
    "value", ["4GB", "512MiB", " 2 gib ", "1.5GB", "4G", "4", "GB", "0GB", "-1", "4 GB RAM", "80%", "½GB"]
)
def test_config_yaml_accepts_and_refuses_what_python_does(no_memory_settings: pytest.MonkeyPatch, value: str) -> None:
    no_memory_settings.setenv(MEMORY_LIMIT_ENV, value)
    problem = size_problem(MEMORY_LIMIT_ENV, value.strip())
    if problem is None:
        config = load_config()
        assert config.get_connection("local").connector_config["memory_limit"] == value.strip()
        duckdb_reads(value.strip())  # and DuckDB takes it
    else:
        with pytest.raises(Exception, match=MEMORY_LIMIT_ENV) as refused:
            load_config()
        assert "is not a memory size" in str(refused.value)


def test_config_yaml_defaults_are_pythons(no_memory_settings: pytest.MonkeyPatch, warehouse: Path) -> None:
    config = load_config().get_connection("local").connector_config
    assert config == {"memory_limit": DEFAULT_MEMORY_LIMIT, "temp_directory": str(warehouse.parent / SPILL_FOLDER)}


@pytest.mark.parametrize("argv", [["answers"], ["dashboard"], ["doctor", "--no-connect"]])
def test_a_bad_limit_is_one_line_naming_the_variable(
    no_memory_settings: pytest.MonkeyPatch, warehouse: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    no_memory_settings.setenv(MEMORY_LIMIT_ENV, "4G")
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.out + captured.err
    if argv[0] == "doctor":
        assert f"{MEMORY_LIMIT_ENV}='4G' is not a memory size" in captured.out + captured.err
    else:
        errors = [line for line in captured.err.splitlines() if line.strip()]
        assert len(errors) == 1 and errors[0].startswith("error:") and f"{MEMORY_LIMIT_ENV}='4G'" in errors[0], errors
    assert not warehouse.exists()
