"""Where the direct loader's CPU goes: the copy of one table built up one part at a time.

Each step runs in its own process into a fresh warehouse with the loader's settings
(``open_warehouse``: memory limit, insertion order) and is measured like the benchmarks
(``harness.measure``: the process's user+sys CPU, which moves much less than wall time
on a shared machine). The steps add one part of the loader's statement at a time, so the
difference between two rows is what that part costs:

* ``attach``: open the warehouse, load the extension, attach the source (the fixed part);
* ``ceiling``: ``CREATE TABLE AS SELECT *`` (the reader alone);
* ``casts``: the source columns cast to the layout's types (``SourceColumn.duckdb_select``);
* ``+extracted_at``, ``+generation_id``, ``+meta``: Airbyte's constant metadata columns;
* ``+raw_id``: the random UUID per row: this is the loader's copy statement;
* ``+raw_id as text``: the same with the raw id as 36-byte text (the layout before issue 17);
* ``load_bronze``: the loader itself (adds the count check, the bookkeeping and the commit).

Usage: ``python -m benchmarks.profile_loader --factor 600 --runs 3 [--table rental]``. Prints a
Markdown table: median (min–max) CPU and wall seconds per step, and the step's CPU minus the previous
step's (its own cost); the steps run alternated, all of run 1 before run 2.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness import WORK_DIR, Series, fresh_file, machine, measure, module, record, source_dsn, table

STEPS = [
    "attach",
    "ceiling",
    "casts",
    "+extracted_at",
    "+generation_id",
    "+meta",
    "+raw_id",
    "+raw_id as text",
    "load_bronze",
]
METADATA_STEPS = {"+extracted_at": 1, "+generation_id": 2, "+meta": 3, "+raw_id": 4, "+raw_id as text": 4}


def select_list(step: str, table_name: str, dsn: str) -> str:
    """The SELECT list of a CTAS step: the metadata parts it includes, then the cast source columns."""
    from ingest.bronze.direct import metadata_select, read_source_columns
    from ingest.tables import TABLES_BY_NAME

    columns = read_source_columns(dsn, (TABLES_BY_NAME[table_name],))[table_name]
    meta = metadata_select(1, datetime.now(UTC), json.dumps({"sync_id": 1, "changes": []}))
    if step == "+raw_id as text":
        meta["_airbyte_raw_id"] = "CAST(uuid() AS VARCHAR) AS _airbyte_raw_id"
    # in the order the parts are added: extracted_at, generation_id, meta, raw_id
    added = ["_airbyte_extracted_at", "_airbyte_generation_id", "_airbyte_meta", "_airbyte_raw_id"]
    parts = [meta[name] for name in added[: METADATA_STEPS.get(step, 0)]]
    return ",\n  ".join([*parts, *(c.duckdb_select("src") for c in columns)])


def child(step: str, dsn: str, warehouse: Path, table_name: str) -> dict:
    """One step, in this process: prints its own wall time (the process's CPU is measured outside)."""
    from ingest.bronze.duckdb_postgres import SOURCE_ALIAS, attach_source, open_warehouse

    if step == "load_bronze":
        from ingest.bronze import load_bronze
        from ingest.tables import TABLES_BY_NAME

        result = load_bronze(dsn, warehouse, tables=(TABLES_BY_NAME[table_name],), progress=False)
        return {"seconds": result.seconds}
    body = "" if step in ("attach", "ceiling") else select_list(step, table_name, dsn)
    started = time.monotonic()
    con = open_warehouse(warehouse)
    attach_source(con, dsn)
    con.execute("BEGIN TRANSACTION")
    source = f'{SOURCE_ALIAS}.public."{table_name}"'
    if step == "ceiling":
        con.execute(f"CREATE TABLE copy AS SELECT * FROM {source}")
    elif step != "attach":
        con.execute(f"CREATE TABLE copy AS SELECT\n  {body}\nFROM {source} AS src")
    con.execute("COMMIT")
    con.close()
    return {"seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factor", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--table", default="rental")
    parser.add_argument("--child", nargs=3, metavar=("STEP", "DSN", "WAREHOUSE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        step, dsn, warehouse = args.child
        print(json.dumps(child(step, dsn, Path(warehouse), args.table)))
        return

    dsn = source_dsn(args.factor)
    cpu = {step: Series() for step in STEPS}
    wall = {step: Series() for step in STEPS}
    loads = Series()
    for run in range(args.runs):
        loads.add(os.getloadavg()[0])
        for step in STEPS:
            warehouse = fresh_file(WORK_DIR / "profile" / f"x{args.factor}.duckdb")
            done = measure(module("profile_loader", "--table", args.table, "--child", step, dsn, str(warehouse)))
            cpu[step].add(done.cpu)
            wall[step].add(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
            record(
                "profile_loader",
                {
                    "factor": args.factor,
                    "table": args.table,
                    "run": run,
                    "step": step,
                    "cpu_s": done.cpu,
                    "seconds": wall[step].values[-1],
                    "rss_mb": done.rss_mb,
                },
            )
        print(
            f"  run {run + 1} (load {loads.values[-1]:.1f}): "
            + ", ".join(f"{s} {cpu[s].values[-1]:.1f}" for s in STEPS),
            flush=True,
        )

    rows, previous = [], None
    for step in STEPS:
        base = {"+raw_id as text": "+meta", "load_bronze": "+raw_id"}.get(step, previous)
        own = f"{cpu[step].median - cpu[base].median:+.2f} (vs {base})" if base else ""
        rows.append([step, cpu[step].fmt(".2f"), own, wall[step].fmt(".2f")])
        previous = step
    print(f"\n### Loader profile: `{args.table}` ×{args.factor}, {args.runs} runs, process CPU (user+sys)\n")
    print(table(["step", "CPU s", "its own CPU s", "wall s (open … commit)"], rows))
    m = machine()
    print(f"\nmachine: {m['cores']} cores, {m['cpu']}; 1-minute load average at the runs' start {loads.fmt('.1f')}")


if __name__ == "__main__":
    main()
