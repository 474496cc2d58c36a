"""``dvdrental airbyte plan`` / ``apply``: make the workspace hold what :mod:`.desired` describes.

Each resource is found by its name in the workspace (``GET /sources?workspaceIds=…``,
``/destinations``, ``/connections``), compared field by field with the description and, on
``apply``, created (``POST``) or updated (``PATCH``): source, destination, connection, in that
order, each step looking up what the step before left. So a second ``apply`` sends no ``POST``
or ``PATCH``, and a rerun after a failure part way (the source created, the destination refused)
finds what was created and finishes the job; nothing is deleted.

Raw JSON through :meth:`.transport.AirbyteTransport.json_request` (timeouts, retries, token renewal,
redaction, problem bodies, as for every other call), not the SDK's models: the SDK types a source's
and a destination's ``configuration`` as a union of hundreds of connector models, which it may
resolve to the wrong one on reading (see :meth:`.client.AirbyteClient.get_destination`) and
which would make "the fields we set" a question of which model won. We compare only the fields the
description sets, so a plain dict is what we need. ``POST`` is not retried: a create whose answer
was lost may have happened, and the rerun finds it by name instead of creating it twice.

Fields Airbyte masks (passwords, tokens) are never compared and are sent only on create. What
Airbyte cannot change in place (a connection's source or destination, a source's type) is shown
by ``plan`` and refused by ``apply``, naming what to delete.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass, field

from ingest.airbyte.desired import DesiredConnection, DesiredResource, DesiredSetup, lookup
from ingest.airbyte.errors import (
    AirbyteAuthError,
    AirbyteConfigurationRefused,
    AirbyteContractError,
    AirbyteError,
    AirbyteRequestFailed,
    AirbyteWorkspaceNotFound,
)
from ingest.airbyte.transport import AirbyteTransport

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
ABSENT = "absent"
NEW = "(the one created before it)"


@dataclass
class Step:
    """What to do to one resource: nothing, create, update, or refuse (Airbyte cannot change it in place)."""

    kind: str  # source | destination | connection
    name: str
    action: str = "none"  # none | create | update | refuse
    resource_id: str | None = None
    lines: list[str] = field(default_factory=list)
    body: dict[str, t.Any] = field(default_factory=dict)


@dataclass
class Plan:
    workspace_id: str
    steps: list[Step]

    @property
    def changes(self) -> bool:
        return any(step.action != "none" for step in self.steps)

    def lines(self) -> list[str]:
        found = [line for step in self.steps for line in step.lines]
        return found or ["no changes"]


class Reconciler:
    """Plans and applies the set-up in one workspace through one transport."""

    def __init__(self, transport: AirbyteTransport, desired: DesiredSetup) -> None:
        self.transport = transport
        self.desired = desired
        for secret in desired.secrets:
            transport.redact.add(secret)

    # -- plan -----------------------------------------------------------------------------------

    def plan(self) -> Plan:
        source = self._resource_step(self.desired.source)
        destination = self._resource_step(self.desired.destination)
        connection = self._connection_step(source.resource_id, destination.resource_id)
        return Plan(self.desired.workspace_id, [source, destination, connection])

    # -- apply ----------------------------------------------------------------------------------

    def apply(self, report: t.Callable[[str], None]) -> bool:
        """Create or update source, destination, connection in that order, reporting each as it is done.

        What Airbyte cannot change in place is refused before anything is written. False: nothing to do.
        """
        plan = self.plan()
        refused = [step for step in plan.steps if step.action == "refuse"]
        if refused:
            step = refused[0]
            raise AirbyteContractError(
                f"{step.kind} {step.name!r} cannot be changed in place: {'; '.join(step.lines)}. "
                f"Delete it in Airbyte and run `dvdrental airbyte apply` again; nothing was changed."
            )
        if not plan.changes:
            return False
        source, destination, _ = plan.steps
        source_id = self._carry_out(source, report)
        destination_id = self._carry_out(destination, report)
        # Looked up again with the ids just made: the connection is created or compared against them.
        self._carry_out(self._connection_step(source_id, destination_id), report)
        return True

    def _carry_out(self, step: Step, report: t.Callable[[str], None]) -> str:
        plural = f"/{step.kind}s"
        if step.action == "refuse":  # only if someone changed the workspace meanwhile
            raise AirbyteContractError(
                f"{step.kind} {step.name!r} cannot be changed in place: {'; '.join(step.lines)}."
            )
        if step.action == "create":
            answer = self._write(step, "POST", plural, retry=False)
            resource_id = _id_of(answer, step.kind)
            report(f"created {step.kind} {step.name!r} ({resource_id})")
            return resource_id
        assert step.resource_id is not None
        if step.action == "update":
            self._write(step, "PATCH", f"{plural}/{step.resource_id}")
            changed = ", ".join(line.split(":", 1)[0] for line in step.lines)
            report(f"updated {step.kind} {step.name!r} ({step.resource_id}): {changed}")
        return step.resource_id

    def _write(self, step: Step, method: str, path: str, retry: bool = True) -> t.Any:
        """One POST or PATCH; Airbyte's refusals that a setting fixes become one line naming it (exit 2).

        Nothing of this step was written then (Airbyte validates and checks roles before it stores), and
        what the steps before created is found by name on the rerun.
        """
        verb = "create" if method == "POST" else "update"
        workspace = self.desired.workspace_id
        try:
            return self.transport.json_request(
                method,
                path,
                body=step.body,
                retry=retry,
                forbidden=lambda words: AirbyteAuthError(
                    f"Airbyte refused to {verb} {step.kind} {step.name!r} in workspace {workspace} (HTTP 403"
                    f"{': ' + words if words else ''}): {self.transport.settings.acting_user} may not change it. "
                    "Give that user the workspace editor role (or use an application of a user who has it), then "
                    "run `dvdrental airbyte apply` again."
                ),
            )
        except AirbyteRequestFailed as error:
            described = {"source": self.desired.source, "destination": self.desired.destination}.get(step.kind)
            if error.status_code != 422 or described is None:
                raise
            # UnprocessableEntityProblem: the connector's spec rejected the configuration
            # (ConfigClientErrorHandler maps JsonSchemaValidator's JsonValidationException to it).
            words = self.transport.redact(error.problem.text)[:300] or "no reason given"  # secrets never echoed
            raise AirbyteConfigurationRefused(
                f"Airbyte refused to {verb} {step.kind} {step.name!r} (HTTP 422: {words}). "
                f"Check {', '.join(described.settings_named_in(words))}, then run `dvdrental airbyte apply` again; "
                f"the {step.kind} was not {verb}d."
            ) from None

    # -- comparing ------------------------------------------------------------------------------

    def _resource_step(self, desired: DesiredResource) -> Step:
        step = Step(desired.kind, desired.name)
        actual = self._find(desired.kind, desired.name)
        type_field = f"{desired.kind}Type"
        wanted_type = desired.configuration[type_field]
        if actual is None:
            step.action = "create"
            step.lines.append(f"{desired.kind}: create {desired.name!r} ({wanted_type})")
            step.body = {
                "name": desired.name,
                "workspaceId": self.desired.workspace_id,
                "configuration": desired.configuration,
            }
            return step
        step.resource_id = _id_of(actual, desired.kind)
        if actual.get(type_field) not in (None, wanted_type):
            step.action = "refuse"
            step.lines.append(f"{desired.kind}.{type_field}: {actual.get(type_field)!r} -> {wanted_type!r}")
            return step
        configuration = actual.get("configuration") if isinstance(actual.get("configuration"), dict) else {}
        for path in desired.compared:
            _compare(
                step,
                f"{desired.kind}.configuration.{path}",
                lookup(configuration, path),
                lookup(desired.configuration, path),
            )
        if step.lines:
            step.action = "update"
            # Airbyte's PATCH merges the configuration; the masked secrets are left out, so they keep their values.
            step.body = {"name": desired.name, "configuration": desired.without_secrets()}
        return step

    def _connection_step(self, source_id: str | None, destination_id: str | None) -> Step:
        desired = self.desired.connection
        step = Step("connection", desired.name)
        actual = self._find("connection", desired.name)
        if actual is None:
            step.action = "create"
            step.lines.append(
                f"connection: create {desired.name!r} ({len(desired.streams)} streams, {desired.sync_mode})"
            )
            step.body = _connection_create_body(desired, source_id, destination_id)
            return step
        step.resource_id = _id_of(actual, "connection")
        for name, wanted in (("sourceId", source_id), ("destinationId", destination_id)):
            if actual.get(name) != wanted:
                step.lines.append(f"connection.{name}: {_show(actual.get(name))} -> {_show(wanted, NEW)}")
        if step.lines:
            step.action = "refuse"  # ConnectionPatchRequest has no sourceId/destinationId
            return step
        patch: dict[str, t.Any] = {}
        for path, wanted in desired.fields().items():
            if _compare(step, f"connection.{path}", lookup(actual, path), wanted):
                top = path.split(".")[0]
                patch[top] = {"scheduleType": wanted} if top == "schedule" else wanted
        if self._compare_streams(step, actual, desired):
            patch["configurations"] = desired.configurations()
        if patch:
            step.action = "update"
            step.body = patch
        return step

    def _compare_streams(self, step: Step, actual: dict[str, t.Any], desired: DesiredConnection) -> bool:
        streams = lookup(actual, "configurations.streams") or []
        found = {s.get("name"): s for s in streams if isinstance(s, dict)}
        before = len(step.lines)
        for name in desired.streams:
            if name not in found:
                step.lines.append(f"connection.streams.{name}: {ABSENT} -> {desired.sync_mode!r}")
            else:
                _compare(step, f"connection.streams.{name}.syncMode", found[name].get("syncMode"), desired.sync_mode)
        for extra in sorted(set(found) - set(desired.streams), key=str):
            step.lines.append(f"connection.streams.{extra}: {_show(found[extra].get('syncMode'))} -> {ABSENT}")
        return len(step.lines) > before

    # -- reading --------------------------------------------------------------------------------

    def _find(self, kind: str, name: str) -> dict[str, t.Any] | None:
        named = [item for item in self._list(kind) if item.get("name") == name]
        if len(named) > 1:
            ids = ", ".join(str(_id_of(item, kind)) for item in named)
            raise AirbyteContractError(
                f"workspace {self.desired.workspace_id} holds {len(named)} {kind}s named {name!r} ({ids}); "
                "delete all but one in Airbyte, then run the command again."
            )
        return named[0] if named else None

    def _list(self, kind: str) -> list[dict[str, t.Any]]:
        workspace_id = self.desired.workspace_id
        items: list[dict[str, t.Any]] = []
        offset = 0
        while True:
            answer = self.transport.json_request(
                "GET",
                f"/{kind}s",
                query={"workspaceIds": workspace_id, "limit": str(PAGE_SIZE), "offset": str(offset)},
                not_found=lambda: AirbyteWorkspaceNotFound(
                    f"Airbyte workspace {workspace_id} was not found (HTTP 404 listing {kind}s from "
                    f"{self.transport.settings.api_url}). Check AIRBYTE_WORKSPACE_ID."
                ),
                # The role is checked before the workspace is looked up (SourcesController.listSources:
                # requireRole(WORKSPACE_READER)), so on Airbyte Cloud an unknown workspace is 403 too.
                forbidden=lambda words: AirbyteAuthError(
                    f"Airbyte refused to list the {kind}s of workspace {workspace_id} (HTTP 403: {words}). "
                    f"Check AIRBYTE_WORKSPACE_ID (Airbyte answers 403 for a workspace that does not exist, too), "
                    f"then give {self.transport.settings.acting_user} a role in it: reader for `plan`, editor "
                    "for `apply`."
                ),
            )
            page = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(page, list):
                raise AirbyteError(f"GET /{kind}s answered without a 'data' list.")
            items += [item for item in page if isinstance(item, dict)]
            if len(page) < PAGE_SIZE or not answer.get("next"):
                return items
            offset += len(page)


def _connection_create_body(
    desired: DesiredConnection, source_id: str | None, destination_id: str | None
) -> dict[str, t.Any]:
    return {
        "name": desired.name,
        "sourceId": source_id,  # filled in by apply's order: the source exists by then
        "destinationId": destination_id,
        "configurations": desired.configurations(),
        "schedule": {"scheduleType": desired.schedule_type},
        "namespaceDefinition": desired.namespace_definition,
        "namespaceFormat": desired.namespace_format,
        "prefix": desired.prefix,
        "nonBreakingSchemaUpdatesBehavior": desired.non_breaking_schema_updates_behavior,
        "status": desired.status,
    }


def _compare(step: Step, label: str, actual: t.Any, wanted: t.Any) -> bool:
    if actual == wanted:
        return False
    step.lines.append(f"{label}: {_show(actual)} -> {_show(wanted)}")
    return True


def _show(value: t.Any, missing: str = ABSENT) -> str:
    return missing if value is None else repr(value)


def _id_of(item: t.Any, kind: str) -> str:
    value = item.get(f"{kind}Id") if isinstance(item, dict) else None
    if not isinstance(value, str):
        raise AirbyteError(f"Airbyte answered a {kind} without a {kind}Id.")
    return value


def plan_setup() -> list[str]:
    """``dvdrental airbyte plan``: the differences, one line each, or ``no changes``. Changes nothing."""
    with _reconciler() as reconciler:
        return reconciler.plan().lines()


def apply_setup(report: t.Callable[[str], None]) -> None:
    """``dvdrental airbyte apply``: reports what was created or updated as it happens, one line each,
    or ``no changes``."""
    with _reconciler() as reconciler:
        if not reconciler.apply(report):
            report("no changes")


class _reconciler:
    """Settings first (a missing one names itself before any request), then one transport."""

    def __init__(self) -> None:
        from ingest.airbyte.settings import AirbyteSettings

        self.desired = DesiredSetup.from_env()
        self.settings = AirbyteSettings.from_env(connection_required=False)

    def __enter__(self) -> Reconciler:
        self.transport = AirbyteTransport(self.settings)
        return Reconciler(self.transport, self.desired)

    def __exit__(self, *exc_info: object) -> None:
        self.transport.close()
