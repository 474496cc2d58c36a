"""Every model on SQLMesh's Databricks adapter over local Apache Spark, compared with DuckDB.

Production runs the models through SQLMesh's ``databricks`` engine adapter. Databricks cannot
be reached from here, so that adapter is put on a local Spark 3.5 session, as in a Databricks
job (the ``databricks_spark`` gateway of config.yaml; dvdrental/local_databricks/databricks_standins.py):
the SQL production issues (databricks dialect, ``INSERT INTO ... REPLACE WHERE``, ``MERGE``,
``DELETE``, ``SHALLOW CLONE``, column comments) runs on Spark, with ANSI mode on as on a
Databricks SQL warehouse, and four Databricks-only statements replaced by named stand-ins.
Models are Apache Iceberg tables (the session's default format), standing in for Delta.

One module-scoped run:

1. bronze is loaded from the pristine sample into a fresh DuckDB warehouse (direct loader);
2. the Spark session is built here (main thread: the adapter takes the active session) and
   the same bronze copied into it as ``bronze.raw_dvd_*``, typed as external_models.yaml
   declares (dvdrental/local_databricks/bronze.py);
3. the `local` gateway plans prod on it: the reference;
4. the ``databricks_spark`` gateway plans prod from empty (time printed with ``-s``, test
   property ``spark_plan_seconds``);
5. the next day's ``sqlmesh run`` of silver.dvd_deletions and what reads it, and of a FULL
   model (DAILY_MODELS): REPLACE WHERE of one interval on silver.dvd_deletions, MERGE INTO and
   DELETE FROM on the gold unique-key models, REPLACE WHERE TRUE for the FULL one;
6. a forward-only change of silver.dvd_deletions planned into a dev environment: SQLMesh
   clones the prod tables it changes (SHALLOW CLONE on Databricks) and fills the clones.

Then: every model built (a blocking audit failing is a failed model), each stand-in fired and
the statement it replaces still fails on this Spark, the production models' row counts and
column profiles equal DuckDB's, and so do the five business answers (dvdrental/reports/answers.py).
Every statement sent to Spark, stand-ins marked, is written to
``.local/databricks-spark/statements.sql`` with a count by kind.

The plain ``spark`` adapter (INSERT OVERWRITE, spark dialect) is not run: production never
issues its SQL, and everything it reads or writes on Spark is read or written here too.

Opt-in: it runs only with DVD_SPARK_RUNTIME_MODE=1 (and not with DVD_SKIP_SPARK=1). `make test` runs
test_databricks_connector.py instead, which proves all of this through the real SQL connector; what only
this module covers is the adapter on a SparkSession connection, a Databricks job's path.
"""

from __future__ import annotations

import os
import re
import shutil
import typing as t
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from foundation.paths import PROJECT_ROOT
from tests.support.databricks_runs import (
    FORWARD_ONLY_MODEL,
    Phase,
    forward_only_dev_plan,
    models_by_name,
    profile_items,
    profile_sql,
    run_phase,
    same,
    sent_text,
)

SKIP_ENV = "DVD_SKIP_SPARK"
RUNTIME_MODE_ENV = "DVD_SPARK_RUNTIME_MODE"
GATEWAY = "databricks_spark"
STATEMENT_LOG = PROJECT_ROOT / ".local" / "databricks-spark" / "statements.sql"
# The next day's run: the time-range model and everything below it (REPLACE WHERE of one
# interval, then MERGE and DELETE in gold), and a FULL model (REPLACE WHERE TRUE). Not every
# model: the module must stay as quick as the spark-adapter run it replaced.
DAILY_MODELS = [f"{FORWARD_ONLY_MODEL}+", "gold.dim_film"]

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        os.environ.get(SKIP_ENV, "").lower() in ("1", "true", "yes"),
        reason=f"{SKIP_ENV}=1: the Spark gateway run is skipped",
    ),
    # Opt-in since the connector run (test_databricks_connector.py) proves the same models, write paths,
    # stand-ins and answers through production's transport; this one adds only the SparkSession
    # connection (a Databricks job's path, which production does not take). Both in `make test`
    # would add ~10 minutes on this 2-core machine (docs/databricks.md, section 5).
    pytest.mark.skipif(
        os.environ.get(RUNTIME_MODE_ENV, "").lower() not in ("1", "true", "yes"),
        reason=f"the runtime-mode proof runs only with {RUNTIME_MODE_ENV}=1 (the connector run covers the rest)",
    ),
]

GATEWAY_ENV = (
    "DATABRICKS_SERVER_HOSTNAME",
    "DATABRICKS_HTTP_PATH",
    "DATABRICKS_CATALOG",
    "DATABRICKS_TOKEN",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "SQLMESH_GATEWAY",
    "SQLMESH_RUNTIME_ENVIRONMENT",
)


@dataclass
class SparkRun:
    local: t.Any  # sqlmesh Context on the DuckDB gateway
    ctx: t.Any  # sqlmesh Context on the databricks_spark gateway
    spark: t.Any  # the SparkSession
    log: t.Any  # dvdrental.local_databricks.databricks_standins.StatementLog
    plan: Phase
    daily: Phase | None = None
    dev: Phase | None = None

    @property
    def models(self) -> list[str]:
        return sorted(name for name, model in models_by_name(self.ctx).items() if not model.kind.is_external)

    @property
    def built(self) -> list[str]:
        if self.plan.error is not None and not (self.plan.failed or self.plan.skipped):
            return []  # failed before evaluating anything we can tell apart
        return [m for m in self.models if m not in self.plan.failed and m not in self.plan.skipped]

    def spark_table(self, model: str) -> str:
        """The physical table of ``model``'s prod version on Spark."""
        return self.ctx.get_snapshot(model, raise_if_missing=True).table_name()

    def spark_rows(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]

    def duckdb_rows(self, sql: str) -> list[tuple]:
        return self.local.engine_adapter.fetchall(sql)


def _require_spark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail(f"pyspark is not installed: `pip install -e '.[dev]'` (or set {SKIP_ENV}=1)")
    if not shutil.which("java"):
        pytest.fail(f"no java on PATH: Spark needs Java 17 (apt-get install openjdk-17-jre-headless, or {SKIP_ENV}=1)")


@pytest.fixture(scope="module")
def spark_run(pristine_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[SparkRun]:
    _require_spark()
    root = tmp_path_factory.mktemp("spark-gateway")
    warehouse = root / "warehouse" / "dvdrental.duckdb"
    with pytest.MonkeyPatch.context() as env:
        for name in GATEWAY_ENV:
            env.delenv(name, raising=False)  # only local, spark and databricks_spark are rendered
        env.setenv("DVD_WAREHOUSE_PATH", str(warehouse))
        env.setenv("DVD_SPARK_DIR", str(root / "spark"))
        env.setenv("SQLMESH__DISABLE_ANONYMIZED_ANALYTICS", "true")

        from dvdrental.local_databricks.bronze import load_into_spark
        from dvdrental.local_databricks.databricks_standins import StatementLog, databricks_adapter_on
        from dvdrental.local_databricks.session import spark_session
        from dvdrental.warehouse.context import context, plan_prod
        from ingest.bronze import load_bronze

        load_bronze(pristine_dsn, warehouse, progress=False)

        spark = spark_session(GATEWAY)
        spark.sparkContext.setLogLevel("ERROR")
        # Before the DuckDB plan: it keeps a read-write connection open in this process.
        counts = load_into_spark(spark, warehouse)
        assert all(counts.values()), counts

        local = context("local")
        plan_prod(ctx=local, skip_tests=True)  # the unit tests run in `sqlmesh test`

        log = StatementLog()
        with databricks_adapter_on(spark, log):
            ctx = context(GATEWAY)
            plan = run_phase(
                "plan of prod from empty",
                ctx,
                log,
                lambda: ctx.plan("prod", auto_apply=True, no_prompts=True, skip_tests=True),
            )
            run = SparkRun(local, ctx, spark, log, plan)
            if plan.error is None and not plan.failed and not plan.skipped:
                tomorrow = (date.today() + timedelta(days=1)).isoformat()
                daily = {"select_models": DAILY_MODELS, "no_auto_upstream": True}
                run.daily = run_phase(
                    "next day's run", ctx, log, lambda: ctx.run("prod", execution_time=tomorrow, **daily)
                )
                run.dev = forward_only_dev_plan(ctx, log)
            written = log.write(STATEMENT_LOG)
            print(
                f"\n{len(log.statements)} statements sent to Spark, "
                f"by kind: {dict(sorted(log.counts().items()))}; log: {written}"
            )
            print(
                "seconds in spark.sql by kind: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(log.seconds().items()))
            )
            yield run
            ctx.close()
        spark.stop()
        _stop_jvm()


def _stop_jvm() -> None:
    """End the JVM pyspark started, so the rest of the test session gets its memory back."""
    from pyspark import SparkContext

    gateway = getattr(SparkContext, "_gateway", None)
    if gateway is not None:
        try:
            gateway.shutdown()
        finally:
            SparkContext._gateway = None
            SparkContext._jvm = None


def test_bronze_in_spark_has_the_declared_airbyte_types(spark_run: SparkRun) -> None:
    from dvdrental.local_databricks.bronze import declared_columns

    for fqn, declared in declared_columns().items():
        actual = [(f.name, f.dataType.simpleString()) for f in spark_run.spark.table(fqn).schema.fields]
        expected = [(name, _spark_type_name(type_)) for name, type_ in declared]
        assert actual == expected, fqn
        assert spark_run.spark_rows(f"SELECT COUNT(*) FROM {fqn}") == spark_run.duckdb_rows(
            f"SELECT COUNT(*) FROM {fqn}"
        )


def _spark_type_name(databricks_type: str) -> str:
    simple = databricks_type.lower().replace(" ", "")
    return {"string": "string", "timestamp": "timestamp", "timestamp_ntz": "timestamp_ntz"}.get(simple, simple)


def test_the_session_is_a_databricks_warehouse_s(spark_run: SparkRun) -> None:
    """ANSI mode (Databricks SQL warehouses), Iceberg by default (Delta there), the Databricks adapter."""
    from sqlmesh.core.engine_adapter.databricks import DatabricksEngineAdapter

    assert type(spark_run.ctx.engine_adapter) is DatabricksEngineAdapter
    assert spark_run.ctx.engine_adapter.is_spark_session_connection
    assert spark_run.spark.conf.get("spark.sql.ansi.enabled") == "true"
    assert spark_run.spark.conf.get("spark.sql.sources.default") == "iceberg"
    provider = [
        r
        for r in spark_run.spark_rows(f"DESCRIBE TABLE EXTENDED {spark_run.spark_table('gold.fact_rental')}")
        if r[0] == "Provider"
    ]
    assert provider and provider[0][1].lower() == "iceberg", provider


def test_every_model_builds_on_spark(spark_run: SparkRun, record_property: t.Callable[[str, t.Any], None]) -> None:
    plan = spark_run.plan
    record_property("spark_plan_seconds", round(plan.seconds, 1))
    assert not plan.failed, "models failed on Spark:\n" + "\n".join(f"  {m}: {e}" for m, e in plan.failed.items())
    assert not plan.skipped, f"models skipped on Spark: {sorted(plan.skipped)}"
    assert plan.error is None, repr(plan.error)
    assert spark_run.built == spark_run.models
    kinds = plan.kinds()
    # The Databricks adapter's write strategy: never the spark adapter's INSERT OVERWRITE.
    assert not any(k.startswith("insert overwrite") for k in spark_run.log.counts()), spark_run.log.counts()
    assert "insert replace where <range>" in kinds, "no first load of the time-range model"
    assert "create with comments" in kinds and "comment" in kinds, "no table or column comments registered"


def test_next_day_run_merges_deletes_and_replaces_one_interval(spark_run: SparkRun) -> None:
    """The write paths Databricks takes every day, on the tables SQLMesh built."""
    daily = spark_run.daily
    assert daily is not None, "no daily run: the plan did not build every model"
    assert daily.error is None and not daily.failed, f"{daily.error!r} {daily.failed}"
    assert daily.status is not None and daily.status.is_success, daily.status
    fact = spark_run.spark_table("gold.fact_rental").split(".")[-1].strip("`")
    assert {"merge", "delete"} <= set(daily.kinds(fact)), daily.kinds(fact)
    assert "insert replace where true" in daily.kinds(), "no FULL model was refreshed (REPLACE WHERE TRUE)"
    deletions = spark_run.spark_table(FORWARD_ONLY_MODEL).split(".")[-1].strip("`")
    ranges = [sent_text(s) for s in daily.statements if deletions in s.sql and "REPLACE WHERE" in s.sql.upper()]
    assert len(ranges) == 1, ranges
    # One day: the interval the run was due for.
    bounds = re.findall(r"(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}:\d{2}", ranges[0].split("REPLACE WHERE", 1)[1])
    assert len(bounds) >= 2 and bounds[0] == date.today().isoformat(), ranges[0][:400]


def test_forward_only_dev_plan_clones_prod_tables(spark_run: SparkRun) -> None:
    """Forward-only changes in dev start from a clone of the prod table (SHALLOW CLONE on
    Databricks; here the copy the stand-in makes, partitioned like its source)."""
    dev = spark_run.dev
    assert dev is not None, "no dev plan: the plan did not build every model"
    assert dev.error is None and not dev.failed, f"{dev.error!r} {dev.failed}"
    clones = [s for s in dev.statements if s.stand_in == "shallow_clone"]
    assert clones, dev.kinds()
    snapshot = spark_run.ctx.get_snapshot(FORWARD_ONLY_MODEL, raise_if_missing=True)
    dev_table, prod_table = snapshot.table_name(is_deployable=False), snapshot.table_name()
    assert any(dev_table.split(".")[-1].strip("`") in s.sql for s in clones), [s.sql for s in clones]
    partitions = [
        _partition_section(spark_run.spark_rows(f"DESCRIBE TABLE {table}")) for table in (prod_table, dev_table)
    ]
    assert len(partitions[0]) > 1 and partitions[0] == partitions[1], partitions
    dev_columns = [f.name for f in spark_run.spark.table(dev_table).schema.fields]
    assert "_dev_note" in dev_columns, dev_columns  # the forward-only change, applied to the clone
    prod_count = spark_run.spark_rows(f"SELECT COUNT(*) FROM {prod_table}")
    assert spark_run.spark_rows(f"SELECT COUNT(*) FROM {dev_table}") == prod_count


def _partition_section(describe: list[tuple]) -> list[tuple]:
    """The rows of DESCRIBE TABLE from its '# Partition Information' / '# Partitioning' header on."""
    headers = [i for i, row in enumerate(describe) if str(row[0]).startswith("# Partition")]
    return describe[headers[0] :] if headers else []


@pytest.mark.parametrize("stand_in", ["use_catalog", "information_schema", "shallow_clone", "qualify"])
def test_stand_in_fired_and_is_still_needed(spark_run: SparkRun, stand_in: str) -> None:
    """Each stand-in replaced at least one statement, and that statement still fails on this
    Spark: when a Spark accepts it, the stand-in goes (dvdrental/local_databricks/databricks_standins.py)."""
    from dvdrental.local_databricks.databricks_standins import STAND_INS

    assert set(STAND_INS) == {"use_catalog", "information_schema", "shallow_clone", "qualify"}
    fired = spark_run.log.fired(stand_in)
    assert fired, f"the {stand_in} stand-in never fired: is SQLMesh still sending that statement?"
    with pytest.raises(Exception) as raised:
        spark_run.spark.sql(fired[0].sql).collect()
    assert type(raised.value).__module__.startswith(("pyspark", "py4j")), raised.value


def test_statement_log_is_kept(spark_run: SparkRun) -> None:
    text = STATEMENT_LOG.read_text()
    assert text.startswith(f"-- {len(spark_run.log.statements)} statements")
    for stand_in in ("use_catalog", "information_schema", "shallow_clone", "qualify"):
        assert f"-- STAND-IN {stand_in} sent instead:" in text


def test_models_equal_duckdb(spark_run: SparkRun) -> None:
    """Row counts and per-column profiles of every model built on Spark equal the DuckDB gateway's."""
    compared = []
    for model in spark_run.built:
        columns = spark_run.duckdb_rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = '{model.split('.')[0]}' AND table_name = '{model.split('.')[1]}' "
            "ORDER BY ordinal_position"
        )
        assert columns, f"{model} is not in the DuckDB prod environment"
        duck = spark_run.duckdb_rows(f"SELECT {profile_sql(columns, 'duckdb')} FROM {model}")[0]
        spark = spark_run.spark_rows(f"SELECT {profile_sql(columns, 'spark')} FROM {spark_run.spark_table(model)}")[0]
        labels = ["rows"] + [label for label, _ in profile_items(columns)]
        differences = [
            f"{label}: duckdb={d!r} spark={s!r}"
            for label, d, s in zip(labels, duck, spark, strict=True)
            if not same(d, s)
        ]
        assert not differences, f"{model} differs:\n  " + "\n  ".join(differences)
        compared.append(model)
    assert any(m.startswith("gold.") for m in compared), "no gold model was built on Spark"


def test_answers_equal_duckdb(spark_run: SparkRun) -> None:
    from dvdrental.reports.answers import QUESTIONS, answer_with

    if "gold.report_rentals" not in spark_run.built:
        pytest.fail("gold.report_rentals was not built on Spark (see test_every_model_builds_on_spark)")
    report = spark_run.spark_table("gold.report_rentals")

    def spark_fetch(sql: str) -> tuple[tuple[str, ...], list[tuple]]:
        frame = spark_run.spark.sql(sql.replace("gold.report_rentals", report))
        return tuple(frame.columns), [tuple(r) for r in frame.collect()]

    def duckdb_fetch(sql: str) -> tuple[tuple[str, ...], list[tuple]]:
        cursor = spark_run.local.engine_adapter.cursor
        cursor.execute(sql)
        return tuple(d[0] for d in cursor.description), cursor.fetchall()

    on_spark = answer_with(spark_fetch, "spark")
    on_duckdb = answer_with(duckdb_fetch, "duckdb")
    assert len(on_spark) == len(QUESTIONS) == 5
    for spark_answer, duck_answer in zip(on_spark, on_duckdb, strict=True):
        key = spark_answer.question.key
        assert spark_answer.columns == duck_answer.columns, key
        assert len(spark_answer.rows) == len(duck_answer.rows), key
        for s_row, d_row in zip(spark_answer.rows, duck_answer.rows, strict=True):
            assert all(same(d, s) for d, s in zip(d_row, s_row, strict=True)), f"{key}: duckdb {d_row} != spark {s_row}"
