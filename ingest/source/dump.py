"""The sample database's archive: where it is found, and a clear error when it is not.

The project reads the ``pg_restore`` archive of the public DVD rental sample from ``DVDRENTAL_DUMP``,
else from ``../shared/data/dvdrental.tar`` beside the checkout; it is data, never committed. Only the
local source server restores it, so it is found here, beside that server.
"""

from __future__ import annotations

import os
from pathlib import Path

from foundation.errors import DumpNotFoundError
from foundation.paths import PROJECT_ROOT

DUMP_ENV = "DVDRENTAL_DUMP"
SHARED_DUMP = PROJECT_ROOT.parent / "shared" / "data" / "dvdrental.tar"
DUMP_URL = "https://www.postgresqltutorial.com/postgresql-getting-started/postgresql-sample-database/"


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
