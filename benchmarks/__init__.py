"""Performance benchmarks (``make bench``; figures in ``benchmarks/RESULTS.md``), run from the project root as modules.

* :mod:`.bench_ingest` — the direct loader against its reader's ceiling, ADBC, dlt and ``psql``'s binary COPY;
* :mod:`.bench_build` — ``sqlmesh plan`` from empty against the rendered SQL alone, a daily run, quick commands;
* :mod:`.profile_loader` — where the loader's CPU goes, step by step;
* :mod:`.load_one`, :mod:`.run_sql`, :mod:`.run_prod` — the measured children (one load, the baseline's SQL,
  the daily transform), each in its own process so its wall time, CPU and peak RSS are its own;
* :mod:`.harness` — measured subprocesses, statistics, results files, scaled sources.

``python -m benchmarks.bench_ingest --help`` and so on; nothing here runs in ``make test``.
"""
