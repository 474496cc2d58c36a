"""The broken-load guard as the daily run sees it: accepting a real mass deletion, and what the guard said.

The guard itself is SQL (models/staging/bronze_loads.sql, macros/load_guard.py), so a bare
``sqlmesh run`` is protected too. Here: the one-run acceptance ``TABLE:KEYS`` (the
``--accept-mass-deletion`` option and the ``DVD_ACCEPT_MASS_DELETION`` setting the guard model reads
while it runs), checked before anything starts; and the guard's table read back after the run for
the summary (loads accepted, values Airbyte changed per table).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from foundation import settings
from foundation.errors import ConfigError
from ingest.tables import TABLES_BY_NAME

if t.TYPE_CHECKING:
    from sqlmesh import Context

ACCEPT_ENV = "DVD_ACCEPT_MASS_DELETION"  # = macros/load_guard.py's (SQLMesh loads macros on their own)
GUARD_TABLE = "staging.bronze_loads"


def parse_acceptance(text: str, where: str = ACCEPT_ENV) -> list[tuple[str, int]]:
    """``rental:8022[,film:900]`` -> [(table, keys)], or a ConfigError naming ``where``."""
    accepted = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        table, _, keys = entry.partition(":")
        if table not in TABLES_BY_NAME or not keys.strip().isdigit():
            raise ConfigError(
                f"{where}={text!r}: expected TABLE:KEYS (the bronze key count the refused run printed), "
                f"e.g. rental:8022; tables: {', '.join(TABLES_BY_NAME)}."
            )
        accepted.append((table, int(keys)))
    return accepted


def acceptance_from_env() -> list[tuple[str, int]]:
    """The acceptance set in the environment or .env (checked; empty when unset)."""
    return parse_acceptance(settings.optional(ACCEPT_ENV) or "")


def format_acceptance(accepted: t.Iterable[tuple[str, int]]) -> str:
    return ",".join(f"{table}:{keys}" for table, keys in accepted)


@dataclass(frozen=True)
class LoadVerdict:
    table: str
    bronze_keys: int
    live_keys: int | None
    changed_rows: int
    verdict: str


def read_verdicts(ctx: Context) -> list[LoadVerdict]:
    """The guard's latest verdict per table (empty when prod has no guard table yet)."""
    try:
        columns = "source_table, bronze_keys, live_keys, changed_rows, verdict"
        rows = ctx.engine_adapter.fetchall(f"SELECT {columns} FROM {GUARD_TABLE} ORDER BY source_table")
    except Exception:  # not built yet (a first plan failed), or a gateway that cannot read it: no report
        return []
    return [
        LoadVerdict(str(table), int(bronze), None if live is None else int(live), int(changed or 0), str(verdict))
        for table, bronze, live, changed, verdict in rows
    ]


def summarise(verdicts: t.Sequence[LoadVerdict]) -> list[str]:
    """Lines for the run log: values Airbyte changed (per table) and loads accepted by a person."""
    lines = [
        f"load guard: {v.table}: {v.changed_rows:,} rows with values Airbyte changed (_airbyte_meta)"
        for v in verdicts
        if v.changed_rows
    ]
    lines += [
        f"load guard: {v.table}: {v.verdict} ({v.bronze_keys:,} keys)" for v in verdicts if "accepted for" in v.verdict
    ]
    return lines


def new_bronze_columns(ctx: Context, reported_file: t.Any) -> list[str]:
    """Source columns that reached bronze but no model reads, not reported before: reported once.

    Airbyte (and the direct loader) carry a column added in the source into bronze; nothing breaks,
    but someone should decide whether a model wants it. ``reported_file`` (JSON, beside the run logs)
    remembers what was reported, so each new column is said once, not every night.
    """
    import json
    from pathlib import Path

    from ingest.bronze.layout import compare_bronze_columns

    path = Path(reported_file)
    try:
        reported = set(json.loads(path.read_text())) if path.exists() else set()
    except (OSError, ValueError):
        reported = set()
    found = []
    for model in ctx.models.values():
        if not model.kind.is_external or not model.name.startswith("bronze."):
            continue
        try:
            actual = ctx.engine_adapter.columns(model.fqn)
        except Exception:  # a table not there is the guard's to report, not this
            continue
        _, added = compare_bronze_columns(model.name, model.columns_to_types or {}, actual)
        found += [f"{model.name}.{column}" for column in added]
    new = sorted(set(found) - reported)
    if new:
        try:
            path.write_text(json.dumps(sorted(reported | set(found)), indent=1))
        except OSError:
            pass  # reported again next time: better twice than never
    return new
