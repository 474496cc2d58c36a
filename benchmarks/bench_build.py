"""Build benchmark: `sqlmesh plan` from empty vs the same model SQL run directly in DuckDB; daily run; test/no-op plan.

Needs the SQLMesh models (models/) and, per scale factor, a warehouse holding bronze: it reuses
``$DVD_BENCH_DIR/ingest-x{N}/full.duckdb`` written by bench_ingest.py, else loads one.

* **build** (each factor, each run): a copy of the bronze-only warehouse, then
  ``sqlmesh plan --auto-apply --no-prompts --skip-tests`` (from empty: no state, no tables) in a
  subprocess; against it, every model's SQL rendered once by SQLMesh (``Context.render``, the same
  text ``sqlmesh render`` prints) and executed as ``CREATE TABLE ... AS`` in dependency order, in a
  subprocess on another copy. SQLMesh's time includes its project load, state, audits and view swaps:
  that is the overhead measured. Gold row counts of both must be equal.
* **daily** (the largest factor): one new day of rentals lands in a copy of the source
  (``append_day``), bronze is reloaded (full refresh, as Airbyte does), then the transform part,
  ``sqlmesh run`` on prod with tomorrow's execution time (``dvdrental.warehouse.context.run_prod``, as
  ``dvdrental daily`` does), is timed against the full build; its gold must
  equal a full rebuild from the same bronze (every column not starting with ``_``).
* **test / no-change plan**: ``sqlmesh test`` and a ``sqlmesh plan`` with nothing to do (on the
  built warehouse of the smallest factor ≥ 10), 3 runs each.

Prints Markdown tables and appends JSON lines to benchmarks/results/build.jsonl.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.harness import (
    BIN,
    ROOT,
    WORK_DIR,
    Series,
    factors_arg,
    fresh_file,
    machine,
    measure,
    module,
    record,
    source_dsn,
    table,
)

SQLMESH = str(BIN / "sqlmesh")
ENV = {"SQLMESH__DISABLE_ANONYMIZED_ANALYTICS": "true"}
GOLD_PREFIX = "gold."


def models_present() -> bool:
    return any((ROOT / "models" / "gold").glob("*.sql")) and any((ROOT / "models" / "silver").glob("*.sql"))


def bronze_warehouse(factor: int) -> Path:
    """A warehouse holding only bronze for ×factor (reused from bench_ingest when there)."""
    reused = WORK_DIR / f"ingest-x{factor}" / "full.duckdb"
    if reused.exists() and not Path(str(reused) + ".wal").exists():
        return reused
    target = fresh_file(WORK_DIR / f"build-x{factor}" / "bronze_wh.duckdb")  # not bronze.duckdb: catalog = schema
    measure(module("load_one", "direct", source_dsn(factor), str(target), ""))
    return target


def copy_of(base: Path, name: str, factor: int) -> Path:
    target = fresh_file(WORK_DIR / f"build-x{factor}" / f"{name}.duckdb")
    shutil.copyfile(base, target)
    return target


def render_script(out: Path, audits_out: Path | None = None) -> list[str]:
    """Every model's SQL, rendered by SQLMesh in DAG order, as DuckDB CREATE TABLE statements.

    With ``audits_out``, also every audit SQLMesh runs after a model (its rendered query, counted as
    SQLMesh counts it: ``SELECT COUNT(*) FROM (audit query)``): the baseline that pays for the audits too."""
    import os

    from sqlglot import exp

    os.environ.setdefault("SQLMESH__DISABLE_ANONYMIZED_ANALYTICS", "true")
    os.environ["DVD_WAREHOUSE_PATH"] = str(fresh_file(WORK_DIR / "render" / "render.duckdb"))
    from sqlmesh import Context

    ctx = Context(paths=[str(ROOT)])
    by_fqn = {model.fqn: model for model in ctx.models.values()}
    now = datetime.now(UTC).replace(tzinfo=None)
    statements, gold, audits = [], [], []
    schemas = set()
    for fqn in ctx.dag:
        model = by_fqn.get(fqn)
        if model is None or model.kind.is_external or model.kind.is_symbolic:
            continue
        query = ctx.render(model.name, start="2005-05-24", end=now, execution_time=now)
        for tbl in query.find_all(exp.Table):
            tbl.set("catalog", None)
        query = query.transform(_duckdb_forms)
        target = exp.to_table(model.name)
        schemas.add(target.db)
        body = query.sql(dialect="duckdb")
        if model.kind.is_scd_type_2:
            # SQLMesh's first load of a type-2 model: every row is a version valid from 1970-01-01, open-ended.
            valid_from, valid_to = model.kind.valid_from_name.name, model.kind.valid_to_name.name
            body = (
                f"SELECT *, TIMESTAMP '1970-01-01 00:00:00' AS \"{valid_from}\", "
                f'CAST(NULL AS TIMESTAMP) AS "{valid_to}" FROM ({body})'
            )
        self_reference = any(t.name == target.name and t.db == target.db for t in query.find_all(exp.Table))
        if self_reference:
            # An incremental model reading its own table (@this_model): as SQLMesh does on the first
            # run, the table is created empty from the model's columns, then the query inserts into it.
            columns = ", ".join(f'"{n}" {d.sql(dialect="duckdb")}' for n, d in model.columns_to_types.items())
            statements.append(f"CREATE TABLE {target.sql(dialect='duckdb')} ({columns})")
            statements.append(f"INSERT INTO {target.sql(dialect='duckdb')} {body}")
        elif model.kind.is_view:  # SQLMesh creates views for VIEW models too
            statements.append(f"CREATE VIEW {target.sql(dialect='duckdb')} AS {body}")
        else:
            statements.append(f"CREATE TABLE {target.sql(dialect='duckdb')} AS {body}")
        if model.name.startswith(GOLD_PREFIX):
            gold.append(model.name)
        for audit, arguments in model.audits_with_args:
            if audit.skip:
                continue
            arguments = {k: v for k, v in arguments.items() if k != "blocking"}
            check = model.render_audit_query(audit, start="2005-05-24", end=now, execution_time=now, **arguments)
            for tbl in check.find_all(exp.Table):
                tbl.set("catalog", None)
            check = check.transform(_duckdb_forms)
            audits.append(f"SELECT COUNT(*) FROM ({check.sql(dialect='duckdb')}) AS audit")
    script = [f"CREATE SCHEMA IF NOT EXISTS {s}" for s in sorted(schemas)] + statements
    out.write_text(json.dumps(script))
    if audits_out:
        audits_out.write_text(json.dumps(audits))
    return gold


def _duckdb_forms(node):
    """macros/airbyte.py and macros/changes.py pick DuckDB's forms (from_json, hash) only when they see
    the engine; rendering outside a plan gets the Databricks forms, so they are swapped here the same
    way the macros would."""
    from sqlglot import exp

    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Anonymous) and node.this.name.upper() == "XXHASH64":
        columns = node.this.expressions[::2]  # each column is followed by its NULL flag in the Spark form
        native = exp.Anonymous(this="hash", expressions=[c.copy() for c in columns])
        return exp.cast(exp.BitwiseRightShift(this=native, expression=exp.Literal.number(1)), "BIGINT")

    if (
        isinstance(node, exp.Cast)
        and isinstance(node.this, exp.Anonymous)
        and node.this.name.upper() == "FROM_JSON"
        and len(node.this.expressions) == 2
        and node.this.expressions[1].name == "ARRAY<STRING>"
    ):
        return exp.Anonymous(
            this="from_json", expressions=[node.this.expressions[0].copy(), exp.Literal.string('["VARCHAR"]')]
        )
    if (  # macros/load_guard.py's _airbyte_meta changes: Spark's schema string -> DuckDB's JSON structure
        isinstance(node, exp.Anonymous)
        and node.name.upper() == "FROM_JSON"
        and len(node.expressions) == 2
        and node.expressions[1].name.startswith("STRUCT<changes")
    ):
        shape = '{"changes": [{"field": "VARCHAR", "change": "VARCHAR", "reason": "VARCHAR"}]}'
        return exp.Anonymous(this="from_json", expressions=[node.expressions[0].copy(), exp.Literal.string(shape)])
    return node


def gold_counts(path: Path, gold: list[str]) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in gold}


def gold_equal(a: Path, b: Path, gold: list[str]) -> dict[str, int]:
    """Rows differing (both directions, business columns only) per gold table."""
    import duckdb

    # attached under their own names: SQLMesh's views name the catalog (the file's stem)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"ATTACH '{a}' AS \"{a.stem}\" (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS \"{b.stem}\" (READ_ONLY)")
    diffs = {}
    for name in gold:
        cols = [r[0] for r in con.execute(f'DESCRIBE "{a.stem}".{name}').fetchall() if not r[0].startswith("_")]
        select = ", ".join(f'"{c}"' for c in cols)
        left, right = f'"{a.stem}".{name}', f'"{b.stem}".{name}'
        diffs[name] = con.execute(
            f"SELECT (SELECT count(*) FROM (SELECT {select} FROM {left} EXCEPT ALL SELECT {select} FROM {right})) + "
            f"(SELECT count(*) FROM (SELECT {select} FROM {right} EXCEPT ALL SELECT {select} FROM {left}))"
        ).fetchone()[0]
    con.close()
    return diffs


def sqlmesh(args: list[str], warehouse: Path, check: bool = True):
    return measure([SQLMESH, *args], env={**ENV, "DVD_WAREHOUSE_PATH": str(warehouse)}, check=check)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factors", type=factors_arg, default=[1, 10, 100, 600])
    parser.add_argument(
        "--overhead-factors", type=factors_arg, default=[100, 600], help="factors in the overhead target"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--daily-factor", type=int, default=600, help="0: skip the daily run")
    parser.add_argument(
        "--parts",
        default="build,quick,daily",
        help="build, quick (test/no-change plan), daily; without build, the warehouses and "
        "full-build times of the last build run are reused",
    )
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    if not models_present():
        print("build benchmark skipped: no SQLMesh models under models/silver and models/gold yet")
        return {}

    script = WORK_DIR / "render" / "models.json"
    audit_script = WORK_DIR / "render" / "audits.json"
    script.parent.mkdir(parents=True, exist_ok=True)
    gold = render_script(script, audit_script)

    build_rows, summary = [], {}
    built: dict[int, Path] = {}
    if "build" not in parts:
        built, summary = _previous_build(args.factors)
    for factor in args.factors if "build" in parts else []:
        base = bronze_warehouse(factor)
        plan_s, plan_rss, direct_s, direct_rss, ratio = Series(), Series(), Series(), Series(), Series()
        audits_s, ratio_audited = Series(), Series()
        for run in range(args.runs):
            wh = copy_of(base, "plan_wh", factor)
            plan = sqlmesh(["plan", "--auto-apply", "--no-prompts", "--skip-tests"], wh)
            direct_wh = copy_of(base, "direct_wh", factor)
            direct = measure(module("run_sql", str(direct_wh), str(script)))
            # the audits' SQL on the built tables, in a second child (its start-up, ~0.2 s, counts against it)
            audited = measure(module("run_sql", str(direct_wh), str(audit_script)))
            counts_plan, counts_direct = gold_counts(wh, gold), gold_counts(direct_wh, gold)
            assert counts_plan == counts_direct, (counts_plan, counts_direct)
            plan_s.add(plan.wall)
            plan_rss.add(plan.rss_mb)
            direct_s.add(direct.wall)
            direct_rss.add(direct.rss_mb)
            ratio.add(plan.wall / direct.wall)
            audits_s.add(audited.wall)
            ratio_audited.add(plan.wall / (direct.wall + audited.wall))
            record(
                "build",
                {
                    "factor": factor,
                    "run": run,
                    "plan_s": plan.wall,
                    "plan_rss_mb": plan.rss_mb,
                    "direct_s": direct.wall,
                    "direct_rss_mb": direct.rss_mb,
                    "audits_s": audited.wall,
                    "gold_rows": counts_plan,
                },
            )
            print(
                f"  x{factor} run {run + 1}: sqlmesh plan {plan.wall:.1f}s, direct SQL {direct.wall:.1f}s "
                f"(overhead {plan.wall / direct.wall:.2f}x), audits' SQL {audited.wall:.1f}s "
                f"(overhead with them {plan.wall / (direct.wall + audited.wall):.2f}x)",
                flush=True,
            )
            direct_wh.unlink()
        built[factor] = wh
        rental_rows = gold_counts(wh, ["gold.fact_rental"])["gold.fact_rental"]
        build_rows.append(
            [
                f"×{factor}",
                f"{rental_rows:,}",
                plan_s.fmt(".1f"),
                direct_s.fmt(".1f"),
                ratio.fmt(".2f"),
                audits_s.fmt(".1f"),
                ratio_audited.fmt(".2f"),
                f"{plan_s.median / rental_rows * 1e6:.2f}",
                plan_rss.fmt(".0f"),
            ]
        )
        summary[factor] = {
            "plan_s": plan_s.median,
            "direct_s": direct_s.median,
            "overhead": ratio.median,
            "overhead_with_audits": ratio_audited.median,
        }

    if build_rows:
        print(
            "\n### Build from empty: `sqlmesh plan` vs the rendered model SQL run directly in DuckDB, "
            f"{args.runs} runs\n"
        )
        print(
            table(
                [
                    "scale",
                    "fact_rental rows",
                    "sqlmesh plan s",
                    "direct SQL s",
                    "overhead",
                    "audits' SQL s",
                    "overhead vs SQL + audits",
                    "µs per rental (plan)",
                    "plan peak RSS MB",
                ],
                build_rows,
            )
        )
    if "quick" in parts and built:
        quick(built, summary)
    if "daily" in parts and args.daily_factor and args.daily_factor in built:
        summary["daily"] = daily(
            args.daily_factor, built[args.daily_factor], summary[args.daily_factor]["plan_s"], gold
        )
    m = machine()
    print(
        f"\nmachine: {m['cores']} cores, {m['memory_gb']} GB, {m['cpu']}; load average at the end {m['loadavg_1m']:.1f}"
    )
    return summary


def _previous_build(factors: list[int]) -> tuple[dict[int, Path], dict]:
    import statistics

    from benchmarks.harness import RESULTS_DIR

    records = [json.loads(line) for line in (RESULTS_DIR / "build.jsonl").read_text().splitlines() if line.strip()]
    built, summary = {}, {}
    for factor in factors:
        wh = WORK_DIR / f"build-x{factor}" / "plan_wh.duckdb"
        mine = [r for r in records if r["factor"] == factor][-3:]
        if wh.exists() and mine:
            built[factor] = wh
            summary[factor] = {"plan_s": statistics.median(r["plan_s"] for r in mine)}
    return built, summary


def quick(built: dict[int, Path], summary: dict) -> None:

    small = min((f for f in built if f >= 10), default=min(built))
    # bring prod up to the models on disk first (they may have changed since the build), untimed
    sqlmesh(["plan", "--auto-apply", "--no-prompts", "--skip-tests"], built[small])
    test_s, noop_s = Series(), Series()
    for _ in range(3):
        test = measure([SQLMESH, "test"], env={**ENV, "DVD_WAREHOUSE_PATH": str(built[small])})
        test_s.add(test.wall)
        noop = sqlmesh(["plan", "--auto-apply", "--no-prompts", "--skip-tests"], built[small])
        if "no changes" not in (noop.stdout + noop.stderr).lower():
            print(f"  warning: the no-change plan did not say 'No changes to plan': {noop.stdout[-300:]!r}")
        noop_s.add(noop.wall)
    record("build_quick", {"test_s": test_s.values, "noop_plan_s": noop_s.values, "factor": small})
    print("\n### `sqlmesh test` and a no-change `sqlmesh plan` (3 runs)\n")
    print(
        table(
            ["command", "seconds", "target"],
            [
                ["sqlmesh test", test_s.fmt(".1f"), "≤ 10 s"],
                [f"sqlmesh plan, no change (×{small})", noop_s.fmt(".1f"), "≤ 5 s"],
            ],
        )
    )
    summary["test_s"], summary["noop_plan_s"] = test_s.median, noop_s.median


def daily(factor: int, built: Path, full_build_s: float, gold: list[str]) -> dict:
    import psycopg

    from ingest.source.scale import append_day, with_database

    base_dsn = source_dsn(factor)
    name = f"dvdrental_x{factor}_daily"
    admin = with_database(base_dsn, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{psycopg.conninfo.conninfo_to_dict(base_dsn)["dbname"]}"')
    dsn = with_database(base_dsn, name)
    # prod built from empty today (SQLMesh runs no interval that ends after tomorrow's 01:00 run, so the
    # day is measured on a fresh build, not on a warehouse earlier runs of this benchmark moved on)
    wh = copy_of(bronze_warehouse(factor), "daily_wh", factor)
    build = sqlmesh(["plan", "--auto-apply", "--no-prompts", "--skip-tests"], wh)
    full_build_s = build.wall  # the full build, measured in this same run
    rentals, payments, day = append_day(dsn)
    ingest = measure(module("load_one", "direct", dsn, str(wh), ""))
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d 01:00:00")
    # the transform step of `dvdrental daily` (sqlmesh run on prod; the CLI has no --execution-time)
    run = measure(module("run_prod", tomorrow), env={**ENV, "DVD_WAREHOUSE_PATH": str(wh)})
    rebuilt = copy_of(wh, "rebuild_wh", factor)
    # a full rebuild from the same bronze: drop everything but bronze (and SQLMesh's state) and plan from empty
    import duckdb

    with duckdb.connect(str(rebuilt)) as con:
        for (schema,) in con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
            "AND schema_name NOT IN ('bronze', 'main', 'information_schema', 'pg_catalog')"
        ).fetchall():
            con.execute(f'DROP SCHEMA "{schema}" CASCADE')
    rebuild = sqlmesh(["plan", "--auto-apply", "--no-prompts", "--skip-tests"], rebuilt)
    try:
        diffs = gold_equal(wh, rebuilt, gold)
    except Exception as error:  # keep the timings even if the comparison breaks
        diffs = {"comparison failed": str(error).splitlines()[0]}
    ratio = run.wall / full_build_s
    status = (run.stdout.strip().splitlines() or ["?"])[-1]
    row = {
        "factor": factor,
        "run_status": status,
        "new_rentals": rentals,
        "new_payments": payments,
        "day": day,
        "ingest_s": ingest.wall,
        "run_s": run.wall,
        "run_rss_mb": run.rss_mb,
        "run_cpu_s": run.cpu,
        "full_build_s": full_build_s,
        "rebuild_s": rebuild.wall,
        "ratio": ratio,
        "gold_diffs": diffs,
    }
    record("daily", row)
    print(f"\n### Daily run at ×{factor}: one new day ({rentals} rentals, {payments} payments on {day})\n")
    print(
        table(
            ["step", "seconds", "vs full build"],
            [
                ["ingest (full refresh of bronze)", f"{ingest.wall:.1f}", "-"],
                [f"sqlmesh run on prod (transform, {status})", f"{run.wall:.1f}", f"{ratio:.2f}"],
                ["full build from empty (sqlmesh plan, same run)", f"{full_build_s:.1f}", "1.00"],
            ],
        )
    )
    print(
        f"\ngold after the daily run equals a full rebuild: {all(v == 0 for v in diffs.values())} "
        f"(rows differing per table: {diffs})"
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return row


if __name__ == "__main__":
    main()
