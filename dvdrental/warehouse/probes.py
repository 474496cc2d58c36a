"""The doctor's live checks of a gateway: do its drivers import, does Java run, do its connections answer.

Each check reports instead of raising, within a time bound (a hung driver cannot hold the doctor),
and every detail it prints has the gateway's setting values replaced by their names
(``$DATABRICKS_TOKEN``), so a driver message that echoes a credential shows which one leaked.
What a gateway needs is :mod:`dvdrental.warehouse.gateways`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import socket
import subprocess
import threading
import typing as t
from dataclasses import dataclass, field

from dvdrental.warehouse.gateways import (
    DATABRICKS,
    DATABRICKS_SPARK,
    LOCAL_STATE_DATABASE_ENV,
    LOCAL,
    SPARK,
    Driver,
    gateway,
    missing_settings,
    uses_oauth,
)
from foundation import settings
from foundation.duckdb_memory import duckdb_config
from foundation.errors import first_line
from foundation.paths import warehouse_path
from foundation.redaction import Redactor


@dataclass(frozen=True)
class DriverStatus:
    driver: Driver
    ok: bool
    detail: str


def check_driver(driver: Driver) -> DriverStatus:
    try:
        importlib.import_module(driver.module)
    except Exception as error:  # ImportError, or a broken install raising anything else
        return DriverStatus(driver, False, f"cannot import {driver.module}: {type(error).__name__} (pip install {driver.package})")
    try:
        version = importlib.metadata.version(driver.package)
    except importlib.metadata.PackageNotFoundError:
        version = "installed"
    return DriverStatus(driver, True, version)


def check_java() -> DriverStatus:
    java = Driver("java", "java", "the JVM pyspark starts; Debian: openjdk-17-jre-headless")
    path = shutil.which("java")
    if not path:
        return DriverStatus(java, False, "no `java` on PATH (apt-get install openjdk-17-jre-headless)")
    try:
        out = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return DriverStatus(java, False, f"`java -version` failed: {type(error).__name__}")
    first = (out.stderr or out.stdout).strip().splitlines()
    return DriverStatus(java, out.returncode == 0, first[0] if first else f"exit {out.returncode}")


@dataclass
class Probe:
    target: str
    ok: bool
    detail: str
    values_to_hide: list[str] = field(default_factory=list)


def redact(text: str, name: str) -> str:
    """``text`` with the value of every setting of gateway ``name`` replaced by ``$NAME``: the local
    gateway's secrets only (its paths, user name and loopback host are what the reader needs to see)."""
    hidden = [s for s in gateway(name).all_settings() if s.secret or name != LOCAL]
    values = {settings.optional(s.name): f"${s.name}" for s in hidden}
    # Values under 3 characters (a port's digits, say) would mangle the text without hiding anything.
    return Redactor(masks={value: mask for value, mask in values.items() if value and len(value) >= 3})(text)


def _with_timeout(seconds: float, action: t.Callable[[], str]) -> tuple[bool, str]:
    """Run ``action`` in a daemon thread; (ok, detail). A hung driver cannot hold us past ``seconds``."""
    result: dict[str, t.Any] = {}

    def run() -> None:
        try:
            result["detail"] = action()
            result["ok"] = True
        except BaseException as error:  # reported, never raised
            result["ok"] = False
            result["detail"] = type(error).__name__ + (f": {first_line(error)}" if str(error).strip() else "")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return False, f"no answer within {seconds:g}s"
    return bool(result.get("ok")), str(result.get("detail", ""))


def probe_connections(name: str, timeout: float = 10.0) -> list[Probe]:
    """Try each connection of gateway ``name`` once, ``timeout`` seconds at most each."""
    probes: list[Probe] = []
    if name == LOCAL:
        probes.append(Probe("warehouse (DuckDB)", *_with_timeout(timeout, _probe_duckdb)))
        if settings.optional(LOCAL_STATE_DATABASE_ENV) and not missing_settings(name):
            state = lambda: _probe_state(timeout, "DVD_LOCAL_STATE_", default_host="127.0.0.1")  # noqa: E731
            probes.append(Probe("state (PostgreSQL)", *_with_timeout(timeout, state)))
    elif name == DATABRICKS:
        if missing_settings(name):
            return [Probe("connections", False, "not tried: settings are missing")]
        probes.append(Probe("Databricks SQL warehouse", *_with_timeout(timeout, lambda: _probe_databricks(timeout))))
        probes.append(Probe("state (PostgreSQL)", *_with_timeout(timeout, lambda: _probe_state(timeout))))
    elif name in (SPARK, DATABRICKS_SPARK):
        probes.append(Probe("Spark", True, "local engine, no server: started by the plan (java and pyspark checked above)"))
    for probe in probes:
        probe.detail = redact(probe.detail, name)
    return probes


def _probe_duckdb() -> str:
    """The warehouse can be *written*: a run needs that, and read-only access says nothing about it."""
    import duckdb

    path = warehouse_path()
    if not path.exists():
        # The nearest directory that exists is where the first ingest creates the rest.
        existing = next(p for p in path.parents if p.exists())
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(f"{path} does not exist and {existing} is not writable: the first ingest could not create it")
        return f"{path} does not exist yet; {existing} is writable (`dvdrental ingest` creates it)"
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{path} is not writable (DuckDB also writes a .wal file next to it)")
    try:
        # read-write: fails when another process holds the file; with the gateway's memory settings
        with duckdb.connect(str(path), config=duckdb_config(path)) as con:
            con.execute("SELECT 1").fetchone()
    except duckdb.Error as error:
        raise PermissionError(f"{path} cannot be opened for writing: {first_line(error)}") from None
    return f"{path} opens for writing"


def _probe_databricks(timeout: float) -> str:
    host = settings.required("DATABRICKS_SERVER_HOSTNAME", "Databricks workspace host")
    # A plain TCP connect first: a wrong host or a firewall fails here quickly and clearly.
    with socket.create_connection((host, 443), timeout=timeout):
        pass
    from databricks import sql

    kwargs: dict[str, t.Any] = {
        "server_hostname": host,
        "http_path": settings.optional("DATABRICKS_HTTP_PATH"),
        "catalog": settings.optional("DATABRICKS_CATALOG"),
        "_retry_stop_after_attempts_count": 1,
        "_socket_timeout": timeout,
    }
    if uses_oauth():
        from databricks.sdk.core import Config, oauth_service_principal

        config = Config(
            host=f"https://{host}",
            client_id=settings.optional("DATABRICKS_CLIENT_ID"),
            client_secret=settings.optional("DATABRICKS_CLIENT_SECRET"),
        )
        kwargs["credentials_provider"] = lambda: oauth_service_principal(config)
    else:
        kwargs["access_token"] = settings.optional("DATABRICKS_TOKEN")
    with sql.connect(**kwargs) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_catalog()")
        row = cursor.fetchone()
    return f"answered (current catalog {row[0] if row else '?'})"


def _probe_state(timeout: float, prefix: str = "SQLMESH_STATE_", default_host: str | None = None) -> str:
    """SQLMesh's PostgreSQL state from the settings named ``<prefix>HOST`` ... (the databricks gateway's
    SQLMESH_STATE_*, the local gateway's DVD_LOCAL_STATE_*)."""
    import psycopg2

    connection = psycopg2.connect(
        host=settings.optional(f"{prefix}HOST") or default_host,
        port=int(settings.optional(f"{prefix}PORT", "5432") or 5432),
        user=settings.optional(f"{prefix}USER"),
        password=settings.optional(f"{prefix}PASSWORD") or "",
        dbname=settings.optional(f"{prefix}DATABASE"),
        sslmode=settings.optional(f"{prefix}SSLMODE") or None,
        connect_timeout=max(1, int(timeout)),
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0]
    finally:
        connection.close()
    return f"answered ({version.split(',')[0]})"
