"""The ``dvdrental`` application: what runs after bronze, and the command line.

* :mod:`dvdrental.commands` — the ``dvdrental`` command line, one module per command.
* :mod:`dvdrental.daily` — the scheduled run (lock, ingest, ``sqlmesh run``, janitor) and its log.
* :mod:`dvdrental.warehouse` — the seam to SQLMesh and the warehouse: gateway settings, the
  context life cycle, the run lock, one read-only reader.
* :mod:`dvdrental.reports` — what people read: the five answers, the HTML dashboard, the plan diff.
* :mod:`dvdrental.superset` — the same answers in Apache Superset / Preset: the bundle of
  ``dashboards/bundle/`` filled for a target, Superset's own venv, a local server.

Ingestion (source server, loaders, bronze layout, Airbyte client) is the :mod:`ingest` package,
which this one imports and which imports nothing from here (docs/architecture.md).
"""
