"""SQLMesh signal: every bronze table still has the columns the models read, with their kind of value.

Airbyte carries a source's schema change into bronze (a dropped column disappears, a retyped one
changes type); the direct loader refuses such a load itself (exit 3), Airbyte does not. Without
this check the first model that reads the column fails with an engine error from deep inside its
SQL. The signal runs before the broken-load guard (models/staging/bronze_loads.sql), so before any
staging table is written, on `dvdrental daily` and a bare `sqlmesh run` alike: it compares each
bronze table the guard reads (an external model declared in external_models.yaml) with the table
as the engine describes it, raises one sentence per missing or retyped column, and logs a warning
for a column that was added (nothing reads it; the daily run reports it once).

It lives in signals/ because SQLMesh loads signals only from there.
"""

from __future__ import annotations

import importlib
import logging
import types
import typing as t

from sqlmesh import signal

if t.TYPE_CHECKING:
    from sqlmesh.core.context import ExecutionContext
    from sqlmesh.core.snapshot import Snapshot
    from sqlmesh.utils.date import DatetimeRanges


def _bronze_layout() -> types.ModuleType:
    """``ingest.bronze.layout``, imported when the signal runs.

    SQLMesh stores a signal with the code it calls: the source of every function found under the
    project's folder, an import line for the rest. Imported by name at the top, the layout's functions
    were copied into the signal (and every staging model's fingerprint) from this checkout but only
    imported from a copy of the project, so a copy (plan-diff's base, the tests) planned every model
    as changed. A module imported by name at run time is the same for every copy.
    """
    return importlib.import_module("ingest.bronze.layout")


@signal()
def bronze_columns_as_declared(batch: DatetimeRanges, snapshot: Snapshot, context: ExecutionContext) -> bool:
    bronze = [
        upstream.model
        for parent in snapshot.parents
        if (upstream := context.snapshots.get(parent.name)) is not None
        and upstream.is_model
        and upstream.model.kind.is_external
    ]
    loaded = _loaded(context, [model.fqn for model in bronze])
    problems: list[str] = []
    for model in bronze:
        if model.fqn not in loaded:
            # Never loaded (a new warehouse, the UI's plan preview on it): not ready, not broken.
            # The daily run loads bronze before it runs, so there it always exists.
            logging.getLogger("signals.bronze_schema").warning("%s is not loaded yet: waiting for a load", model.name)
            return False
        declared = model.columns_to_types or {}
        actual = context.engine_adapter.columns(model.fqn)
        found, added = _bronze_layout().compare_bronze_columns(model.name, declared, actual)
        problems += found
        for column in added:
            logging.getLogger("signals.bronze_schema").warning(
                "%s has a column the models do not read: %s (reported, not refused)", model.name, column
            )
    if problems:
        # A plain error: SQLMesh stores a signal with its code, and a class of ours would not travel.
        raise ValueError(
            "Bronze schema changed: " + "; ".join(problems) + ". Nothing was refreshed: change the models and "
            "external_models.yaml together with the source (docs/reliability.md, 'A source's columns change')."
        )
    return True


def _loaded(context: ExecutionContext, fqns: list[str]) -> set[str]:
    """The tables of ``fqns`` that exist, asked once per schema instead of once per table.

    On Databricks every question is a statement and about five HTTPS round trips
    (benchmarks/RESULTS.md, 'Production cost through the Databricks SQL connector'): one listing of
    ``bronze`` replaces eleven ``DESCRIBE``s of ``table_exists``.
    """
    from sqlglot import exp

    by_schema: dict[tuple[str, str], dict[str, str]] = {}
    for fqn in fqns:
        table = exp.to_table(fqn)
        by_schema.setdefault((table.catalog, table.db), {})[table.name.lower()] = fqn
    loaded: set[str] = set()
    for (catalog, db), names in by_schema.items():
        schema = exp.Table(db=exp.to_identifier(db), catalog=exp.to_identifier(catalog) if catalog else None)
        for found in context.engine_adapter.get_data_objects(schema, set(names)):
            if found.name.lower() in names:
                loaded.add(names[found.name.lower()])
    return loaded
