"""Every setting the project reads, tried empty, malformed, of the wrong kind and as a user most
likely gets it wrong: one line naming the setting, the README's exit code, no traceback, nothing
started or changed.

The table is the spec. Settings are what ``grep -rn "optional(\\|required(\\|number(\\|os.environ"
dvdrental ingest`` finds, plus every command option that takes a value. Rows run in-process
through ``dvdrental.commands.main`` (fast: no interpreter start per row) with a clean environment,
a warehouse path and log directory of their own and the local server's state directory pointed at
a temporary one, so "nothing started or changed" can be checked after each row: no PostgreSQL
initialised, no warehouse file, no run log. Empty means "not set" everywhere (``foundation.settings``):
for a setting with a default the row shows the default taken; for a required one it is "missing".
"""

from __future__ import annotations

import os
import subprocess
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import foundation.settings
import ingest.source.server
from dvdrental.commands import main
from dvdrental.warehouse.gateways import GATEWAYS
from foundation.paths import PROJECT_ROOT
from ingest.source.dump import SHARED_DUMP
from ingest.source.server import free_port

SETTINGS_READ = {s.name for gw in GATEWAYS.values() for s in gw.all_settings()} | {
    "SQLMESH_GATEWAY",
    "DVD_ENV_FILE",
    "DVD_SOURCE_DSN",
    "DVDRENTAL_DUMP",
    "DVD_INGEST_VIA",
    "DVD_LOG_DIR",
    "DVD_PG_OS_USER",
    "AIRBYTE_CONNECTION_ID",
    "AIRBYTE_CLIENT_ID",
    "AIRBYTE_CLIENT_SECRET",
    "AIRBYTE_API_TOKEN",
    "AIRBYTE_API_URL",
    "AIRBYTE_TOKEN_URL",
    "AIRBYTE_POLL_INTERVAL_SECONDS",
    "AIRBYTE_TIMEOUT_SECONDS",
    "AIRBYTE_REQUEST_TIMEOUT_SECONDS",
    "AIRBYTE_MAX_RETRIES",
    "AIRBYTE_RETRY_BACKOFF_SECONDS",
    "AIRBYTE_CANCEL_ON_TERMINATION",
    "AIRBYTE_AUTH",
    "AIRBYTE_START_TIMEOUT_SECONDS",
    "DVD_ALERT_SLACK_WEBHOOK_URL",
    "DVD_ALERT_SMTP_HOST",
    "DVD_ALERT_SMTP_PORT",
    "DVD_ALERT_SMTP_USER",
    "DVD_ALERT_SMTP_PASSWORD",
    "DVD_ALERT_SMTP_SENDER",
    "DVD_ALERT_SMTP_RECIPIENTS",
    "DVD_ALERT_EMAIL_DATA_ENGINEERING",
    "DVD_ALERT_EMAIL_ANALYTICS_ENGINEERING",
    "DVD_GRANT_AIRBYTE_PRINCIPAL",
    "DVD_GRANT_SQLMESH_PRINCIPAL",
    "DVD_GRANT_READER_PRINCIPAL",
    "AIRBYTE_WORKSPACE_ID",
    "AIRBYTE_SOURCE_HOST",
    "AIRBYTE_SOURCE_PORT",
    "AIRBYTE_SOURCE_DATABASE",
    "AIRBYTE_SOURCE_USER",
    "AIRBYTE_SOURCE_PASSWORD",
}

# Nothing listens on {closed_port}: the sandbox picks a free port when the row runs (one picked at
# collection could be taken by a server started since, e.g. the session's PostgreSQL).
CLOSED = "postgresql://dvdrental@127.0.0.1:{closed_port}/dvdrental?connect_timeout=2"
DATABRICKS = {
    "DATABRICKS_SERVER_HOSTNAME": "adb-1234567890123456.7.azuredatabricks.net",
    "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/abc123",
    "DATABRICKS_CATALOG": "dvdrental",
    "DATABRICKS_TOKEN": "dapi-not-a-real-token",
    "SQLMESH_STATE_HOST": "127.0.0.1",
    "SQLMESH_STATE_USER": "sqlmesh",
    "SQLMESH_STATE_PASSWORD": "not-a-real-password",
    "SQLMESH_STATE_DATABASE": "sqlmesh_state",
}
# An Airbyte API that does not answer (a closed local port), token auth, no retries: fails fast.
AIRBYTE = {
    "AIRBYTE_CONNECTION_ID": "c0ffee00-0000-4000-8000-000000000000",
    "AIRBYTE_API_TOKEN": "not-a-real-token",
    "AIRBYTE_API_URL": "http://127.0.0.1:{closed_port}/v1",
    "AIRBYTE_MAX_RETRIES": "0",
}

_PRINCIPALS = {
    "DATABRICKS_CATALOG": "dvdrental",
    "DVD_GRANT_AIRBYTE_PRINCIPAL": "airbyte-writer",
    "DVD_GRANT_SQLMESH_PRINCIPAL": "sqlmesh-sp",
    "DVD_GRANT_READER_PRINCIPAL": "preset-reader",
}
_SETUP = {  # `dvdrental airbyte plan/apply`: the described source and destination
    **AIRBYTE,
    "AIRBYTE_WORKSPACE_ID": "0c6f5a2e-3b1d-4e8f-a7c9-5d2e1f0a9b33",
    "AIRBYTE_SOURCE_HOST": "pg.example.com",
    "AIRBYTE_SOURCE_DATABASE": "dvdrental",
    "AIRBYTE_SOURCE_USER": "airbyte_reader",
    "AIRBYTE_SOURCE_PASSWORD": "not-a-real-password",
    "DATABRICKS_SERVER_HOSTNAME": "dbc-1234.cloud.databricks.com",
    "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/abc123",
    "DATABRICKS_CATALOG": "main",
    "DATABRICKS_TOKEN": "not-a-real-token",
}
_SMTP = {
    "DVD_ALERT_SMTP_HOST": "127.0.0.1",
    "DVD_ALERT_SMTP_USER": "alerts",
    "DVD_ALERT_SMTP_PASSWORD": "not-a-real-password",
    "DVD_ALERT_SMTP_SENDER": "dvdrental@example.com",
    "DVD_ALERT_SMTP_RECIPIENTS": "oncall@example.com",
}


@dataclass(frozen=True)
class Case:
    setting: str  # the variable or option the row is about
    kind: str  # empty / malformed / wrong kind / likely
    argv: tuple[str, ...]
    exit_code: int
    says: str  # what the message must contain (besides the setting's name)
    env: dict[str, str] = field(default_factory=dict)
    report: bool = False  # a multi-line report (doctor): its last line says it, not one error line

    @property
    def id(self) -> str:
        return f"{self.setting} {self.kind} ({' '.join(self.argv)})"


def _with(**env: str) -> dict[str, str]:
    return env


TABLE: tuple[Case, ...] = (
    # DVD_ENV_FILE: the .env file to read (unset: <project>/.env)
    Case(
        "DVD_ENV_FILE",
        "likely: a file that is not there",
        ("ingest",),
        2,
        "does not exist: point it at a .env file",
        _with(DVD_ENV_FILE="{tmp}/no-such.env"),
    ),
    # DVD_SOURCE_DSN: where ingest reads (unset: the project's own local server)
    Case("DVD_SOURCE_DSN", "empty", ("source", "status"), 1, "source not set up", _with(DVD_SOURCE_DSN="")),
    Case(
        "DVD_SOURCE_DSN",
        "malformed",
        ("ingest",),
        2,
        "not a PostgreSQL connection string",
        _with(DVD_SOURCE_DSN="garbage"),
    ),
    Case(
        "DVD_SOURCE_DSN",
        "malformed",
        ("daily",),
        2,
        "not a PostgreSQL connection string",
        _with(DVD_SOURCE_DSN="garbage"),
    ),
    Case(
        "DVD_SOURCE_DSN",
        "malformed port",
        ("ingest",),
        2,
        "port 'abc'",
        _with(DVD_SOURCE_DSN="postgresql://dvdrental:pw-7f3a@localhost:abc/dvdrental"),
    ),
    Case(
        "DVD_SOURCE_DSN",
        "wrong kind",
        ("ingest",),
        2,
        "http:// address",
        _with(DVD_SOURCE_DSN="http://db.example.com/dvdrental"),
    ),
    Case(
        "DVD_SOURCE_DSN",
        "malformed",
        ("source", "scale", "--factor", "2"),
        2,
        "not a PostgreSQL",
        _with(DVD_SOURCE_DSN="garbage"),
    ),
    Case("DVD_SOURCE_DSN", "malformed", ("source", "status"), 2, "not a PostgreSQL", _with(DVD_SOURCE_DSN="dbname")),
    Case(
        "DVD_SOURCE_DSN", "likely: server down", ("ingest",), 3, "is the server running", _with(DVD_SOURCE_DSN=CLOSED)
    ),
    Case(
        "DVD_SOURCE_DSN",
        "likely: server down",
        ("doctor",),
        3,
        "source: Cannot reach",
        _with(DVD_SOURCE_DSN=CLOSED),
        report=True,
    ),
    # DVDRENTAL_DUMP: the sample archive the local server is restored from
    Case(
        "DVDRENTAL_DUMP",
        "malformed",
        ("demo",),
        2,
        "does not point to a file",
        _with(DVDRENTAL_DUMP="/nonexistent/dvdrental.tar"),
    ),
    Case(
        "DVDRENTAL_DUMP",
        "malformed",
        ("source", "start"),
        2,
        "does not point to a file",
        _with(DVDRENTAL_DUMP="/nonexistent"),
    ),
    Case(
        "DVDRENTAL_DUMP",
        "wrong kind: a directory",
        ("ingest",),
        2,
        "does not point to a file",
        _with(DVDRENTAL_DUMP="{tmp}"),
    ),
    Case("DVDRENTAL_DUMP", "likely: the zip", ("demo",), 2, "unzip it", _with(DVDRENTAL_DUMP="{zip}")),
    # DVD_WAREHOUSE_PATH: the DuckDB file
    Case(
        "DVD_WAREHOUSE_PATH",
        "empty",
        ("doctor", "--no-connect"),
        0,
        "default (warehouse/dvdrental.duckdb)",
        _with(DVD_WAREHOUSE_PATH=""),
        report=True,
    ),
    Case(
        "DVD_WAREHOUSE_PATH",
        "malformed: a schema's name",
        ("ingest",),
        2,
        "clashes with",
        _with(DVD_WAREHOUSE_PATH="{tmp}/gold.duckdb"),
    ),
    Case(
        "DVD_WAREHOUSE_PATH",
        "wrong kind: a directory",
        ("ingest",),
        2,
        "is a directory",
        _with(DVD_WAREHOUSE_PATH="{tmp}"),
    ),
    Case(
        "DVD_WAREHOUSE_PATH",
        "likely: not writable",
        ("doctor",),
        4,
        "warehouse (DuckDB)",
        _with(DVD_WAREHOUSE_PATH="{file}/dvdrental.duckdb"),
        report=True,
    ),
    # DVD_DUCKDB_MEMORY_LIMIT / DVD_DUCKDB_TEMP_DIRECTORY: DuckDB's memory bound and spill folder
    Case(
        "DVD_DUCKDB_MEMORY_LIMIT",
        "empty",
        ("doctor", "--no-connect"),
        0,
        "default (4GB)",
        _with(DVD_DUCKDB_MEMORY_LIMIT=""),
        report=True,
    ),
    Case(
        "DVD_DUCKDB_MEMORY_LIMIT",
        "malformed",
        ("ingest",),
        2,
        "is not a memory size",
        _with(DVD_DUCKDB_MEMORY_LIMIT="4G"),
    ),
    Case(
        "DVD_DUCKDB_MEMORY_LIMIT",
        "likely: a share of RAM",
        ("daily",),
        2,
        "is not a memory size",
        _with(DVD_DUCKDB_MEMORY_LIMIT="50%"),
    ),
    # DVD_LOCAL_STATE_*: SQLMesh's state for the local gateway in PostgreSQL (unset: in the warehouse file)
    Case(
        "DVD_LOCAL_STATE_DATABASE",
        "empty",
        ("doctor", "--no-connect"),
        0,
        "optional",
        _with(DVD_LOCAL_STATE_DATABASE=""),
        report=True,
    ),
    Case(
        "DVD_LOCAL_STATE_USER",
        "likely: the database set, the user forgotten",
        ("daily",),
        2,
        "needs DVD_LOCAL_STATE_USER",
        _with(DVD_LOCAL_STATE_DATABASE="sqlmesh_state", DVD_LOCAL_STATE_USER=""),
    ),
    Case(
        "DVD_LOCAL_STATE_PORT",
        "malformed",
        ("daily",),
        2,
        "is not a port",
        _with(DVD_LOCAL_STATE_DATABASE="sqlmesh_state", DVD_LOCAL_STATE_USER="u", DVD_LOCAL_STATE_PORT="5432x"),
    ),
    Case(
        "DVD_LOCAL_STATE_HOST",
        "wrong kind: a URL",
        ("daily",),
        2,
        "must be the bare host name",
        _with(DVD_LOCAL_STATE_DATABASE="s", DVD_LOCAL_STATE_USER="u", DVD_LOCAL_STATE_HOST="postgresql://127.0.0.1"),
    ),
    Case(
        "DVD_LOCAL_STATE_PASSWORD",
        "empty",
        ("doctor", "--no-connect"),
        0,
        "optional",
        _with(DVD_LOCAL_STATE_DATABASE="s", DVD_LOCAL_STATE_USER="u", DVD_LOCAL_STATE_PASSWORD=""),
        report=True,
    ),
    Case(
        "DVD_DUCKDB_MEMORY_LIMIT",
        "wrong kind: bytes",
        ("answers",),
        2,
        "a number and a unit",
        _with(DVD_DUCKDB_MEMORY_LIMIT="4000000000"),
    ),
    Case(
        "DVD_DUCKDB_TEMP_DIRECTORY",
        "wrong kind: a file",
        ("ingest",),
        2,
        "is a file",
        _with(DVD_DUCKDB_TEMP_DIRECTORY="{file}"),
    ),
    # DVD_INGEST_VIA: direct or airbyte
    Case("DVD_INGEST_VIA", "empty", ("doctor", "--no-connect"), 0, "ready", _with(DVD_INGEST_VIA=""), report=True),
    Case(
        "DVD_INGEST_VIA", "malformed", ("ingest",), 2, "choose one of direct, airbyte", _with(DVD_INGEST_VIA="airbite")
    ),
    Case("DVD_INGEST_VIA", "wrong kind", ("daily",), 2, "choose one of direct, airbyte", _with(DVD_INGEST_VIA="1")),
    Case(
        "AIRBYTE_CONNECTION_ID",
        "likely: DVD_INGEST_VIA=airbyte, nothing else",
        ("daily",),
        2,
        "AIRBYTE_CONNECTION_ID is not set",
        _with(DVD_INGEST_VIA="airbyte"),
    ),
    Case("--via", "malformed", ("ingest", "--via", "airbite"), 2, "invalid choice"),
    # DVD_LOG_DIR: where the daily run logs go
    Case(
        "DVD_LOG_DIR", "wrong kind: a file", ("daily",), 2, "cannot write run logs there", _with(DVD_LOG_DIR="{file}")
    ),
    Case(
        "DVD_LOG_DIR",
        "likely: under a file",
        ("daily",),
        2,
        "cannot write run logs there",
        _with(DVD_LOG_DIR="{file}/logs"),
    ),
    # SQLMESH_GATEWAY and --gateway
    Case(
        "SQLMESH_GATEWAY",
        "empty",
        ("doctor", "--no-connect"),
        0,
        "ready: sqlmesh plan",
        _with(SQLMESH_GATEWAY=""),
        report=True,
    ),
    Case("SQLMESH_GATEWAY", "malformed", ("answers",), 2, "no such gateway", _with(SQLMESH_GATEWAY="nope")),
    Case("SQLMESH_GATEWAY", "malformed", ("daily",), 2, "no such gateway", _with(SQLMESH_GATEWAY="Databricks")),
    Case("--gateway", "malformed", ("answers", "--gateway", "nope"), 2, "no such gateway"),
    Case("--gateway", "malformed", ("daily", "--gateway", "nope"), 2, "no such gateway"),
    Case(
        "--gateway", "likely: settings unset", ("answers", "--gateway", "databricks"), 2, "DATABRICKS_SERVER_HOSTNAME"
    ),
    Case(
        "--gateway", "likely: settings unset", ("dashboard", "--gateway", "databricks"), 2, "DATABRICKS_SERVER_HOSTNAME"
    ),
    # the source would not answer: had daily loaded bronze first, this would be exit 3
    Case(
        "--gateway",
        "likely: settings unset",
        ("daily", "--gateway", "databricks"),
        2,
        "DATABRICKS_SERVER_HOSTNAME",
        _with(DVD_SOURCE_DSN=CLOSED),
    ),
    Case(
        "--gateway", "likely: settings unset", ("plan-diff", "--gateway", "databricks"), 2, "DATABRICKS_SERVER_HOSTNAME"
    ),
    # The databricks gateway's settings
    Case(
        "DATABRICKS_SERVER_HOSTNAME",
        "empty",
        ("doctor", "--gateway", "databricks", "--no-connect"),
        2,
        "missing setting",
        {**DATABRICKS, "DATABRICKS_SERVER_HOSTNAME": ""},
        report=True,
    ),
    Case(
        "DATABRICKS_SERVER_HOSTNAME",
        "likely: a URL",
        ("daily", "--gateway", "databricks"),
        2,
        "no https://",
        {
            **DATABRICKS,
            "DATABRICKS_SERVER_HOSTNAME": "https://adb-1234567890123456.7.azuredatabricks.net/",
            "DVD_SOURCE_DSN": CLOSED,
        },
    ),
    Case(
        "DATABRICKS_HTTP_PATH",
        "malformed",
        ("doctor", "--gateway", "databricks", "--no-connect"),
        2,
        "must start with /",
        {**DATABRICKS, "DATABRICKS_HTTP_PATH": "sql/1.0/warehouses/abc123"},
        report=True,
    ),
    Case(
        "DATABRICKS_CATALOG",
        "empty",
        ("answers", "--gateway", "databricks"),
        2,
        "needs DATABRICKS_CATALOG",
        {**DATABRICKS, "DATABRICKS_CATALOG": ""},
    ),
    Case(
        "DATABRICKS_TOKEN",
        "empty",
        ("answers", "--gateway", "databricks"),
        2,
        "DATABRICKS_TOKEN or DATABRICKS_CLIENT_ID+DATABRICKS_CLIENT_SECRET",
        {**DATABRICKS, "DATABRICKS_TOKEN": ""},
    ),
    Case(
        "DATABRICKS_CLIENT_SECRET",
        "likely: half of OAuth",
        ("daily", "--gateway", "databricks"),
        2,
        "needs DATABRICKS_CLIENT_SECRET",
        {**DATABRICKS, "DATABRICKS_TOKEN": "", "DATABRICKS_CLIENT_ID": "sp-id", "DVD_SOURCE_DSN": CLOSED},
    ),
    Case(
        "SQLMESH_STATE_PORT",
        "malformed",
        ("daily", "--gateway", "databricks"),
        2,
        "is not a port",
        {**DATABRICKS, "SQLMESH_STATE_PORT": "abc", "DVD_SOURCE_DSN": CLOSED},
    ),
    Case(
        "SQLMESH_STATE_PORT",
        "wrong kind",
        ("doctor", "--gateway", "databricks", "--no-connect"),
        2,
        "is not a port",
        {**DATABRICKS, "SQLMESH_STATE_PORT": "5432.0"},
        report=True,
    ),
    Case(
        "DATABRICKS_CLIENT_ID",
        "likely: half of OAuth",
        ("answers", "--gateway", "databricks"),
        2,
        "needs DATABRICKS_CLIENT_ID",
        {**DATABRICKS, "DATABRICKS_TOKEN": "", "DATABRICKS_CLIENT_SECRET": "sp-secret-7f3a"},
    ),
    Case(
        "SQLMESH_STATE_USER",
        "empty",
        ("daily", "--gateway", "databricks"),
        2,
        "needs SQLMESH_STATE_USER",
        {**DATABRICKS, "SQLMESH_STATE_USER": "", "DVD_SOURCE_DSN": CLOSED},
    ),
    Case(
        "SQLMESH_STATE_PASSWORD",
        "empty",
        ("answers", "--gateway", "databricks"),
        2,
        "needs SQLMESH_STATE_PASSWORD",
        {**DATABRICKS, "SQLMESH_STATE_PASSWORD": ""},
    ),
    Case(
        "SQLMESH_STATE_DATABASE",
        "empty",
        ("answers", "--gateway", "databricks"),
        2,
        "needs SQLMESH_STATE_DATABASE",
        {**DATABRICKS, "SQLMESH_STATE_DATABASE": ""},
    ),
    Case(
        "SQLMESH_STATE_SSLMODE",
        "malformed",
        ("daily", "--gateway", "databricks"),
        2,
        "not a libpq sslmode",
        {**DATABRICKS, "SQLMESH_STATE_SSLMODE": "yes", "DVD_SOURCE_DSN": CLOSED},
    ),
    Case(
        "SQLMESH_STATE_HOST",
        "empty",
        ("dashboard", "--gateway", "databricks"),
        2,
        "needs SQLMESH_STATE_HOST",
        {**DATABRICKS, "SQLMESH_STATE_HOST": ""},
    ),
    # Airbyte (production ingest)
    Case(
        "AIRBYTE_CONNECTION_ID",
        "empty",
        ("airbyte", "check"),
        2,
        "AIRBYTE_CONNECTION_ID is not set",
        {**AIRBYTE, "AIRBYTE_CONNECTION_ID": ""},
    ),
    Case(
        "AIRBYTE_API_TOKEN",
        "empty",
        ("airbyte", "check"),
        2,
        "credentials are needed",
        {**AIRBYTE, "AIRBYTE_API_TOKEN": ""},
    ),
    Case(
        "AIRBYTE_CLIENT_SECRET",
        "likely: id without secret",
        ("airbyte", "check"),
        2,
        "AIRBYTE_CLIENT_SECRET",
        {**AIRBYTE, "AIRBYTE_API_TOKEN": "", "AIRBYTE_CLIENT_ID": "app-id"},
    ),
    Case(
        "AIRBYTE_CLIENT_ID",
        "likely: secret without id",
        ("ingest", "--via", "airbyte"),
        2,
        "AIRBYTE_CLIENT_ID",
        {**AIRBYTE, "AIRBYTE_API_TOKEN": "", "AIRBYTE_CLIENT_SECRET": "app-secret-7f3a"},
    ),
    Case(
        "AIRBYTE_API_URL",
        "wrong kind",
        ("airbyte", "check"),
        2,
        "must start with http",
        {**AIRBYTE, "AIRBYTE_API_URL": "ftp://x"},
    ),
    Case("AIRBYTE_API_URL", "likely: unreachable", ("airbyte", "check"), 7, "cannot connect", AIRBYTE),
    Case(
        "AIRBYTE_TOKEN_URL",
        "wrong kind",
        ("airbyte", "check"),
        2,
        "must start with http",
        {**AIRBYTE, "AIRBYTE_TOKEN_URL": "token"},
    ),
    Case(
        "AIRBYTE_POLL_INTERVAL_SECONDS",
        "malformed",
        ("airbyte", "check"),
        2,
        "is not a number",
        {**AIRBYTE, "AIRBYTE_POLL_INTERVAL_SECONDS": "10s"},
    ),
    Case(
        "AIRBYTE_POLL_INTERVAL_SECONDS",
        "empty",
        ("airbyte", "check"),
        7,
        "cannot connect",  # the default, then the network
        {**AIRBYTE, "AIRBYTE_POLL_INTERVAL_SECONDS": ""},
    ),
    Case(
        "AIRBYTE_TIMEOUT_SECONDS",
        "malformed",
        ("daily",),
        2,
        "must be at least 0",
        {**AIRBYTE, "DVD_INGEST_VIA": "airbyte", "AIRBYTE_TIMEOUT_SECONDS": "-5"},
    ),
    Case(
        "AIRBYTE_START_TIMEOUT_SECONDS",
        "malformed",
        ("airbyte", "check"),
        2,
        "must be at least 0",
        {**AIRBYTE, "AIRBYTE_START_TIMEOUT_SECONDS": "-1"},
    ),
    Case(
        "AIRBYTE_AUTH",
        "wrong kind",
        ("airbyte", "check"),
        2,
        "the only value is 'none'",
        {**AIRBYTE, "AIRBYTE_AUTH": "off"},
    ),
    Case(
        "AIRBYTE_AUTH",
        "likely",
        ("airbyte", "check"),
        2,
        "is for a self-managed Airbyte",
        {**AIRBYTE, "AIRBYTE_API_TOKEN": "", "AIRBYTE_AUTH": "none", "AIRBYTE_API_URL": "https://api.airbyte.com/v1"},
    ),
    Case(
        "AIRBYTE_REQUEST_TIMEOUT_SECONDS",
        "wrong kind",
        ("airbyte", "check"),
        2,
        "must be at least",
        {**AIRBYTE, "AIRBYTE_REQUEST_TIMEOUT_SECONDS": "0"},
    ),
    Case(
        "AIRBYTE_MAX_RETRIES",
        "wrong kind",
        ("daily",),
        2,
        "must be a whole number",
        {**AIRBYTE, "DVD_INGEST_VIA": "airbyte", "AIRBYTE_MAX_RETRIES": "1.5"},
    ),
    Case(
        "AIRBYTE_RETRY_BACKOFF_SECONDS",
        "malformed",
        ("airbyte", "check"),
        2,
        "is not a number",
        {**AIRBYTE, "AIRBYTE_RETRY_BACKOFF_SECONDS": "one"},
    ),
    Case(
        "AIRBYTE_CANCEL_ON_TERMINATION",
        "wrong kind",
        ("airbyte", "check"),
        2,
        "must be true or false",
        {**AIRBYTE, "AIRBYTE_CANCEL_ON_TERMINATION": "maybe"},
    ),
    # Command options that take a value
    Case("--factor", "malformed", ("source", "scale", "--factor", "x2"), 2, "not a whole number"),
    Case("--factor", "wrong kind", ("source", "scale", "--factor", "0"), 2, "must be at least 1"),
    Case("--timeout", "malformed", ("doctor", "--timeout", "ten"), 2, "not a number of seconds"),
    Case("--timeout", "wrong kind", ("doctor", "--timeout", "-1"), 2, "more than 0 seconds"),
    Case(
        "--execution-time",
        "malformed",
        ("daily", "--execution-time", "tomorrow-ish"),
        2,
        "is not a time",
        _with(DVD_SOURCE_DSN=CLOSED),
    ),
    Case(
        "--accept-mass-deletion",
        "malformed",
        ("daily", "--accept-mass-deletion", "rental=8022"),
        2,
        "expected TABLE:KEYS",
        _with(DVD_SOURCE_DSN=CLOSED),
    ),
    Case(
        "--accept-mass-deletion",
        "likely: a bronze name",
        ("daily", "--accept-mass-deletion", "raw_dvd_rental:8022"),
        2,
        "tables: address",
        _with(DVD_SOURCE_DSN=CLOSED),
    ),
    Case(
        "DVD_ACCEPT_MASS_DELETION",
        "malformed",
        ("daily",),
        2,
        "expected TABLE:KEYS",
        _with(DVD_SOURCE_DSN=CLOSED, DVD_ACCEPT_MASS_DELETION="rental"),
    ),
    Case(
        "DVD_ACCEPT_MASS_DELETION",
        "wrong kind",
        ("daily",),
        2,
        "e.g. rental:8022",
        _with(DVD_SOURCE_DSN=CLOSED, DVD_ACCEPT_MASS_DELETION="rental:all"),
    ),
    # The alert settings (docs/operations.md, "Alerts"): refused before the lock, the log or any load.
    Case(
        "DVD_ALERT_SLACK_WEBHOOK_URL",
        "wrong kind",
        ("daily",),
        2,
        "is not a webhook address",
        _with(DVD_ALERT_SLACK_WEBHOOK_URL="T0000/B0000/abc"),
    ),
    Case(
        "DVD_ALERT_SMTP_HOST",
        "likely: set alone",
        ("daily",),
        2,
        "DVD_ALERT_SMTP_USER is not set",
        _with(DVD_ALERT_SMTP_HOST="smtp.example.com"),
    ),
    # `dvdrental databricks grants`: the three principals and the catalog.
    *(
        Case(name, "empty", ("databricks", "grants"), 2, "is not set", {**_PRINCIPALS, name: ""})
        for name in ("DVD_GRANT_AIRBYTE_PRINCIPAL", "DVD_GRANT_SQLMESH_PRINCIPAL", "DVD_GRANT_READER_PRINCIPAL")
    ),
    # `dvdrental airbyte plan/apply`: the set-up's settings, each required (the port has a default).
    *(
        Case(name, "empty", ("airbyte", command), 2, "is not set", {**_SETUP, name: ""})
        for name in (
            "AIRBYTE_WORKSPACE_ID",
            "AIRBYTE_SOURCE_HOST",
            "AIRBYTE_SOURCE_DATABASE",
            "AIRBYTE_SOURCE_USER",
            "AIRBYTE_SOURCE_PASSWORD",
        )
        for command in ("plan", "apply")
    ),
    Case(
        "AIRBYTE_SOURCE_PORT",
        "malformed",
        ("airbyte", "plan"),
        2,
        "is not a port number",
        {**_SETUP, "AIRBYTE_SOURCE_PORT": "5432x"},
    ),
    Case(
        "AIRBYTE_SOURCE_PORT",
        "wrong kind",
        ("airbyte", "apply"),
        2,
        "is not a port number",
        {**_SETUP, "AIRBYTE_SOURCE_PORT": "70000"},
    ),
    Case(
        "DVD_ALERT_SMTP_PORT",
        "malformed",
        ("daily",),
        2,
        "is not a port number",
        {**_SMTP, "DVD_ALERT_SMTP_PORT": "smtps"},
    ),
    Case(
        "DVD_ALERT_SMTP_PASSWORD",
        "likely: host set, login forgotten",
        ("daily",),
        2,
        "e-mail alerts need it once DVD_ALERT_SMTP_HOST is set",
        {**_SMTP, "DVD_ALERT_SMTP_PASSWORD": ""},
    ),
    Case(
        "DVD_ALERT_SMTP_RECIPIENTS",
        "empty",
        ("daily",),
        2,
        "need at least one address",
        {**_SMTP, "DVD_ALERT_SMTP_RECIPIENTS": ""},
    ),
    Case(
        "DVD_ALERT_SMTP_RECIPIENTS",
        "malformed",
        ("daily",),
        2,
        "is not one",
        {**_SMTP, "DVD_ALERT_SMTP_RECIPIENTS": "oncall@example.com; data@example.com"},
    ),
    Case(
        "DVD_ALERT_EMAIL_DATA_ENGINEERING",
        "malformed",
        ("daily",),
        2,
        "is not one",
        {**_SMTP, "DVD_ALERT_EMAIL_DATA_ENGINEERING": "data-engineering"},
    ),
    Case("--output", "wrong kind", ("dashboard", "--output", "{tmp}"), 2, "is a directory"),
    Case(
        "--output", "likely: under a file", ("plan-diff", "--output", "{file}/plan.md"), 2, "is a file, not a directory"
    ),
    Case("--base-ref", "malformed", ("plan-diff", "--base-ref", "no-such-ref-7f3a"), 2, "is not a commit"),
)
if os.geteuid() == 0:  # the server's OS user only matters when we are root
    TABLE += (
        Case(
            "DVD_PG_OS_USER",
            "malformed",
            ("source", "start"),
            2,
            "no such user",
            _with(DVD_PG_OS_USER="no-such-user-7f3a"),
        ),
    )
if SHARED_DUMP.is_file():  # empty: the default, ../shared/data/dvdrental.tar
    TABLE += (
        Case(
            "DVDRENTAL_DUMP",
            "empty",
            ("doctor", "--no-connect"),
            0,
            "creates it from dvdrental.tar",
            _with(DVDRENTAL_DUMP=""),
            report=True,
        ),
    )


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> t.Iterator[dict[str, t.Any]]:
    """A clean environment; the warehouse, logs and local server state all under ``tmp_path``; a port
    nobody listens on, picked now (``{closed_port}`` in a row)."""
    for name in SETTINGS_READ | {"SQLMESH_GATEWAY"}:
        monkeypatch.delenv(name, raising=False)
    # No project .env: the row's environment only (a row about DVD_ENV_FILE sets its own).
    monkeypatch.setenv(foundation.settings.ENV_FILE_ENV, os.devnull)
    monkeypatch.setattr(foundation.settings, "_loaded", False)
    places: dict[str, t.Any] = {
        "closed_port": free_port(),
        "tmp": tmp_path / "dir",
        "file": tmp_path / "a-file",
        "zip": tmp_path / "dvdrental.zip",
        "warehouse": tmp_path / "warehouse" / "dvdrental.duckdb",
        "logs": tmp_path / "logs",
        "local": tmp_path / "local",
    }
    places["tmp"].mkdir()
    places["file"].write_text("not a directory\n")
    places["zip"].write_bytes(b"PK\x03\x04" + bytes(60))  # what the download is before unzipping
    monkeypatch.setenv("DVD_WAREHOUSE_PATH", str(places["warehouse"]))
    monkeypatch.setenv("DVD_LOG_DIR", str(places["logs"]))
    monkeypatch.setattr(ingest.source.server, "LOCAL_DIR", places["local"])
    yield places
    if (places["local"] / "postgres" / "server.json").exists():  # a row failed by starting one: stop it
        ingest.source.server.LocalPostgres(state_dir=places["local"] / "postgres").destroy()


@pytest.mark.parametrize("case", TABLE, ids=lambda c: c.id)
def test_bad_setting(
    case: Case, sandbox: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.format(**sandbox))
    argv = [a.format(**sandbox) for a in case.argv]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refusing an option
        code = exit_.code
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == case.exit_code, output
    assert "Traceback" not in output
    if case.report:
        last = output.strip().splitlines()[-1]
        assert case.says in output and (code == 0 or last.startswith("not ready:")), output
        named = output
    else:
        lines = [line for line in captured.err.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        if code != 1 and code != 0:
            assert len(errors) == 1 and lines[-1] == errors[0], f"one error line expected:\n{captured.err}"
            named = errors[0]
        else:  # not an error: the default was taken (e.g. `source status` of an unset-up server)
            named = output
        assert case.says in named, output
    setting = case.setting.lstrip("-")
    assert setting in named or case.kind == "empty" or case.setting.startswith("--") and setting in named, named
    # Nothing started or changed.
    assert not sandbox["local"].exists(), "a PostgreSQL server was set up"
    assert not sandbox["warehouse"].exists(), "the warehouse was created"
    assert not list(sandbox["logs"].glob("daily_*.log")), "a daily run log was written"
    for value in ("pw-7f3a", "dapi-not-a-real-token", "not-a-real-password", "secret-7f3a"):
        assert value not in output, "a secret was printed"


def test_every_setting_read_is_in_the_table() -> None:
    """A setting added to the code without a row here fails this test."""
    root = PROJECT_ROOT
    found = subprocess.run(
        [
            "grep",
            "-rhoE",
            r"(optional|required|number|_integer|_boolean|environ\.get|getenv)\(\"[A-Z_]+\"|[A-Z_]+_ENV = \"[A-Z_]+\"",
            "foundation",
            "dvdrental",
            "ingest",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout
    names = {part.split('"')[1] for part in found.split() if '"' in part}
    names |= {s.name for gw in GATEWAYS.values() for s in gw.all_settings()}
    covered = {c.setting for c in TABLE}
    # Read only by the Spark proof's helpers (python -m dvdrental.local_databricks.*) and SQLMesh's own switch.
    not_user_settings = {
        "DVD_SPARK_DIR",
        "DVD_SPARK_JARS_DIR",
        "DVD_DATABRICKS_LOCAL_DIR",
        "SQLMESH__DISABLE_ANONYMIZED_ANALYTICS",
    }
    assert sorted(names - covered - not_user_settings) == []


def test_a_gateway_option_does_not_leak_into_the_process(
    sandbox: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`daily --gateway X` once set SQLMESH_GATEWAY for the whole process, so whatever ran next
    in it (a test, a notebook cell) planned against X; the context sets it only while it loads."""
    monkeypatch.delenv("SQLMESH_GATEWAY", raising=False)
    assert main(["daily", "--gateway", "nope"]) == 2
    assert "SQLMESH_GATEWAY" not in os.environ
