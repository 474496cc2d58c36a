"""Where the project keeps things on disk.

All paths are absolute and derived from this file's location, so every
command behaves the same whatever the current directory is.
"""

from __future__ import annotations

import os
from pathlib import Path

from foundation.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = PROJECT_ROOT / ".local"  # git-ignored: PostgreSQL data dir, caches
LOG_DIR = PROJECT_ROOT / "logs"  # git-ignored: one log file per run
ARTIFACTS_DIR = PROJECT_ROOT / "artifacts"  # git-ignored: reports, dashboard, screenshots

WAREHOUSE_ENV = "DVD_WAREHOUSE_PATH"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "dvdrental.duckdb"

# DuckDB names a database's catalog after its file, and a catalog called like one of our
# schemas makes `bronze.raw_dvd_x` ambiguous (catalog.table instead of schema.table).
RESERVED_WAREHOUSE_NAMES = frozenset({"bronze", "silver", "gold", "main", "memory", "system", "temp"})


def warehouse_path() -> Path:
    """The local DuckDB warehouse file (``DVD_WAREHOUSE_PATH`` overrides it)."""
    configured = os.environ.get(WAREHOUSE_ENV)
    path = Path(configured).expanduser().resolve() if configured else DEFAULT_WAREHOUSE
    if path.is_dir():
        raise ConfigError(
            f"{WAREHOUSE_ENV}={configured} is a directory: it names the DuckDB file itself "
            f"(e.g. {path / 'dvdrental.duckdb'})."
        )
    if path.stem.lower() in RESERVED_WAREHOUSE_NAMES:
        raise ConfigError(
            f"{WAREHOUSE_ENV}={configured}: DuckDB would name the catalog '{path.stem}', which clashes with "
            f"a schema of the pipeline; choose another file name (e.g. dvdrental.duckdb)."
        )
    return path


def export_warehouse_path() -> Path:
    """Pin the warehouse path in the environment so SQLMesh's config.yaml sees it.

    config.yaml reads ``DVD_WAREHOUSE_PATH`` (YAML config cannot know its own
    location), so every entry point that starts SQLMesh calls this first.
    """
    path = warehouse_path()
    os.environ[WAREHOUSE_ENV] = str(path)
    return path
