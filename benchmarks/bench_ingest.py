"""Ingest benchmark: the direct loader against its reader's ceiling, ADBC and the `psql` binary COPY limit.

For each scale factor (reusing the scaled source databases) and each run, every way loads ``rental``
one after the other in the same run (the order rotates from run to run, so no way always goes first
on a machine whose load changes), each in its own subprocess (peak RSS and CPU of that process):

* psql: ``psql -c "\\copy (SELECT * FROM rental) TO '/dev/null' (FORMAT binary)"``: PostgreSQL's
  own limit, nothing decoded or written;
* ceiling: the loader's reader alone (same postgres extension file, same warehouse settings,
  ``CREATE TABLE AS SELECT *``, no layout, no metadata, no count check): what the loader could at
  best reach with that reader;
* direct: ``load_bronze(tables=(rental,))`` into a fresh warehouse (the time is load_bronze's own:
  open, attach, count, copy, commit, not Python's start-up; the ceiling is timed the same way);
* peers (ADBC at ``--adbc-factors``, dlt at ``--dlt-factors``, when installed);
* baseline (with ``--baseline CHECKOUT``): the loader of another checkout of the project (e.g. a
  ``git worktree`` of the commit before a change), run from there with this interpreter, in the same
  rotation: a change's effect measured in the same run, not against figures of another hour;
* full: ``load_bronze()`` of all 11 tables into the factor's warehouse (replacing the previous
  generation, as a daily load does): the growth table.

The 1-minute load average is recorded beside every run: on a shared machine wall times move with
it, ratios taken inside one run much less. Prints Markdown tables (median (min–max) over the runs)
and appends JSON lines to benchmarks/results/ingest.jsonl.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path

from benchmarks.harness import (
    WORK_DIR,
    Series,
    factors_arg,
    fresh_file,
    machine,
    measure,
    module,
    psql_binary,
    record,
    source_dsn,
    table,
)

TABLE = "rental"
PEERS = {"adbc": "adbc_driver_postgresql", "dlt": "dlt"}
LABELS = {
    "psql": "`psql` binary COPY to /dev/null (the limit)",
    "plain": "reader's ceiling: postgres extension, `CREATE TABLE AS SELECT *`",
    "direct": "direct loader (Airbyte layout, count checked)",
    "adbc": "ADBC → DuckDB (no metadata columns)",
    "dlt": "dlt (pyarrow backend) → DuckDB",
    "baseline": "direct loader of the --baseline checkout",
}


def psql_limit(dsn: str) -> tuple[int, float, float, float]:
    run = measure([psql_binary(), dsn, "-At", "-c", f"\\copy (SELECT * FROM {TABLE}) TO '/dev/null' (FORMAT binary)"])
    rows = int(run.stdout.strip().split()[-1]) if run.stdout.strip() else 0
    return rows, run.wall, run.rss_mb, run.cpu


def load(
    way: str, dsn: str, warehouse: Path, tables: str, baseline: Path | None = None
) -> tuple[dict, float, float, float]:
    if way == "baseline":  # the other checkout's loader: its own modules, imported from its root
        assert baseline is not None
        run = measure(module("load_one", "direct", dsn, str(warehouse), tables), cwd=baseline)
    else:
        run = measure(module("load_one", way, dsn, str(warehouse), tables))
    return json.loads(run.stdout.strip().splitlines()[-1]), run.wall, run.rss_mb, run.cpu


class WaySeries:
    """Rows/s, seconds, CPU and peak RSS of one way at one factor, over the runs."""

    def __init__(self) -> None:
        self.rate, self.seconds, self.cpu, self.rss = Series(), Series(), Series(), Series()

    def add(self, rows: int, seconds: float, cpu: float, rss: float) -> None:
        self.rate.add(rows / seconds)
        self.seconds.add(seconds)
        self.cpu.add(cpu)
        self.rss.add(rss)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factors", type=factors_arg, default=[1, 10, 100, 600])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--adbc-factors", type=factors_arg, default=[100, 600], help="factors ADBC runs at")
    parser.add_argument("--dlt-factors", type=factors_arg, default=[100], help="factors dlt runs at (slow)")
    parser.add_argument("--no-full", action="store_true", help="skip the 11-table growth load")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another checkout of the project whose loader runs in the same rotation (e.g. the commit before a change)",
    )
    args = parser.parse_args(argv)

    available = {name: importlib.util.find_spec(peer) is not None for name, peer in PEERS.items()}
    for name, ok in available.items():
        if not ok:
            print(f"peer {name} skipped: not installed (pip install -e '.[bench]' or `make bench`)")
    peer_factors = {"adbc": args.adbc_factors, "dlt": args.dlt_factors}

    way_rows, ratio_rows, growth_rows, baseline_rows, summary = [], [], [], [], {}
    for factor in args.factors:
        dsn = source_dsn(factor)
        wh_dir = WORK_DIR / f"ingest-x{factor}"
        loaders = ["plain", "direct"] + [p for p in PEERS if available[p] and factor in peer_factors[p]]
        loaders += ["baseline"] if args.baseline else []
        ways = {name: WaySeries() for name in ["psql", *loaders]}
        to_psql, to_plain, to_adbc, loadavg = Series(), Series(), Series(), Series()
        to_baseline, baseline_to_plain = Series(), Series()
        full_secs, full_rss = Series(), Series()
        rows = total_rows = 0
        for run in range(args.runs):
            loadavg.add(os.getloadavg()[0])
            rows, psql_s, psql_rss, psql_cpu = psql_limit(dsn)
            ways["psql"].add(rows, psql_s, psql_cpu, psql_rss)
            seconds = {"psql": psql_s}
            order = loaders[run % len(loaders) :] + loaders[: run % len(loaders)]
            for way in order:
                result, _, rss_mb, cpu_s = load(way, dsn, fresh_file(wh_dir / f"{way}.duckdb"), TABLE, args.baseline)
                assert result["rows"] == rows, (way, result, rows)
                seconds[way] = result["seconds"]
                ways[way].add(rows, result["seconds"], cpu_s, rss_mb)
            to_psql.add(psql_s / seconds["direct"])
            to_plain.add(seconds["plain"] / seconds["direct"])
            if "adbc" in seconds:
                to_adbc.add(seconds["adbc"] / seconds["direct"])
            if "baseline" in seconds:
                to_baseline.add(seconds["baseline"] / seconds["direct"])
                baseline_to_plain.add(seconds["plain"] / seconds["baseline"])
            full_wall = full_rss_mb = None
            if not args.no_full:
                full, _, full_rss_mb, _ = load("direct", dsn, wh_dir / "full.duckdb", "")
                full_wall, total_rows = full["seconds"], full["rows"]
                full_secs.add(full_wall)
                full_rss.add(full_rss_mb)
            record(
                "ingest",
                {
                    "factor": factor,
                    "run": run,
                    "table": TABLE,
                    "rows": rows,
                    "order": order,
                    "seconds": seconds,
                    "cpu_s": {w: s.cpu.values[-1] for w, s in ways.items()},
                    "rss_mb": {w: s.rss.values[-1] for w, s in ways.items()},
                    "loadavg_1m_before": loadavg.values[-1],
                    "full_rows": total_rows,
                    "full_s": full_wall,
                    "full_rss_mb": full_rss_mb,
                },
            )
            print(
                f"  x{factor} run {run + 1} (load {loadavg.values[-1]:.1f}): "
                + ", ".join(f"{w} {s:.2f}s" for w, s in seconds.items())
                + (f", full {full_wall:.2f}s" if full_wall else ""),
                flush=True,
            )
        for name, series in ways.items():
            way_rows.append(
                [
                    f"×{factor}",
                    f"{rows:,}",
                    LABELS[name],
                    series.rate.fmt(",.0f"),
                    series.seconds.fmt(".2f"),
                    series.cpu.fmt(".1f"),
                    series.rss.fmt(".0f"),
                ]
            )
        ratio_rows.append(
            [f"×{factor}", to_plain.fmt(".2f"), to_adbc.fmt(".2f"), to_psql.fmt(".2f"), loadavg.fmt(".1f")]
        )
        if to_baseline.values:
            baseline_rows.append([f"×{factor}", to_baseline.fmt(".2f"), baseline_to_plain.fmt(".2f")])
        if full_secs.values:
            growth_rows.append(
                [
                    f"×{factor}",
                    f"{total_rows:,}",
                    full_secs.fmt(".2f"),
                    f"{total_rows / full_secs.median:,.0f}",
                    f"{full_secs.median / total_rows * 1e6:.2f}",
                    full_rss.fmt(".0f"),
                ]
            )
        summary[factor] = {
            "to_plain": to_plain.median,
            "to_adbc": to_adbc.median,
            "to_psql": to_psql.median,
            "rss_mb": ways["direct"].rss.max,
            "full_s": full_secs.median,
            "rows": total_rows,
        }

    print(f"\n### Ingest: `{TABLE}` into a fresh warehouse, every way in the same run, {args.runs} runs\n")
    print(table(["scale", "rows", "way", "rows/s", "seconds", "process CPU s", "peak RSS MB"], way_rows))
    print(
        "\n### The direct loader's speed as a ratio "
        "(other way's seconds / the loader's, same run; > 1: loader faster)\n"
    )
    print(table(["scale", "to the reader's ceiling", "to ADBC", "to psql", "load average (1 min)"], ratio_rows))
    if baseline_rows:
        print(f"\n### Against the loader of {args.baseline} (same run)\n")
        print(table(["scale", "baseline's s / this loader's s", "baseline to the reader's ceiling"], baseline_rows))
    if growth_rows:
        print(f"\n### Growth: full load of the 11 tables (replacing the previous generation), {args.runs} runs\n")
        print(table(["scale", "rows", "seconds", "rows/s", "µs per row", "peak RSS MB"], growth_rows))
    m = machine()
    print(
        f"\nmachine: {m['cores']} cores, {m['memory_gb']} GB, {m['cpu']}; load average at the end {m['loadavg_1m']:.1f}"
    )
    return summary


if __name__ == "__main__":
    main()
