"""Every model through production's ``databricks`` gateway and the real databricks-sql-connector.

Production's SQLMesh reaches a Databricks SQL warehouse through the databricks-sql-connector
(Thrift over HTTPS, a bearer token, results decoded by the connector, ``concurrent_tasks: 4``
sessions at once), with its state in PostgreSQL. This module runs exactly that: the
``databricks`` gateway as config.yaml renders it from ``DATABRICKS_SERVER_HOSTNAME``,
``DATABRICKS_HTTP_PATH``, ``DATABRICKS_CATALOG``, ``DATABRICKS_TOKEN`` and ``SQLMESH_STATE_*``
(the state in a database of the session's own PostgreSQL server), against the local endpoint
(dvdrental/local_databricks/endpoint.py: Spark's Thrift Server over HTTPS with a throw-away CA,
loopback only), with the connector adjusted only where Spark's server is not a SQL warehouse
(dvdrental/local_databricks/connector_adjustments.py).

One module-scoped run: bronze into a fresh DuckDB warehouse and, through the connector, into
the endpoint (Airbyte's Databricks types); the ``local`` gateway's prod plan as the reference;
then through the connector a prod plan from empty, the next day's run of every model, a
forward-only change planned into dev (clones) and ``table_diff`` prod:dev of the changed model.
The statements sent are written to ``.local/databricks-connector/statements.sql``.

Skip it with DVD_SKIP_SPARK=1, like the runtime-mode module.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import secrets
import shutil
import typing as t
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from foundation.paths import PROJECT_ROOT
from ingest.source import LocalPostgres
from tests.support.databricks_runs import (
    DEV,
    FORWARD_ONLY_MODEL,
    Phase,
    forward_only_dev_plan,
    models_by_name,
    profile_items,
    profile_sql,
    row_differences,
    run_phase,
    same,
)

SKIP_ENV = "DVD_SKIP_SPARK"
STATEMENT_LOG = PROJECT_ROOT / ".local" / "databricks-connector" / "statements.sql"
CATALOG = "spark_catalog"
SQLMESH_COMMENT = r"\s*(?:/\*.*?\*/\s*)?"  # SQLMesh prefixes a statement with /* SQLMESH_PLAN: <id> */
# The Thrift Server reads the Authorization header as Basic credentials whatever its scheme (and,
# with NOSASL, checks nothing): the token must decode to user:password. A workspace's token is opaque.
TOKEN = base64.b64encode(b"dvdrental:local-endpoint").decode()

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        os.environ.get(SKIP_ENV, "").lower() in ("1", "true", "yes"),
        reason=f"{SKIP_ENV}=1: the Spark runs are skipped",
    ),
]

CLEARED_ENV = (
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "SQLMESH_GATEWAY",
    "SQLMESH_RUNTIME_ENVIRONMENT",
    "SQLMESH_STATE_SSLMODE",
    "DVD_SPARK_DIR",
)


@dataclass
class DailyCommand:
    """`dvdrental daily --gateway databricks --via airbyte` run in the test process."""

    exit_code: int
    output: str  # stdout and stderr
    statements: list[t.Any]  # what it sent through the connector
    syncs_started: int  # POST /jobs at the fake Airbyte


@dataclass
class ConnectorRun:
    local: t.Any  # sqlmesh Context on DuckDB
    ctx: t.Any  # sqlmesh Context on the databricks gateway
    adjusted: t.Any  # dvdrental.local_databricks.connector_adjustments.Adjusted
    endpoint: t.Any
    bronze_counts: dict[str, int]
    plan: Phase
    daily: Phase | None = None
    dev: Phase | None = None
    diff: t.Any = None  # sqlmesh TableDiff of FORWARD_ONLY_MODEL, prod vs dev
    diff_error: BaseException | None = None
    daily_command: DailyCommand | None = None

    def query(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.ctx.engine_adapter.fetchall(sql)]

    def table(self, model: str) -> str:
        return self.ctx.get_snapshot(model, raise_if_missing=True).table_name()

    @property
    def models(self) -> list[str]:
        return sorted(name for name, model in models_by_name(self.ctx).items() if not model.kind.is_external)


def _state_database(pg_server: LocalPostgres) -> dict[str, str]:
    """A role and a database of its own for SQLMesh's state, as production's SQLMESH_STATE_* name them."""
    password = secrets.token_urlsafe(18)
    with pg_server.connect("postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS sqlmesh_state")
        conn.execute("DROP ROLE IF EXISTS sqlmesh_state")
        conn.execute(f"CREATE ROLE sqlmesh_state LOGIN PASSWORD '{password}'")
        conn.execute("CREATE DATABASE sqlmesh_state OWNER sqlmesh_state")
    port = pg_server.state.port  # type: ignore[union-attr]
    return {
        "SQLMESH_STATE_HOST": "127.0.0.1",
        "SQLMESH_STATE_PORT": str(port),
        "SQLMESH_STATE_USER": "sqlmesh_state",
        "SQLMESH_STATE_PASSWORD": password,
        "SQLMESH_STATE_DATABASE": "sqlmesh_state",
    }


@pytest.fixture(scope="module")
def connector_run(
    pg_server: LocalPostgres, pristine_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[ConnectorRun]:
    if not (shutil.which("java") and shutil.which("keytool")):
        pytest.fail(f"no java/keytool on PATH: the endpoint needs Java 17 (or set {SKIP_ENV}=1)")
    root = tmp_path_factory.mktemp("databricks-connector")
    warehouse = root / "warehouse" / "dvdrental.duckdb"
    from databricks import sql as databricks_sql

    from dvdrental.local_databricks.bronze import load_through
    from dvdrental.local_databricks.connector_adjustments import connector_adjusted
    from dvdrental.local_databricks.databricks_standins import StatementLog
    from dvdrental.local_databricks.endpoint import HOST, running_endpoint
    from dvdrental.warehouse.context import context, plan_prod
    from ingest.bronze import load_bronze

    load_bronze(pristine_dsn, warehouse, progress=False)
    with pytest.MonkeyPatch.context() as env, running_endpoint(root / "endpoint") as endpoint:
        for name in CLEARED_ENV:
            env.delenv(name, raising=False)
        env.setenv("DVD_WAREHOUSE_PATH", str(warehouse))
        env.setenv("SQLMESH__DISABLE_ANONYMIZED_ANALYTICS", "true")
        settings = {
            "DATABRICKS_SERVER_HOSTNAME": HOST,
            "DATABRICKS_HTTP_PATH": endpoint.http_path,
            "DATABRICKS_CATALOG": CATALOG,
            "DATABRICKS_TOKEN": TOKEN,
            **_state_database(pg_server),
        }
        log = StatementLog()
        with connector_adjusted(endpoint.port, endpoint.ca_file, log) as adjusted:
            with (
                databricks_sql.connect(
                    server_hostname=HOST, http_path=endpoint.http_path, access_token=TOKEN, catalog=CATALOG
                ) as connection,
                connection.cursor() as cursor,
            ):

                def run_sql(statement: str) -> list[tuple]:
                    cursor.execute(statement)
                    return [tuple(row) for row in cursor.fetchall()]

                bronze_counts = load_through(run_sql, warehouse)
            log.statements.clear()  # the bronze copy is Airbyte's work, not the pipeline's

            local = context("local")  # its reference plan runs with the databricks settings unset
            plan_prod(ctx=local, skip_tests=True)
            for name, value in settings.items():
                env.setenv(name, value)
            ctx = context("databricks")
            plan = run_phase(
                "plan of prod from empty",
                ctx,
                log,
                lambda: ctx.plan("prod", auto_apply=True, no_prompts=True, skip_tests=True),
            )
            run = ConnectorRun(local, ctx, adjusted, endpoint, bronze_counts, plan)
            if plan.error is None and not plan.failed and not plan.skipped:
                tomorrow = (date.today() + timedelta(days=1)).isoformat()
                run.daily = run_phase("next day's run", ctx, log, lambda: ctx.run("prod", execution_time=tomorrow))
                local.run("prod", execution_time=tomorrow)  # the reference runs the same day
                run.dev = forward_only_dev_plan(ctx, log)
                if run.dev.error is None:
                    try:
                        # dev first: SQLMesh diffs a model only when the source's snapshot is the
                        # forward-only one (a forward-only change keeps prod's version), so prod:dev is empty.
                        run.diff = ctx.table_diff(
                            source=DEV, target="prod", select_models=[FORWARD_ONLY_MODEL], show=False
                        )[0]
                    except Exception as error:  # examined by the test
                        run.diff_error = error
                    day_after = (date.today() + timedelta(days=2)).isoformat()
                    run.daily_command = _daily_command(env, root, log, day_after)
                    local.run("prod", execution_time=day_after)  # the reference runs the same day
            written = log.write(STATEMENT_LOG)
            for phase in (run.plan, run.daily, run.dev):
                if phase is not None:
                    print(
                        f"\n{phase.name}: {len(phase.statements)} statements, "
                        f"{dict(sorted(Counter(phase.kinds()).items()))}"
                    )
            print(f"\nThrift requests by method: {dict(sorted(adjusted.requests.items()))}")
            print(
                f"\n{len(log.statements)} statements through the connector, by kind: "
                f"{dict(sorted(log.counts().items()))}; log: {written}; adjustments fired: {dict(adjusted.fired)}"
            )
            yield run
            ctx.close()
            local.close()


def _daily_command(env: pytest.MonkeyPatch, root: Path, log: t.Any, day: str) -> DailyCommand:
    """The daily run as the scheduler starts it on production's gateway, ingest by the fake Airbyte.

    In this process, where the connector's adjustments are installed (a subprocess would not have them).
    The fake reports a successful sync; bronze is what the endpoint already holds, as after a sync."""
    from dvdrental.commands import main
    from tests.support.fake_airbyte import FakeAirbyte, airbyte_env

    with FakeAirbyte() as fake:
        for name, value in airbyte_env(fake, AIRBYTE_POLL_INTERVAL_SECONDS="0.05").items():
            env.setenv(name, value)
        env.setenv("DVD_LOG_DIR", str(root / "logs"))
        before = len(log.statements)
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = main(["daily", "--gateway", "databricks", "--via", "airbyte", "--execution-time", f"{day} 01:00:00"])
        return DailyCommand(code, output.getvalue(), log.statements[before:], len(fake.seen("POST", "/jobs")))


def test_endpoint_listens_on_loopback_only(connector_run: ConnectorRun) -> None:
    from dvdrental.local_databricks.endpoint import listening_addresses

    addresses = listening_addresses(connector_run.endpoint.pid)
    assert any(a.endswith(f":{connector_run.endpoint.port}") for a in addresses), addresses
    # Thrift (HTTPS), Spark's RPC and block manager: all on loopback (IPv4, or IPv4-mapped IPv6).
    assert all(a.startswith(("127.0.0.1:", "::ffff:127.0.0.1:")) for a in addresses), addresses


def test_bronze_in_the_endpoint_equals_duckdb(connector_run: ConnectorRun) -> None:
    for fqn, count in connector_run.bronze_counts.items():
        assert count == connector_run.local.engine_adapter.fetchone(f"SELECT COUNT(*) FROM {fqn}")[0], fqn
    assert len(connector_run.bronze_counts) == 11


def test_the_gateway_is_production_s(connector_run: ConnectorRun) -> None:
    """The Databricks adapter over the SQL connector (not a SparkSession), state in PostgreSQL."""
    from databricks.sql.client import Connection
    from sqlmesh.core.engine_adapter.databricks import DatabricksEngineAdapter
    from sqlmesh.core.state_sync.db.facade import EngineAdapterStateSync

    adapter = connector_run.ctx.engine_adapter
    assert type(adapter) is DatabricksEngineAdapter and not adapter.is_spark_session_connection
    assert isinstance(adapter.connection, Connection)
    state = connector_run.ctx.state_sync
    state = getattr(state, "state_sync", state)
    assert isinstance(state, EngineAdapterStateSync) and state.engine_adapter.dialect == "postgres"
    assert connector_run.ctx.concurrent_tasks == 4


def test_every_model_builds_through_the_connector(connector_run: ConnectorRun) -> None:
    plan = connector_run.plan
    assert not plan.failed, "models failed:\n" + "\n".join(f"  {m}: {e}" for m, e in plan.failed.items())
    assert not plan.skipped, f"models skipped: {sorted(plan.skipped)}"
    assert plan.error is None, repr(plan.error)
    kinds = plan.kinds()
    assert "insert replace where <range>" in kinds and "create with comments" in kinds, sorted(set(kinds))


def test_next_day_run_of_every_model(connector_run: ConnectorRun) -> None:
    daily = connector_run.daily
    assert daily is not None, "no daily run: the plan did not build every model"
    assert daily.error is None and not daily.failed and not daily.skipped, f"{daily.error!r} {daily.failed}"
    assert daily.status is not None and daily.status.is_success, daily.status
    kinds = set(daily.kinds())
    assert {"merge", "delete", "insert replace where true", "insert replace where <range>"} <= kinds, kinds


def test_forward_only_dev_plan_and_table_diff(connector_run: ConnectorRun) -> None:
    dev = connector_run.dev
    assert dev is not None, "no dev plan: the plan did not build every model"
    assert dev.error is None and not dev.failed, f"{dev.error!r} {dev.failed}"
    assert [s for s in dev.statements if s.stand_in == "shallow_clone"], dev.kinds()
    assert connector_run.diff_error is None, repr(connector_run.diff_error)
    stats = connector_run.diff.row_diff()
    # The dev table is the prod table plus one NULL column: the same rows by grain.
    assert stats.s_only_count == 0 and stats.t_only_count == 0, (stats.s_only_count, stats.t_only_count)
    assert stats.join_count == stats.source_count == stats.target_count  # 0 on the sample: nothing deleted
    assert (connector_run.diff.source_alias, connector_run.diff.target_alias) == (DEV, "prod")


@pytest.mark.parametrize(
    "adjustment",
    [
        "workspace_address",
        "telemetry",
        "open_session_protocol",
        "result_format",
        "fetch_result_metadata",
        "empty_row_set",
    ],
)
def test_adjustment_fired(connector_run: ConnectorRun, adjustment: str) -> None:
    from dvdrental.local_databricks.connector_adjustments import ADJUSTMENTS

    assert adjustment in ADJUSTMENTS
    assert connector_run.adjusted.fired[adjustment] > 0, dict(connector_run.adjusted.fired)


@pytest.mark.parametrize(
    ("adjustment", "failure"),
    [
        ("open_session_protocol", "initial namespace not supported"),
        ("result_format", "KeyError"),
        ("fetch_result_metadata", "resultFormat"),
        ("empty_row_set", "not iterable"),
    ],
)
def test_connector_still_fails_without(connector_run: ConnectorRun, adjustment: str, failure: str) -> None:
    """Each protocol adjustment is still needed by this connector: without it, a connection fails."""
    from databricks import sql as databricks_sql

    from dvdrental.local_databricks.connector_adjustments import connector_adjusted
    from dvdrental.local_databricks.endpoint import HOST

    endpoint = connector_run.endpoint
    with connector_adjusted(endpoint.port, endpoint.ca_file, skip={adjustment}), pytest.raises(Exception) as raised:
        with (
            databricks_sql.connect(
                server_hostname=HOST, http_path=endpoint.http_path, access_token=TOKEN, catalog=CATALOG
            ) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT 1 AS a")
            cursor.fetchall()
            cursor.execute("CREATE DATABASE IF NOT EXISTS adjustment_check")
            cursor.fetchall()
    assert failure in f"{type(raised.value).__name__}: {raised.value}", repr(raised.value)


@pytest.mark.parametrize("stand_in", ["use_catalog", "information_schema", "shallow_clone", "qualify"])
def test_stand_in_fired_at_the_connector_and_is_still_needed(connector_run: ConnectorRun, stand_in: str) -> None:
    """Each stand-in replaced a statement at the connector's cursor, and that statement, sent as
    SQLMesh wrote it, still fails on the endpoint: when it passes, the stand-in goes."""
    from databricks.sql.exc import ServerOperationError

    fired = connector_run.adjusted.log.fired(stand_in)
    assert fired, f"the {stand_in} stand-in never fired at the connector's cursor"
    with connector_run.ctx.engine_adapter.connection.cursor() as cursor, pytest.raises(ServerOperationError):
        connector_run.adjusted.unadjusted_execute(cursor, fired[0].sql)
        cursor.fetchall()


def test_models_equal_duckdb(connector_run: ConnectorRun) -> None:
    """Row count and column profile of every model equal DuckDB's (prod after the plan and the next day's run)."""
    for model in connector_run.models:
        schema, name = model.split(".")
        columns = connector_run.local.engine_adapter.fetchall(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{name}' ORDER BY ordinal_position"
        )
        assert columns, f"{model} is not in the DuckDB prod environment"
        duck = connector_run.local.engine_adapter.fetchone(f"SELECT {profile_sql(columns, 'duckdb')} FROM {model}")
        remote = connector_run.query(f"SELECT {profile_sql(columns, 'databricks')} FROM {connector_run.table(model)}")
        labels = ["rows"] + [label for label, _ in profile_items(columns)]
        differences = [
            f"{label}: duckdb={d!r} databricks={s!r}"
            for label, d, s in zip(labels, duck, remote[0], strict=True)
            if not same(d, s)
        ]
        assert not differences, f"{model} differs:\n  " + "\n  ".join(differences)


def test_daily_command_on_the_databricks_gateway(connector_run: ConnectorRun) -> None:
    """`dvdrental daily --gateway databricks --via airbyte`, what daily.yml runs: one sync started, every
    due model run through the connector, exit 0 (the models then still equal DuckDB's, tests below)."""
    daily = connector_run.daily_command
    assert daily is not None, "the plan or the dev phase failed before the daily run"
    assert daily.exit_code == 0, daily.output[-3000:]
    assert daily.syncs_started == 1
    summary = [line for line in daily.output.splitlines() if line.startswith("daily ok:")]
    assert summary and "0 failed" in summary[-1], daily.output[-3000:]
    written = {
        target.group(1)
        for s in daily.statements
        if (target := re.match(rf"{SQLMESH_COMMENT}(?:INSERT INTO|MERGE INTO)\s+(\S+)", s.sql, re.IGNORECASE))
    }
    assert len(written) >= 5, written  # the day's intervals of the incremental models were written


def test_delta_column_mapping_on_the_tables_sqlmesh_creates(connector_run: ConnectorRun) -> None:
    """config.yaml's databricks gateway asks Delta for column mapping on every physical table, so a
    forward-only change may drop or rename a column; the SCD2 dim_customer's table carries it."""
    creates = [
        s.sql
        for s in connector_run.plan.statements
        if re.match(rf"{SQLMESH_COMMENT}CREATE\s+(OR\s+REPLACE\s+)?TABLE", s.sql, re.IGNORECASE)
    ]
    assert creates
    mapped = [sql for sql in creates if re.search(r"'delta\.columnMapping\.mode'\s*=\s*'name'", sql)]
    assert any("gold__dim_customer" in sql for sql in mapped), creates[:3]
    assert len(mapped) == len(creates), [sql[:120] for sql in creates if sql not in mapped][:3]


def test_models_equal_duckdb_row_by_row(connector_run: ConnectorRun) -> None:
    """Every row of every model equals DuckDB's, matched by the model's grain in both directions (rows only
    one engine has, and per key the columns that differ); a model without a grain by whole rows. Run
    metadata (columns starting with _) is left out: it says when each engine ran."""
    models = models_by_name(connector_run.ctx)
    compared = 0
    for model in connector_run.models:
        schema, name = model.split(".")
        types = {
            column: data_type
            for column, data_type in connector_run.local.engine_adapter.fetchall(
                "SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_schema = '{schema}' AND table_name = '{name}' ORDER BY ordinal_position"
            )
            if not column.startswith("_")
        }
        columns = list(types)
        # The Thrift server hands arrays over as JSON text (Hive's serialisation of complex types; a
        # Databricks SQL warehouse sends Arrow lists): decoded here, so the elements are compared.
        arrays = [i for i, column in enumerate(columns) if types[column].endswith("[]")]
        grain = [g.name for g in models[model].grains]
        key = grain if grain and all(k in columns for k in grain) else []
        duck_select = ", ".join(f'"{c}"' for c in columns)
        remote_select = ", ".join(f"`{c}`" for c in columns)
        duck = connector_run.local.engine_adapter.fetchall(f"SELECT {duck_select} FROM {model}")
        remote = [
            tuple(json.loads(v) if i in arrays and isinstance(v, str) else v for i, v in enumerate(row))
            for row in connector_run.query(f"SELECT {remote_select} FROM {connector_run.table(model)}")
        ]
        compared += len(duck)
        problems = row_differences(columns, key, [tuple(r) for r in duck], remote)
        assert not problems, f"{model} (key {key or 'whole rows'}) differs:\n  " + "\n  ".join(problems)
    assert compared > 100_000  # every model's rows, not a few


def test_answers_equal_duckdb(connector_run: ConnectorRun) -> None:
    from dvdrental.reports.answers import QUESTIONS, answer_with

    report = connector_run.table("gold.report_rentals")

    def remote_fetch(sql: str) -> tuple[tuple[str, ...], list[tuple]]:
        cursor = connector_run.ctx.engine_adapter.cursor
        cursor.execute(sql.replace("gold.report_rentals", report))
        return tuple(d[0] for d in cursor.description), [tuple(r) for r in cursor.fetchall()]

    def duckdb_fetch(sql: str) -> tuple[tuple[str, ...], list[tuple]]:
        cursor = connector_run.local.engine_adapter.cursor
        cursor.execute(sql)
        return tuple(d[0] for d in cursor.description), cursor.fetchall()

    remote, duck = answer_with(remote_fetch, "databricks"), answer_with(duckdb_fetch, "duckdb")
    assert len(remote) == len(QUESTIONS) == 5
    for r, d in zip(remote, duck, strict=True):
        assert r.columns == d.columns, r.question.key
        assert len(r.rows) == len(d.rows), r.question.key
        for r_row, d_row in zip(r.rows, d.rows, strict=True):
            assert all(same(a, b) for a, b in zip(d_row, r_row, strict=True)), f"{r.question.key}: {d_row} != {r_row}"


def test_dashboard_dataset_equals_duckdb(connector_run: ConnectorRun) -> None:
    """What Preset runs on Databricks for the dashboard: the virtual dataset's SQL (window ranks over
    gold.report_rentals, joined back), the map's country names and the weekday axis, through the connector
    on Spark, equal DuckDB's row by row, one row per rental."""
    import yaml

    from dvdrental.superset.bundle import BUNDLE_DIR, render

    dataset = render(BUNDLE_DIR / "datasets" / "report_rentals_ranked.yaml", {"DATABRICKS_CATALOG": "dvdrental"})
    map_name = next(c["expression"] for c in dataset["columns"] if c["column_name"] == "country_map_name")
    weekday = yaml.safe_load((BUNDLE_DIR / "charts" / "rentals_by_weekday.yaml").read_text())["params"]["x_axis"]
    sql = (
        "SELECT rental_id, film_rank, category_rank, country_rank, country_duration_rank, "
        f"{map_name} AS country_map_name, {weekday['sqlExpression']} AS day "
        f"FROM ({dataset['sql']}) AS virtual_table ORDER BY rental_id"
    )
    report = connector_run.table("gold.report_rentals")
    remote = connector_run.query(sql.replace("gold.report_rentals", report))
    duck = [tuple(row) for row in connector_run.local.engine_adapter.fetchall(sql)]
    assert len(remote) == len(duck) == connector_run.query(f"SELECT COUNT(*) FROM {report}")[0][0]
    assert remote == duck
    assert sorted({row[1] for row in duck})[:10] == list(range(1, 11))  # the films ranked 1..n, no gaps


def test_grants_cover_every_statement_sqlmesh_sent(connector_run: ConnectorRun) -> None:
    """`dvdrental databricks grants` against what the pipeline did: every schema SQLMesh created, wrote or
    read through the connector (plan, next day's run, dev plan) is covered by the SQLMesh principal's grants
    or owned by it (it created it). Spark cannot run GRANT; without the bronze grant the same statements
    are not covered."""
    from dvdrental.warehouse.grants import Principals, grants_for, uncovered

    principals = Principals(airbyte="airbyte-writer", sqlmesh="sqlmesh-sp", reader="preset-reader")
    statements = [statement.sql for statement in connector_run.adjusted.log.statements]
    assert len(statements) > 100
    assert uncovered(statements, grants_for(principals), principals.sqlmesh) == []
    without_bronze = [g for g in grants_for(principals) if not (g.principal == "sqlmesh-sp" and g.schema == "bronze")]
    assert any("schema bronze" in m for m in uncovered(statements, without_bronze, principals.sqlmesh))
