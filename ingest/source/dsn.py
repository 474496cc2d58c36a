"""Checking ``DVD_SOURCE_DSN`` before anything connects with it.

psycopg reports a malformed connection string as a ``ProgrammingError`` traceback, and a
non-numeric port only when connecting, as a host lookup failure ("Servname not supported"),
which reads like an unreachable server (exit 3) rather than a typo in a setting (exit 2).
:func:`check_source_dsn` parses the string the way libpq does (``conninfo_to_dict``) and
checks the port, so a bad value is one line naming the setting. The value itself is never
quoted: it may hold a password.
"""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

from foundation.errors import ConfigError

SOURCE_DSN_ENV = "DVD_SOURCE_DSN"
EXAMPLE = "postgresql://user@host:5432/dvdrental"


def check_source_dsn(dsn: str, setting: str = SOURCE_DSN_ENV) -> str:
    """``dsn`` if libpq would accept it, else a :class:`ConfigError` naming ``setting``."""
    if "://" in dsn and not dsn.startswith(("postgresql://", "postgres://")):
        scheme = dsn.split("://", 1)[0]
        raise ConfigError(
            f"{setting} is a {scheme}:// address, not a PostgreSQL one: set it to a URI like {EXAMPLE} "
            f"(or libpq key=value pairs)."
        )
    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # psycopg.ProgrammingError; its text quotes the value, which may hold a password
        raise ConfigError(
            f"{setting} is not a PostgreSQL connection string: set it to a URI like {EXAMPLE} "
            f"(or libpq key=value pairs). Its value is not shown, it may hold a password."
        ) from None
    for port in str(parts.get("port") or "").split(","):  # libpq allows one port per host
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError(f"{setting} names port {port!r}: a port is a number from 1 to 65535.")
    return dsn
