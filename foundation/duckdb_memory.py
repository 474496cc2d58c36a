"""How much memory DuckDB may use on the local warehouse, and where it spills the rest.

DuckDB's own default is 80 % of the machine's RAM and a ``<file>.tmp`` folder beside the database:
a build whose joins outgrow that fails with "Out of Memory" or swaps the laptop. So every process
that opens the warehouse (SQLMesh's ``local`` gateway through config.yaml, the loader, the readers)
takes the same two settings from here, and DuckDB spills to disk beyond the limit instead of growing
with the data. config.yaml cannot import Python, so it repeats the two names, the defaults and the
size check in Jinja; ``tests/app/warehouse/test_duckdb_memory.py`` keeps the two equal.
"""

from __future__ import annotations

import re
from pathlib import Path

from foundation import settings
from foundation.errors import ConfigError

MEMORY_LIMIT_ENV = "DVD_DUCKDB_MEMORY_LIMIT"
TEMP_DIRECTORY_ENV = "DVD_DUCKDB_TEMP_DIRECTORY"
# A laptop's share: half of an 8 GB machine. The x600 build from empty peaked at 3.85 GB without a
# limit; with one DuckDB spills its largest joins and sorts instead (benchmarks/RESULTS.md).
DEFAULT_MEMORY_LIMIT = "4GB"
# Beside the warehouse file, on the same disk: the folder config.yaml and the loader name.
SPILL_FOLDER = "duckdb_spill"

# What DuckDB's memory_limit accepts, less its "-1" (no limit) and bare bytes: a number and a unit.
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def size_problem(name: str, value: str) -> str | None:
    """What is wrong with ``value`` as a DuckDB memory size for setting ``name`` (None: nothing)."""
    match = _SIZE.match(value)
    if match is None or float(match.group(1)) <= 0:
        return (
            f"{name}={value!r} is not a memory size: a number and a unit, e.g. {DEFAULT_MEMORY_LIMIT} or 512MiB "
            f"(units KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
        )
    return None


def folder_problem(name: str, value: str) -> str | None:
    """What is wrong with ``value`` as the spill folder for setting ``name`` (None: nothing)."""
    if Path(value).expanduser().is_file():
        return f"{name}={value} is a file: it names the folder DuckDB spills to"
    return None


def memory_limit() -> str:
    """``DVD_DUCKDB_MEMORY_LIMIT``, checked, or the default; a malformed value is a ConfigError naming it."""
    value = (settings.optional(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT).strip()
    problem = size_problem(MEMORY_LIMIT_ENV, value)
    if problem:
        raise ConfigError(f"{problem}.")
    return value


def temp_directory(warehouse: Path) -> Path:
    """Where DuckDB spills: ``DVD_DUCKDB_TEMP_DIRECTORY``, else ``duckdb_spill/`` beside ``warehouse``."""
    configured = settings.optional(TEMP_DIRECTORY_ENV)
    if configured is None:
        return warehouse.parent / SPILL_FOLDER
    problem = folder_problem(TEMP_DIRECTORY_ENV, configured)
    if problem:
        raise ConfigError(f"{problem}.")
    return Path(configured).expanduser().resolve()


def duckdb_config(warehouse: Path) -> dict[str, str | bool | int | float | list[str]]:
    """``duckdb.connect(..., config=...)`` for the warehouse: the memory limit and the spill folder."""
    return {"memory_limit": memory_limit(), "temp_directory": str(temp_directory(warehouse))}
