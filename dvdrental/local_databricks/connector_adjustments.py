"""The real databricks-sql-connector on the local endpoint: what a SQL warehouse has and Spark's Thrift Server lacks.

Production's ``databricks`` gateway talks to a SQL warehouse through the databricks-sql-connector
(``databricks.sql.connect``: Thrift over HTTPS). The local endpoint
(:mod:`dvdrental.local_databricks.endpoint`) is Spark's own Thrift Server, which speaks Hive's
protocol, not Databricks' extension of it. Everything that differs is adjusted here, on the
client, one named function each, and nowhere else; the connector is otherwise unchanged. Written
against connector :data:`CONNECTOR_VERSION` (:func:`connector_adjusted` refuses any other):

``workspace_address``
    A warehouse listens on port 443 with a certificate from a public CA; SQLMesh passes the
    connector neither a port nor TLS options. The connection gets the endpoint's port and CA
    file (the connector's own ``_port`` and ``_tls_trusted_ca_file``), so the gateway keeps
    production's settings: ``DATABRICKS_SERVER_HOSTNAME=127.0.0.1``,
    ``DATABRICKS_HTTP_PATH=/cliservice``. (A port smuggled into the host name,
    ``127.0.0.1:PORT/cliservice#``, also reaches it, but is no host name: the project's own
    check of the setting refuses it, and ``DATABRICKS_HTTP_PATH`` would be ignored.)
``telemetry``
    The connector's telemetry (on by default; SQLMesh has no switch) first GETs a feature flag
    from the workspace's REST API, which lands on the Thrift servlet, gets HTTP 500 and is
    retried for about a minute per process. It is turned off (``enable_telemetry=False``).
``open_session_protocol``
    OpenSession: the connector asks for ``SPARK_CLI_SERVICE_PROTOCOL_V7`` (``client_protocol_i64``
    only) and refuses a server answering below ``SPARK_CLI_SERVICE_PROTOCOL_V2``; Hive's server
    answers its own latest, 9. The answer is raised to the version asked for, with
    ``canUseMultipleCatalogs`` (the server ignores the initial namespace; SQLMesh sets the catalog
    itself with ``USE CATALOG``, which the ``use_catalog`` stand-in serves).
``result_format``
    GetResultSetMetadata has no ``resultFormat`` (a Databricks field): the Thrift Server sends
    column-based row sets, so ``COLUMN_BASED_SET``.
``fetch_result_metadata``
    FetchResults has no ``resultSetMetadata`` (Databricks sends it when asked,
    ``includeResultSetMetadata``): the metadata of the operation, as GetResultSetMetadata gave it.
``empty_row_set``
    An empty result (DDL, DML, zero rows) arrives as a row-based ``TRowSet(0, [])`` without
    columns: an empty column of each of the result's columns instead.

And the four Databricks statements Spark lacks (``USE CATALOG``, ``system.information_schema``,
``SHALLOW CLONE``, ``QUALIFY``): :mod:`dvdrental.local_databricks.databricks_standins`, unchanged,
applied at the connector's cursor (``databricks.sql.client.Cursor.execute``), their probes sent
on a second cursor of the same session. Every statement goes to a :class:`StatementLog`, every
adjustment that fired is counted in :attr:`Adjusted.fired`.

``tests/app/local_databricks/test_databricks_connector.py`` asserts that each adjustment fired and
that the connector still fails without it: one that no longer fails makes its adjustment removable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
import typing as t
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dvdrental.local_databricks.databricks_standins import StatementLog, stand_in_for

logger = logging.getLogger(__name__)

CONNECTOR_VERSION = "4.9.0"
ADJUSTMENTS = (
    "workspace_address",
    "telemetry",
    "open_session_protocol",
    "result_format",
    "fetch_result_metadata",
    "empty_row_set",
)


@dataclass
class Adjusted:
    """What fired while the adjustments were on."""

    log: StatementLog
    fired: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)  # Thrift round trips by method (OpenSession, ...)
    # the connector's own Cursor.execute, without the stand-ins (to show a statement still fails)
    unadjusted_execute: t.Callable[..., t.Any] = field(default=lambda *args: None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # operation id -> its GetResultSetMetadata answer (for fetch_result_metadata and empty_row_set)
    _metadata: dict[bytes, t.Any] = field(default_factory=dict, repr=False)

    def count(self, name: str) -> None:
        with self._lock:
            self.fired[name] += 1

    def count_request(self, method: str) -> None:
        with self._lock:
            self.requests[method] += 1


# -- the adjustments, each a function of what the connector sends or receives ---------------------


def workspace_address(kwargs: dict[str, t.Any], port: int, ca_file: Path) -> dict[str, t.Any]:
    return {**kwargs, "_port": port, "_tls_trusted_ca_file": str(ca_file)}


def telemetry(kwargs: dict[str, t.Any]) -> dict[str, t.Any]:
    return {**kwargs, "enable_telemetry": False}


def open_session_protocol(response: t.Any) -> bool:
    from databricks.sql.thrift_api.TCLIService import ttypes

    asked = ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V7
    if response.serverProtocolVersion is None or response.serverProtocolVersion >= asked:
        return False
    response.serverProtocolVersion = asked
    response.canUseMultipleCatalogs = True
    return True


def result_format(response: t.Any) -> bool:
    from databricks.sql.thrift_api.TCLIService import ttypes

    if response.resultFormat is not None:
        return False
    response.resultFormat = ttypes.TSparkRowSetType.COLUMN_BASED_SET
    return True


def fetch_result_metadata(response: t.Any, metadata: t.Any) -> bool:
    if response.resultSetMetadata is not None or metadata is None:
        return False
    response.resultSetMetadata = metadata
    return True


def empty_row_set(response: t.Any, metadata: t.Any) -> bool:
    from databricks.sql.thrift_api.TCLIService import ttypes

    rows = response.results
    if rows is None or rows.columns is not None or rows.arrowBatches is not None or rows.rows:
        return False
    width = len(metadata.schema.columns) if metadata is not None and metadata.schema else 0
    rows.columns = [ttypes.TColumn(stringVal=ttypes.TStringColumn(values=[], nulls=b"")) for _ in range(width)]
    return True


# -- where they apply ---------------------------------------------------------------------------


def _operation_id(request: t.Any) -> bytes | None:
    handle = getattr(request, "operationHandle", None)
    return handle.operationId.guid if handle is not None and handle.operationId is not None else None


class _CursorSession:
    """What the stand-ins ask of a SparkSession (``sql(...).collect()``, the current catalog,
    whether a schema exists), answered through a second cursor of the connector's session."""

    def __init__(self, cursor: t.Any, execute: t.Callable[..., t.Any]) -> None:
        self._cursor, self._execute = cursor, execute
        self.catalog = self

    def sql(self, query: str) -> _CursorSession:
        self._execute(self._cursor, query)
        return self

    def collect(self) -> list[t.Any]:
        return list(self._cursor.fetchall())

    def currentCatalog(self) -> str:  # noqa: N802  (pyspark's name)
        return str(self.sql("SELECT current_catalog()").collect()[0][0])

    def databaseExists(self, schema: str) -> bool:  # noqa: N802  (pyspark's name)
        return any(row[0] == schema for row in self.sql("SHOW SCHEMAS").collect())


def check_connector_version() -> None:
    import databricks.sql

    if databricks.sql.__version__ != CONNECTOR_VERSION:
        raise RuntimeError(
            f"databricks-sql-connector {databricks.sql.__version__} is installed; the adjustments in "
            f"{__name__} were written for {CONNECTOR_VERSION}: check each again "
            "(tests/app/local_databricks/test_databricks_connector.py says which are still needed)"
        )


@contextlib.contextmanager
def connector_adjusted(
    port: int, ca_file: Path, log: StatementLog | None = None, skip: t.Collection[str] = ()
) -> t.Iterator[Adjusted]:
    """While open, every ``databricks.sql`` connection in this process reaches the local endpoint
    on ``port`` (trusting ``ca_file``) with the adjustments on, except those named in ``skip``
    (to show that each is still needed), and the stand-ins at its cursor."""
    check_connector_version()
    from databricks.sql import client
    from databricks.sql.backend.thrift_backend import ThriftDatabricksClient

    adjusted = Adjusted(log if log is not None else StatementLog())
    unknown = set(skip) - set(ADJUSTMENTS)
    if unknown:
        raise ValueError(f"no such adjustment: {sorted(unknown)}")

    def on(name: str, fired: bool) -> None:
        if fired:
            adjusted.count(name)

    # The connector's own functions, also when adjustments are already on (a nested call, e.g. with
    # ``skip`` to show one is still needed, must wrap the originals, not the outer adjustments).
    connection_init = _unadjusted(client.Connection.__init__)
    make_request = _unadjusted(ThriftDatabricksClient.make_request)
    execute = _unadjusted(client.Cursor.execute)
    saved = (client.Connection.__init__, ThriftDatabricksClient.make_request, client.Cursor.execute)
    adjusted.unadjusted_execute = execute

    def adjusted_init(self: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
        if "workspace_address" not in skip:
            kwargs = workspace_address(kwargs, port, ca_file)
            adjusted.count("workspace_address")
        if "telemetry" not in skip and kwargs.get("enable_telemetry", True):
            kwargs = telemetry(kwargs)
            adjusted.count("telemetry")
        connection_init(self, *args, **kwargs)

    def adjusted_request(self: t.Any, method: t.Any, request: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        response = make_request(self, method, request, *args, **kwargs)
        name = getattr(method, "__name__", "")
        adjusted.count_request(name)
        if name == "OpenSession" and "open_session_protocol" not in skip:
            on("open_session_protocol", open_session_protocol(response))
        elif name == "GetResultSetMetadata":
            if "result_format" not in skip:
                on("result_format", result_format(response))
            operation = _operation_id(request)
            if operation is not None:
                with adjusted._lock:
                    adjusted._metadata[operation] = response
        elif name == "FetchResults":
            with adjusted._lock:
                metadata = adjusted._metadata.get(_operation_id(request) or b"")
            if "fetch_result_metadata" not in skip:
                on("fetch_result_metadata", fetch_result_metadata(response, metadata))
            if "empty_row_set" not in skip:
                on("empty_row_set", empty_row_set(response, metadata))
        elif name == "CloseOperation":
            with adjusted._lock:
                adjusted._metadata.pop(_operation_id(request) or b"", None)
        return response

    def execute_with_stand_ins(self: t.Any, operation: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
        started = time.monotonic()
        with contextlib.closing(self.connection.cursor()) as probe_cursor:
            statement = stand_in_for(_CursorSession(probe_cursor, execute), operation)  # type: ignore[arg-type]
        if statement.stand_in:
            logger.debug("stand-in %s: %s -> %s", statement.stand_in, operation, statement.sent)
        try:
            return execute(self, statement.sent, *args, **kwargs)
        finally:
            adjusted.log.add(dataclasses.replace(statement, seconds=time.monotonic() - started))

    for wrapper, original in (
        (adjusted_init, connection_init),
        (adjusted_request, make_request),
        (execute_with_stand_ins, execute),
    ):
        setattr(wrapper, "__unadjusted__", original)  # noqa: B010  (a marker on a function)
    client.Connection.__init__ = adjusted_init  # type: ignore[method-assign]
    ThriftDatabricksClient.make_request = adjusted_request  # type: ignore[method-assign]
    client.Cursor.execute = execute_with_stand_ins  # type: ignore[method-assign]
    try:
        yield adjusted
    finally:
        client.Connection.__init__, ThriftDatabricksClient.make_request, client.Cursor.execute = saved  # type: ignore[method-assign]


def _unadjusted(function: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    return t.cast(t.Callable[..., t.Any], getattr(function, "__unadjusted__", function))
