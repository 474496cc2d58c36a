"""Where the project keeps things on disk.

All paths are absolute and derived from this file's location, so every
command behaves the same whatever the current directory is.
"""

from __future__ import annotations

import os
from pathlib import Path

from ingest.errors import ConfigError, DumpNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = PROJECT_ROOT / ".local"  # git-ignored: PostgreSQL data dir, caches
LOG_DIR = PROJECT_ROOT / "logs"  # git-ignored: one log file per run
ARTIFACTS_DIR = PROJECT_ROOT / "artifacts"  # git-ignored: reports, dashboard, screenshots

WAREHOUSE_ENV = "DVD_WAREHOUSE_PATH"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "dvdrental.duckdb"

DUMP_ENV = "DVDRENTAL_DUMP"
SHARED_DUMP = PROJECT_ROOT.parent / "shared" / "data" / "dvdrental.tar"
DUMP_URL = "https://www.postgresqltutorial.com/postgresql-getting-started/postgresql-sample-database/"


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


def _check_archive(path: Path) -> Path:
    """``path`` if it looks like an archive pg_restore reads (tar or custom format), else a clear error.

    The sample is distributed as dvdrental.zip; pointing at the zip (or any other file) would
    otherwise fail deep inside pg_restore, after a server was started for it.
    """
    try:
        with open(path, "rb") as file:
            head = file.read(512)
    except OSError as error:
        raise DumpNotFoundError(f"{DUMP_ENV}: cannot read {path}: {error.strerror}.") from None
    if head.startswith(b"PGDMP") or head[257:262] == b"ustar":
        return path
    hint = (
        "it is the zip: unzip it and point at dvdrental.tar" if head.startswith(b"PK") else "point it at dvdrental.tar"
    )
    raise DumpNotFoundError(f"{DUMP_ENV}={path} is not a pg_dump archive (tar or custom format): {hint}.")


def sample_dump() -> Path:
    """The ``pg_restore`` archive of the sample database, or a clear error."""
    configured = os.environ.get(DUMP_ENV)
    if configured:
        path = Path(configured).expanduser()
        if path.is_file():
            return _check_archive(path.resolve())
        raise DumpNotFoundError(
            f"{DUMP_ENV}={configured} does not point to a file. Point it at dvdrental.tar "
            f"(unzip dvdrental.zip from {DUMP_URL})."
        )
    if SHARED_DUMP.is_file():
        return _check_archive(SHARED_DUMP)
    raise DumpNotFoundError(
        f"The DVD rental sample is missing: set {DUMP_ENV} to the path of dvdrental.tar, or put it at "
        f"{SHARED_DUMP}. Download dvdrental.zip from {DUMP_URL} and unzip it to get dvdrental.tar."
    )
