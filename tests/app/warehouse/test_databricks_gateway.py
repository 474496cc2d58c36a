"""The databricks gateway of config.yaml, checked as far as possible without a workspace.

* its settings come from the environment; a missing one fails the config load naming it
  (SQLMesh's own `env_var` would render it as the string "None");
* token or OAuth machine-to-machine, Unity Catalog catalog, PostgreSQL state, DuckDB tests;
* `sqlmesh --gateway databricks test` runs the unit tests on DuckDB;
* the local gateway keeps working without any Databricks settings and without the
  Databricks, PostgreSQL-state and Spark drivers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dvdrental.warehouse import gateways
from foundation.paths import PROJECT_ROOT

FAKE = {
    "DATABRICKS_SERVER_HOSTNAME": "adb-0000000000000000.0.azuredatabricks.invalid",
    "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/0000000000000000",
    "DATABRICKS_CATALOG": "main",
    "DATABRICKS_TOKEN": "dapi-fake-\"quoted\"-'token'\\",
    "SQLMESH_STATE_HOST": "127.0.0.1",
    "SQLMESH_STATE_PORT": "65531",
    "SQLMESH_STATE_USER": "sqlmesh",
    "SQLMESH_STATE_PASSWORD": "p@ss: {word} #1",
    "SQLMESH_STATE_DATABASE": "sqlmesh_state",
}
REQUIRED = [
    "DATABRICKS_SERVER_HOSTNAME",
    "DATABRICKS_HTTP_PATH",
    "DATABRICKS_CATALOG",
    "DATABRICKS_TOKEN",
    "SQLMESH_STATE_HOST",
    "SQLMESH_STATE_USER",
    "SQLMESH_STATE_PASSWORD",
    "SQLMESH_STATE_DATABASE",
]
GATEWAY_VARS = {s.name for gw in gateways.GATEWAYS.values() for s in gw.all_settings()} - {"DVD_WAREHOUSE_PATH"}
GATEWAY_VARS |= {"SQLMESH_GATEWAY"}
SQLMESH = str(Path(sys.executable).with_name("sqlmesh"))


def load_config():
    from sqlmesh.core.config import Config
    from sqlmesh.core.config.loader import load_config_from_paths

    return load_config_from_paths(Config, project_paths=[PROJECT_ROOT / "config.yaml"])


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in GATEWAY_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def fake_env(clean_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in FAKE.items():
        clean_env.setenv(name, value)
    return clean_env


def test_without_settings_only_local_is_rendered(clean_env) -> None:
    config = load_config()
    assert list(config.gateways) == ["local"]
    assert config.default_gateway == "local"


def test_fake_settings_render_the_databricks_gateway(fake_env) -> None:
    config = load_config()
    connection = config.get_connection("databricks")
    assert connection.type_ == "databricks"
    assert connection.server_hostname == FAKE["DATABRICKS_SERVER_HOSTNAME"]
    assert connection.http_path == FAKE["DATABRICKS_HTTP_PATH"]
    assert connection.catalog == "main"  # Unity Catalog: always an explicit catalog
    assert connection.access_token == FAKE["DATABRICKS_TOKEN"]  # quotes and backslashes survive
    assert connection.auth_type is None

    state = config.get_state_connection("databricks")
    assert state is not None and state.type_ == "postgres"  # never state in Databricks
    assert (state.host, state.port, state.user, state.database) == ("127.0.0.1", 65531, "sqlmesh", "sqlmesh_state")
    assert state.password == FAKE["SQLMESH_STATE_PASSWORD"]

    test_connection = config.get_gateway("databricks").test_connection
    assert test_connection is not None and test_connection.type_ == "duckdb"
    assert test_connection.database is None  # in memory


def test_oauth_machine_to_machine(fake_env) -> None:
    fake_env.delenv("DATABRICKS_TOKEN")
    fake_env.setenv("DATABRICKS_CLIENT_ID", "00000000-0000-0000-0000-000000000000")
    fake_env.setenv("DATABRICKS_CLIENT_SECRET", "dose-fake-secret")
    connection = load_config().get_connection("databricks")
    assert connection.auth_type == "databricks-oauth"
    assert connection.oauth_client_id == "00000000-0000-0000-0000-000000000000"
    assert connection.oauth_client_secret == "dose-fake-secret"
    assert connection.access_token is None


@pytest.mark.parametrize("name", REQUIRED)
def test_a_missing_setting_fails_naming_it(fake_env, name: str) -> None:
    fake_env.delenv(name)
    with pytest.raises(Exception) as raised:
        load_config()
    assert f"{name} is not set" in str(raised.value)


def test_half_an_oauth_pair_names_the_other_half(fake_env) -> None:
    fake_env.delenv("DATABRICKS_TOKEN")
    fake_env.setenv("DATABRICKS_CLIENT_ID", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(Exception, match="DATABRICKS_CLIENT_SECRET is not set"):
        load_config()


def test_sqlmesh_gateway_alone_renders_it_and_names_the_first_missing(clean_env) -> None:
    clean_env.setenv("SQLMESH_GATEWAY", "databricks")
    with pytest.raises(Exception, match="DATABRICKS_SERVER_HOSTNAME is not set"):
        load_config()


def test_doctor_knows_every_setting_config_yaml_reads() -> None:
    text = (PROJECT_ROOT / "config.yaml").read_text()
    block = text[text.index("  databricks:") : text.index("{%- endif %}\n{%- if env_var('SQLMESH_GATEWAY') == 'spark'")]
    read = set(re.findall(r"(?:required|env_var)\('([A-Z0-9_]+)'", block))
    known = {s.name for s in gateways.GATEWAYS["databricks"].all_settings()}
    assert read == known


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in GATEWAY_VARS}
    env["SQLMESH__DISABLE_ANONYMIZED_ANALYTICS"] = "true"
    env.update(extra)
    return env


def _sqlmesh(*args: str, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SQLMESH, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_sqlmesh_cli_fails_naming_the_variable(tmp_path: Path) -> None:
    result = _sqlmesh(
        "info", env=_env(SQLMESH_GATEWAY="databricks", DVD_WAREHOUSE_PATH=str(tmp_path / "w.duckdb")), timeout=120
    )
    assert result.returncode != 0
    assert "DATABRICKS_SERVER_HOSTNAME is not set" in result.stdout + result.stderr


@pytest.mark.slow  # runs SQLMesh end to end in a subprocess
def test_unit_tests_run_on_duckdb_for_the_databricks_gateway(tmp_path: Path) -> None:
    """The workspace is never contacted: fake settings, and the tests pass on in-memory DuckDB."""
    result = _sqlmesh(
        "--gateway", "databricks", "test", env=_env(**FAKE, DVD_WAREHOUSE_PATH=str(tmp_path / "w.duckdb"))
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"Successfully Ran `\d+` Tests Against `duckdb`", output), output


SITECUSTOMIZE = """
import sys
# As if these drivers were not installed: `import x` raises ImportError.
for name in ("databricks", "databricks.sql", "databricks.sdk", "psycopg2", "pyspark"):
    sys.modules[name] = None
"""


def test_local_gateway_without_databricks_settings_or_drivers(pristine_dsn: str, tmp_path: Path) -> None:
    from ingest.bronze import load_bronze

    warehouse = tmp_path / "warehouse" / "dvdrental.duckdb"
    load_bronze(pristine_dsn, warehouse, progress=False)
    hide = tmp_path / "no_drivers"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = _env(DVD_WAREHOUSE_PATH=str(warehouse), PYTHONPATH=str(hide))

    probe = subprocess.run([sys.executable, "-c", "import databricks.sql"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0, "the driver was not hidden"

    tested = _sqlmesh("test", env=env)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    planned = _sqlmesh("plan", "--auto-apply", "--no-prompts", env=env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "gold.report_rentals" in planned.stdout

    # With Databricks settings present (and its driver installed) the local gateway still
    # works: SQLMesh builds an adapter for every rendered gateway, but never connects it.
    again = _sqlmesh("plan", "--auto-apply", "--no-prompts", env=_env(**FAKE, DVD_WAREHOUSE_PATH=str(warehouse)))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes to plan" in again.stdout


def test_dvdrental_commands_name_missing_databricks_settings(monkeypatch) -> None:
    """`dvdrental daily --gateway databricks` & co. fail with one line naming the variables, not a Jinja trace."""
    from dvdrental.warehouse.context import context
    from foundation.errors import ConfigError

    for name in ("DATABRICKS_SERVER_HOSTNAME", "DATABRICKS_HTTP_PATH", "DATABRICKS_TOKEN", "SQLMESH_GATEWAY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=r"databricks gateway needs DATABRICKS_SERVER_HOSTNAME, DATABRICKS_HTTP_PATH"):
        context("databricks")
