"""Large-scale benchmark (`make bench-large`): ingest, full build and one daily run at ×6000 and the growth factors.

Why a separate module: ×6000 (96 M rentals, ~16 GB in PostgreSQL) is where one machine meets its
memory bound (DVD_DUCKDB_MEMORY_LIMIT, default 4GB, spilling to DVD_DUCKDB_TEMP_DIRECTORY), so every
step is measured once per factor, not three times, and never by ``make test``. The steps reuse
bench_build/bench_ingest's code paths: the project's loader (``load_one direct``, all 11 tables),
``sqlmesh plan`` from empty on a copy of that bronze, and a daily run in place (``daily_in_place``). Each row has wall,
CPU seconds and peak RSS of its own subprocess (harness.measure) and µs per row; a PNG of seconds
and peak RSS against rows is written when matplotlib is installed.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.bench_build import ENV, bronze_warehouse, copy_of, sqlmesh
from benchmarks.harness import (
    RESULTS_DIR,
    ROOT,
    WORK_DIR,
    factors_arg,
    fresh_file,
    machine,
    measure,
    module,
    record,
    source_dsn,
    table,
)

PLOT = ROOT / "benchmarks" / "large.png"


def _step(factor: int, step: str, rows: int, wall: float, cpu: float | None, rss_mb: float | None) -> dict:
    """Record one step as soon as it ends: a ×6000 run stopped later keeps what it measured."""
    entry = {
        "factor": factor,
        "step": step,
        "rows": rows,
        "wall": wall,
        "cpu": cpu,
        "rss_mb": rss_mb,
        "loadavg_1m": os.getloadavg()[0],
        "memory_limit": os.environ.get("DVD_DUCKDB_MEMORY_LIMIT", "4GB (default)"),
    }
    record("large", entry)
    print(
        f"  x{factor} {step}: {wall:.1f}s, peak RSS {rss_mb or 0:.0f} MB (load {entry['loadavg_1m']:.1f})", flush=True
    )
    return entry


def one_factor(factor: int, steps: set[str]) -> list[dict]:
    """The chosen steps at ×factor (build reuses the ingest's bronze, daily the build); one row per step."""
    dsn = source_dsn(factor)
    out = []
    bronze = WORK_DIR / f"ingest-x{factor}" / "full.duckdb"  # bronze_warehouse reuses it
    if "ingest" in steps or not bronze.exists():
        load = measure(module("load_one", "direct", dsn, str(fresh_file(bronze)), ""))
        loaded = json.loads(load.stdout.strip().splitlines()[-1])["rows"]
        if "ingest" in steps:
            out.append(_step(factor, "ingest", loaded, load.wall, load.cpu, load.rss_mb))
    import duckdb

    with duckdb.connect(str(bronze), read_only=True) as con:
        loaded = sum(
            con.execute(f'SELECT count(*) FROM bronze."{t}"').fetchone()[0]  # type: ignore[index]
            for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'bronze'").fetchall()
        )
    wh = WORK_DIR / f"build-x{factor}" / "plan_wh.duckdb"
    if "build" in steps or ("daily" in steps and not wh.exists()):
        wh = copy_of(bronze_warehouse(factor), "plan_wh", factor)
        build = sqlmesh(["plan", "--auto-apply", "--no-prompts", "--skip-tests"], wh)
        out.append(_step(factor, "build", loaded, build.wall, build.cpu, build.rss_mb))
    if "daily" in steps:
        day = daily_in_place(factor, dsn, wh)
        out.append(_step(factor, "daily", loaded, day["run_s"], day["run_cpu_s"], day["run_rss_mb"]))
    return out


def daily_in_place(factor: int, dsn: str, warehouse: Path) -> dict:
    """One daily run on the warehouse the build step made: a new day lands in the source, the loader
    reloads bronze (as ``dvdrental daily`` does), then ``sqlmesh run`` on prod at tomorrow's 01:00.

    Why in place, unlike bench_build's daily (a copy of the source database, a second warehouse built
    from empty, a third rebuilt to compare gold with): at ×6000 those copies are 16 GB of PostgreSQL
    and two more 22 GB warehouses, which is this benchmark's disk, not the pipeline's. Here the day is
    appended to the ×factor source itself and deleted again afterwards (the copy ``source scale`` made
    stays reusable), and gold is checked against plain SQL on the source instead of a rebuild:
    rentals and revenue (bench_build's ×600 daily compares every gold table with a rebuild)."""
    import duckdb
    import psycopg

    from ingest.source.scale import append_day

    with psycopg.connect(dsn, autocommit=True) as conn:
        last_rental, last_payment = conn.execute(
            "SELECT (SELECT max(rental_id) FROM rental), (SELECT max(payment_id) FROM payment)"
        ).fetchone()  # type: ignore[misc]
    try:
        rentals, payments, day = append_day(dsn)
        ingest = measure(module("load_one", "direct", dsn, str(warehouse), ""))
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d 01:00:00")
        run = measure(module("run_prod", tomorrow), env={**ENV, "DVD_WAREHOUSE_PATH": str(warehouse)})
        with psycopg.connect(dsn) as conn:
            source = conn.execute("SELECT (SELECT count(*) FROM rental), (SELECT sum(amount) FROM payment)").fetchone()
        with duckdb.connect(str(warehouse), read_only=True) as con:
            gold = con.execute("SELECT count(*), sum(payment_amount) FROM gold.fact_rental").fetchone()
    finally:
        remove_day(dsn, last_rental, last_payment)
    status = (run.stdout.strip().splitlines() or ["?"])[-1]
    row = {
        "factor": factor,
        "run_status": status,
        "new_rentals": rentals,
        "new_payments": payments,
        "day": str(day),
        "ingest_s": ingest.wall,
        "ingest_rss_mb": ingest.rss_mb,
        "run_s": run.wall,
        "run_rss_mb": run.rss_mb,
        "run_cpu_s": run.cpu,
        "source_rentals_revenue": [source[0], str(source[1])] if source else None,
        "gold_rentals_revenue": [gold[0], str(gold[1])] if gold else None,
        "gold_equals_source": bool(source and gold and source[0] == gold[0] and source[1] == gold[1]),
    }
    record("daily_large", row)
    print(
        f"  x{factor} daily: {rentals:,} rentals and {payments:,} payments on {day}; ingest {ingest.wall:.1f}s, "
        f"sqlmesh run {run.wall:.1f}s ({status}); gold rentals/revenue {gold} = source {source}: "
        f"{row['gold_equals_source']}",
        flush=True,
    )
    return row


def remove_day(dsn: str, last_rental: int, last_payment: int) -> None:
    """Take the appended day out of the source again: the scaled copy as ``source scale`` made it.

    The foreign keys that reference ``rental`` are dropped and re-created (as they were, NOT VALID
    included) around the delete, in one transaction: with them, PostgreSQL checks every deleted
    rental against ``payment``, which has no index on ``rental_id``, one sequential scan of 87 M rows
    per rental at ×6000 (hours, measured)."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        keys = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = 'rental'::regclass"
        ).fetchall()
        for table, name, _ in keys:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        conn.execute("DELETE FROM payment WHERE payment_id > %s", (last_payment,))
        conn.execute("DELETE FROM rental WHERE rental_id > %s", (last_rental,))
        for table, name, definition in keys:
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        conn.execute("SELECT setval('rental_rental_id_seq', %s)", (last_rental,))
        conn.execute("SELECT setval('payment_payment_id_seq', %s)", (last_payment,))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE rental, payment")


def latest() -> list[dict]:
    """The newest recorded row per (factor, step): the plot keeps the factors of earlier invocations
    (``--factors 6000`` alone after ``--factors 100,600``), since ×6000 is too slow to rerun with the rest."""
    rows: dict[tuple[int, str], dict] = {}
    for line in (RESULTS_DIR / "large.jsonl").read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            rows[(entry["factor"], entry["step"])] = entry
    return list(rows.values())


def plot(entries: list[dict], path: Path) -> bool:
    """Seconds and peak RSS against rows, one line per step; False when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (secs, rss) = plt.subplots(1, 2, figsize=(11, 4.5))
    for step in ("ingest", "build", "daily"):
        mine = sorted((e for e in entries if e["step"] == step and e["wall"] is not None), key=lambda e: e["rows"])
        if mine:
            xs = [e["rows"] for e in mine]
            secs.plot(xs, [e["wall"] for e in mine], marker="o", label=step)
            rss.plot(xs, [e["rss_mb"] or 0 for e in mine], marker="o", label=step)
    for ax, label in ((secs, "wall seconds"), (rss, "peak RSS MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows loaded (11 tables)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"dvdrental at scale; memory limit {os.environ.get('DVD_DUCKDB_MEMORY_LIMIT', '4GB')}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factors", type=factors_arg, default=[100, 600, 6000])
    parser.add_argument("--steps", default="ingest,build,daily", help="any of ingest, build, daily")
    args = parser.parse_args(argv)
    entries = []
    for factor in args.factors:
        entries += one_factor(factor, set(args.steps.split(",")))
    print(
        "\n### Large scale: one run per step (memory limit "
        f"{os.environ.get('DVD_DUCKDB_MEMORY_LIMIT', '4GB, the default')})\n"
    )
    print(
        table(
            ["scale", "step", "rows", "wall s", "CPU s", "µs per row", "peak RSS MB", "load avg (1 min)"],
            [
                [
                    f"×{e['factor']}",
                    e["step"],
                    f"{e['rows']:,}",
                    f"{e['wall']:.1f}",
                    f"{e['cpu']:.1f}" if e["cpu"] else "-",
                    f"{e['wall'] / e['rows'] * 1e6:.2f}",
                    f"{e['rss_mb']:.0f}" if e["rss_mb"] else "-",
                    f"{e['loadavg_1m']:.1f}",
                ]
                for e in entries
            ],
        )
    )
    print(f"\nplot: {PLOT}" if plot(latest(), PLOT) else "\nplot skipped: matplotlib not installed")
    m = machine()
    print(
        f"\nmachine: {m['cores']} cores, {m['memory_gb']} GB, {m['cpu']}; load average at the end {m['loadavg_1m']:.1f}"
    )
    return entries


if __name__ == "__main__":
    main()
