"""Does the Airbyte connection produce the bronze the SQLMesh models read?

The models read ``bronze.raw_dvd_<table>`` for every table in
:data:`ingest.tables.SOURCE_TABLES`, each a full copy of the source table. A
connection that syncs incrementally, uses another prefix or writes to another
schema would "succeed" while the models read stale or missing tables, so a
mismatch stops the run before a sync starts, and so does a connection Airbyte
will not sync (inactive, deprecated or locked): its ``POST /jobs`` would only be
refused. Differences that cannot hurt (extra streams) are only warnings.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass, field

from airbyte_api import models

from ingest.airbyte.errors import AirbyteContractError
from ingest.tables import BRONZE_PREFIX, BRONZE_SCHEMA, SOURCE_SCHEMA, SOURCE_TABLES

logger = logging.getLogger(__name__)

EXPECTED_SYNC_MODE = "full_refresh_overwrite"


@dataclass(frozen=True)
class DestinationFacts:
    destination_type: str | None
    schema: str | None


@dataclass
class ContractReport:
    connection_id: str
    connection_name: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    streams: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        for warning in self.warnings:
            logger.warning("Airbyte connection %s: %s", self.connection_id, warning)
        if self.problems:
            raise AirbyteContractError(
                f"Airbyte connection {self.connection_name!r} ({self.connection_id}) does not match what the "
                f"models expect: {'; '.join(self.problems)}. Fix the connection in Airbyte (see docs/airbyte.md)."
            )


def needs_destination(connection: models.ConnectionResponse) -> bool:
    """With the destination's default namespace, the schema lives on the destination."""
    return _value(connection.namespace_definition) == "destination"


def check_connection_contract(
    connection: models.ConnectionResponse,
    destination: DestinationFacts | None = None,
) -> ContractReport:
    report = ContractReport(connection_id=connection.connection_id, connection_name=connection.name)
    _check_status(connection, report)
    _check_streams(connection, report)
    _check_prefix(connection, report)
    _check_namespace(connection, destination, report)
    return report


def status_problem(connection: models.ConnectionResponse) -> str | None:
    """Why Airbyte would refuse to sync this connection, or None if its status lets it run.

    The server syncs only an active connection (airbyte-platform,
    ``airbyte-commons-server/.../handlers/SchedulerHandler.kt``, ``submitManualSyncToWorker``:
    "Can only sync an active connection") and answers anything else with a 409 whose body
    does not say why, so the status is checked here, before the ``POST``.
    """
    status = _value(connection.status)
    if status == "inactive":
        return (
            "its status is inactive (disabled), and Airbyte syncs only an active connection: "
            "enable it in Airbyte (the connection's on/off switch, or PATCH status=active)"
        )
    if status in ("deprecated", "locked"):
        return f"its status is {status}, so Airbyte will not run it"
    return None


def _check_status(connection: models.ConnectionResponse, report: ContractReport) -> None:
    problem = status_problem(connection)
    if problem is not None:
        report.problems.append(problem)
    elif _value(connection.status) != "active":
        report.warnings.append(f"its status is {_value(connection.status)!r}, not 'active'; a sync may be refused")


def _check_streams(connection: models.ConnectionResponse, report: ContractReport) -> None:
    configured = {stream.name: stream for stream in (connection.configurations.streams or [])}
    report.streams = len(configured)
    expected = [table.name for table in SOURCE_TABLES]
    missing = [name for name in expected if name not in configured]
    if missing:
        report.problems.append(f"stream(s) missing: {', '.join(missing)}")
    extra = sorted(set(configured) - set(expected))
    if extra:
        report.warnings.append(f"extra stream(s) {', '.join(extra)} are synced too; the models ignore them")
    wrong_mode = []
    for name in expected:
        stream = configured.get(name)
        if stream is None:
            continue
        mode = _value(stream.sync_mode)
        if mode is None:
            report.warnings.append(f"stream {name}: sync mode not reported; expected {EXPECTED_SYNC_MODE}")
        elif mode != EXPECTED_SYNC_MODE:
            wrong_mode.append(f"{name} is {mode}")
        if stream.namespace and stream.namespace != SOURCE_SCHEMA:
            report.warnings.append(f"stream {name} reads source namespace {stream.namespace!r}, not {SOURCE_SCHEMA!r}")
    if wrong_mode:
        report.problems.append(
            f"sync mode must be full refresh | overwrite ({EXPECTED_SYNC_MODE}) but {', '.join(wrong_mode)}"
        )


def _check_prefix(connection: models.ConnectionResponse, report: ContractReport) -> None:
    if (connection.prefix or "") != BRONZE_PREFIX:
        report.problems.append(f"stream prefix is {connection.prefix or ''!r}, expected {BRONZE_PREFIX!r}")


def _check_namespace(
    connection: models.ConnectionResponse, destination: DestinationFacts | None, report: ContractReport
) -> None:
    definition = _value(connection.namespace_definition) or "destination"
    if definition == "custom_format":
        if connection.namespace_format != BRONZE_SCHEMA:
            report.problems.append(
                f"destination namespace is the custom format {connection.namespace_format!r}, "
                f"expected {BRONZE_SCHEMA!r}"
            )
    elif definition == "source":
        report.problems.append(
            f"destination namespace mirrors the source schema ({SOURCE_SCHEMA!r}); "
            f"set a custom format {BRONZE_SCHEMA!r} or the destination's default schema to {BRONZE_SCHEMA!r}"
        )
    elif definition == "destination":
        if destination is None or destination.schema is None:
            report.warnings.append(
                "the connection writes to the destination's default schema, which could not be read; "
                f"make sure it is {BRONZE_SCHEMA!r}"
            )
        elif destination.schema != BRONZE_SCHEMA:
            report.problems.append(
                f"the destination's default schema is {destination.schema!r}, expected {BRONZE_SCHEMA!r}"
            )
    else:
        report.warnings.append(f"unknown namespace definition {definition!r}; cannot confirm schema {BRONZE_SCHEMA!r}")
    if (
        destination is not None
        and destination.destination_type
        and "databricks" not in destination.destination_type.lower()
    ):
        report.warnings.append(f"destination type is {destination.destination_type!r}, not Databricks")


def _value(value: t.Any) -> t.Any:
    return getattr(value, "value", value)
