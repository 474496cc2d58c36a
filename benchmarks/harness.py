"""Shared helpers for the benchmarks: measured subprocesses, statistics, results, scaled sources.

Every measured load runs in its own subprocess, so its wall time and peak RSS
(``os.wait4``'s ``ru_maxrss`` of that child) are its own. Results are appended
as JSON lines under ``benchmarks/results/`` (git-ignored); warehouses live in
``$DVD_BENCH_DIR`` (default ``/tmp/dvdrental-bench``), never in the project's
default warehouse.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RESULTS_DIR = ROOT / "benchmarks" / "results"
WORK_DIR = Path(os.environ.get("DVD_BENCH_DIR", "/tmp/dvdrental-bench"))
PYTHON = sys.executable
BIN = Path(sys.executable).parent


@dataclass
class Run:
    wall: float
    rss_mb: float
    cpu: float
    returncode: int
    stdout: str = ""
    stderr: str = ""


def module(name: str, *args: str) -> list[str]:
    """The argv running ``benchmarks.<name>`` in a child Python (from the project root, as :func:`measure` does)."""
    return [PYTHON, "-m", f"benchmarks.{name}", *args]


def measure(argv: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT, check: bool = True) -> Run:
    """Run ``argv``; wall time, peak RSS (MB) and CPU seconds of that child."""
    full_env = {**os.environ, **(env or {})}
    out_path = WORK_DIR / f".out.{os.getpid()}"
    err_path = WORK_DIR / f".err.{os.getpid()}"
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.monotonic()
        proc = subprocess.Popen(argv, env=full_env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    run = Run(
        wall=wall,
        rss_mb=usage.ru_maxrss / 1024,
        cpu=usage.ru_utime + usage.ru_stime,
        returncode=proc.returncode,
        stdout=out_path.read_text(),
        stderr=err_path.read_text(),
    )
    if check and run.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return run


@dataclass
class Series:
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def min(self) -> float:
        return min(self.values) if self.values else float("nan")

    @property
    def max(self) -> float:
        return max(self.values) if self.values else float("nan")

    def fmt(self, spec: str = ".2f") -> str:
        if not self.values:
            return "-"
        return f"{self.median:{spec}} ({self.min:{spec}}–{self.max:{spec}})"


def machine() -> dict[str, object]:
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cores": os.cpu_count(), "memory_gb": mem_gb, "cpu": cpu, "loadavg_1m": load}


def record(bench: str, row: dict[str, object]) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    entry = {"bench": bench, "at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(), **row}
    with open(RESULTS_DIR / f"{bench}.jsonl", "a") as fh:
        fh.write(json.dumps(entry, default=str) + "\n")


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (also readable in a terminal)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in cells)])


def source_dsn(factor: int) -> str:
    """The DSN of the ×factor source: the sample itself for 1, else the reused scaled copy."""
    from ingest.source import SOURCE_DSN_ENV, LocalPostgres
    from ingest.source.scale import scale_database

    configured = os.environ.get(SOURCE_DSN_ENV)
    if configured:
        base = configured
        fallback = None
    else:
        server = LocalPostgres()
        server.start()
        base = server.dsn("dvdrental")
        fallback = server.ensure_sample_restored
    if factor == 1:
        return base
    return scale_database(base, factor, log=lambda m: print(f"  [scale] {m}", flush=True), restore_fallback=fallback)


def psql_binary() -> str:
    found = shutil.which("psql")
    if found:
        return found
    from ingest.source import find_bin_dir

    return str(find_bin_dir() / "psql")


def fresh_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".wal", ".tmp"):
        target = Path(str(path) + suffix)
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    return path


def factors_arg(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]
