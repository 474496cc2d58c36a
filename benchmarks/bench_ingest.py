"""Ingest benchmark: the direct loader against the `psql` binary COPY limit, measured in the same run.

For each scale factor (reusing the scaled source databases) and each run, interleaved:

* limit: ``psql -c "\\copy (SELECT * FROM rental) TO '/dev/null' (FORMAT binary)"``;
* direct: ``load_bronze(tables=(rental,))`` into a fresh warehouse, in a subprocess (peak RSS and CPU of
  that process; the time is load_bronze's own: open, attach, count, copy, commit, not Python's start-up);
* full: ``load_bronze()`` of all 11 tables into the factor's warehouse (replacing the previous
  generation, as a daily load does): the growth table;
* peers (at ``--peer-factor`` only, when installed): ADBC and dlt loading ``rental``.

Prints Markdown tables (median (min–max) over the runs) and appends JSON lines to
benchmarks/results/ingest.jsonl.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    PYTHON,
    ROOT,
    WORK_DIR,
    Series,
    factors_arg,
    fresh_file,
    machine,
    measure,
    psql_binary,
    record,
    source_dsn,
    table,
)

LOAD_ONE = str(ROOT / "benchmarks" / "load_one.py")
TABLE = "rental"
PEERS = {"adbc": "adbc_driver_postgresql", "dlt": "dlt"}


def psql_limit(dsn: str) -> tuple[int, float, float]:
    run = measure([psql_binary(), dsn, "-At", "-c", f"\\copy (SELECT * FROM {TABLE}) TO '/dev/null' (FORMAT binary)"])
    rows = int(run.stdout.strip().split()[-1]) if run.stdout.strip() else 0
    return rows, run.wall, run.rss_mb


def load(way: str, dsn: str, warehouse: Path, tables: str) -> tuple[dict, float, float, float]:
    run = measure([PYTHON, LOAD_ONE, way, dsn, str(warehouse), tables])
    return json.loads(run.stdout.strip().splitlines()[-1]), run.wall, run.rss_mb, run.cpu


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factors", type=factors_arg, default=[1, 10, 100, 600])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer-factor", type=int, default=100, help="scale factor the ADBC/dlt peers run at (0: none)")
    args = parser.parse_args(argv)

    available = {name: importlib.util.find_spec(module) is not None for name, module in PEERS.items()}
    for name, ok in available.items():
        if not ok and args.peer_factor:
            print(f"peer {name} skipped: not installed (pip install -e '.[bench]' or `make bench`)")

    main_rows, growth_rows, peer_rows, summary = [], [], [], {}
    for factor in args.factors:
        dsn = source_dsn(factor)
        wh_dir = WORK_DIR / f"ingest-x{factor}"
        limit_rate, direct_rate, ratio, rss, cpu = Series(), Series(), Series(), Series(), Series()
        full_secs, full_rss = Series(), Series()
        peer = {name: (Series(), Series(), Series()) for name in PEERS}
        rows = total_rows = 0
        for run in range(args.runs):
            rows, limit_s, _ = psql_limit(dsn)
            result, process_wall, rss_mb, cpu_s = load("direct", dsn, fresh_file(wh_dir / "rental.duckdb"), TABLE)
            assert result["rows"] == rows, (result, rows)
            # load_bronze's own time: open, attach, count, copy, commit (not Python's start and imports)
            wall = result["seconds"]
            limit_rate.add(rows / limit_s)
            direct_rate.add(rows / wall)
            ratio.add(limit_s / wall)
            rss.add(rss_mb)
            cpu.add(cpu_s)
            full, _, full_rss_mb, _ = load("direct", dsn, wh_dir / "full.duckdb", "")
            full_wall = full["seconds"]
            total_rows = full["rows"]
            full_secs.add(full_wall)
            full_rss.add(full_rss_mb)
            record("ingest", {"factor": factor, "run": run, "table": TABLE, "rows": rows, "psql_s": limit_s,
                              "direct_s": wall, "direct_process_s": process_wall, "direct_rss_mb": rss_mb, "direct_cpu_s": cpu_s,
                              "full_rows": total_rows, "full_s": full_wall, "full_rss_mb": full_rss_mb})
            if factor == args.peer_factor:
                for name, ok in available.items():
                    if not ok:
                        continue
                    peer_result, _, peer_rss, _ = load(name, dsn, fresh_file(wh_dir / f"{name}.duckdb"), TABLE)
                    peer_wall = peer_result["seconds"]
                    peer[name][0].add(rows / peer_wall)
                    peer[name][1].add(limit_s / peer_wall)
                    peer[name][2].add(peer_rss)
                    record("ingest_peer", {"factor": factor, "run": run, "peer": name, "rows": rows,
                                           "psql_s": limit_s, "peer_s": peer_wall, "peer_rss_mb": peer_rss})
            print(f"  x{factor} run {run + 1}: psql {limit_s:.2f}s, direct {wall:.2f}s "
                  f"(ratio {limit_s / wall:.2f}, {rss_mb:.0f} MB), full {full_wall:.2f}s", flush=True)
        main_rows.append([f"×{factor}", f"{rows:,}", limit_rate.fmt(",.0f"), direct_rate.fmt(",.0f"),
                          ratio.fmt(".2f"), rss.fmt(".0f"), cpu.fmt(".1f")])
        growth_rows.append([f"×{factor}", f"{total_rows:,}", full_secs.fmt(".2f"),
                            f"{total_rows / full_secs.median:,.0f}", f"{full_secs.median / total_rows * 1e6:.2f}",
                            full_rss.fmt(".0f")])
        for name, (rate, rel, prss) in peer.items():
            if rate.values:
                peer_rows.append([name, f"×{factor}", rate.fmt(",.0f"), rel.fmt(".2f"), prss.fmt(".0f")])
        summary[factor] = {"ratio": ratio.median, "rss_mb": rss.max, "full_s": full_secs.median, "rows": total_rows}

    print(f"\n### Ingest: `{TABLE}`, direct loader vs the psql binary COPY limit (same run), {args.runs} runs\n")
    print(table(["scale", "rows", "psql limit rows/s", "direct rows/s", "ratio to limit", "peak RSS MB", "loader CPU s"],
                main_rows))
    print(f"\n### Growth: full load of the 11 tables (replacing the previous generation), {args.runs} runs\n")
    print(table(["scale", "rows", "seconds", "rows/s", "µs per row", "peak RSS MB"], growth_rows))
    if peer_rows:
        print(f"\n### Peers loading `{TABLE}` into DuckDB (ratio to the psql limit of the same run)\n")
        print(table(["peer", "scale", "rows/s", "ratio to limit", "peak RSS MB"], peer_rows))
    m = machine()
    print(f"\nmachine: {m['cores']} cores, {m['memory_gb']} GB, {m['cpu']}; load average at the end {m['loadavg_1m']:.1f}")
    return summary


if __name__ == "__main__":
    main()
