"""A local stand-in for Airbyte's public API, for testing the real client.

It speaks the contract as the ``airbyte-api`` SDK's response models define it
(camelCase keys, the required fields of ``ConnectionResponse``,
``JobResponse``, ``JobsResponse``, ``DestinationResponse``);
``test_fake_matches_sdk_models`` runs every canned body through the SDK's
unmarshaller so this fake cannot drift from the models. It serves under
``/api/public/v1`` like a self-managed Airbyte, so a client that loses the
base path (the SDK's ``urljoin`` bug) gets 404s.

Behaviour is scripted per test: job status sequences, one-shot faults
(status codes, ``Retry-After``, connection resets), short token lifetimes.
Every request is recorded for assertions.

``POST /jobs`` refuses the way the real server does (airbytehq/airbyte-platform):

* a running sync: 409 ``try-again-later``, ``data.message`` "A sync is already running
  for: <id>" (``airbyte-commons-temporal/.../TemporalClient.kt`` sets that reason;
  ``airbyte-server/.../publicapi/errorHandlers/ConfigClientErrorHandler.kt`` maps it to
  ``TryAgainLaterConflictProblem``);
* a connection whose status is not active: 409 ``state-conflict``, ``data.message``
  "Could not fulfill request" (``SchedulerHandler.submitManualSyncToWorker``'s
  ``check(sync.status == ACTIVE)`` throws IllegalStateException, mapped to
  ``StateConflictProblem`` with ``DEFAULT_CONFLICT_MESSAGE``);
* ``slow_job_id``: the server's own 60 s wait for the new job's id ran out
  (``START_MANUAL_SYNC_JOB_ID_WAIT_TIMEOUT_MS``; an UNKNOWN failing reason, hence the same
  ``state-conflict`` body) while the job it started shows up in ``GET /jobs`` later;
* ``stuck_workflow``: try-again-later while no job is visible at all (airbytehq/airbyte#25920).

The set-up endpoints (``dvdrental airbyte plan/apply``) keep a small workspace of their own:
``sources``, ``destinations`` and ``setup_connections`` (id -> the response body), empty to begin
with, served by ``GET /sources|/destinations|/connections?workspaceIds=…`` (filtered, ``limit``/``offset``),
``POST`` (create) and ``PATCH /…/{id}`` (the configuration merged, as Airbyte's partial update does).
Secrets in a configuration are answered masked, as Airbyte does. A workspace id other than
``WORKSPACE_ID`` is answered with api-problems.yaml's ``ResourceNotFoundProblemResponse`` (404,
``data`` a ``ProblemResourceData``: ``resourceType`` "workspace", ``resourceId`` the id), the problem
that file documents for a resource that does not exist.

Roles and editions, as airbyte-platform's public API checks them (``airbyte-server/.../publicapi/controllers/``
``SourcesController.kt``, ``DestinationsController.kt``, ``ConnectionsController.kt``; ``airbyte-commons-server/.../``
``authorization/RoleResolver.kt``): ``workspace_role`` is the caller's role in ``WORKSPACE_ID``. Listing and
``GET /connections/{id}`` need ``WORKSPACE_READER`` (``requireRole``: 403 ``ForbiddenProblem`` "Caller does not have
the required WORKSPACE_READER permissions to access the resource(s)."), ``PATCH`` an editor role
(``requireOneOfRoles``: "Caller does not have the required permissions to access the resource(s)."), ``POST`` an
editor role through Micronaut's ``@Secured``, whose rejection is a 403 with an empty body (Micronaut security's
``DefaultAuthorizationExceptionHandler``), off api-problems.yaml's contract and marked so. The role is resolved from
the workspace the request's ids lead to (``AuthenticationHeaderResolver.resolveWorkspace``); an id that leads nowhere
(a connection that does not exist, a workspace the caller has no permission in) gives no workspace role, so
``edition = "cloud"`` answers 403 before anything is looked up, while ``edition = "oss"`` (the default) plays a
self-managed instance admin, whose roles hold everywhere: the lookup runs and answers 404 (``ResourceNotFoundProblem``,
``resourceType`` ``STANDARD_SYNC`` for a connection: ``ConnectionServiceJooqImpl.getStandardSync``).

``refuse_configuration(kind, configuration)``, when it returns a message, makes ``POST``/``PATCH`` of a source or
destination answer as the server does when the connector's spec rejects a configuration
(``SourceHandler.validateSource``: ``JsonSchemaValidator.ensure`` throws "json schema validation failed when comparing
the data to the json schema. \nErrors: … \nSchema: …", which ``ConfigClientErrorHandler`` cuts before ``\nSchema:`` into
a 422 ``UnprocessableEntityProblem``). The public API never runs the connector's *check* on create or update
(``SourceService.createSource`` / ``partialUpdateSource`` call only the handler's spec validation): a wrong password
is stored and fails the first sync.

The problem bodies carry the fields of ``airbyte-api/problems-api/src/main/openapi/api-problems.yaml``
(``type``, ``title``, ``status``, ``detail`` with the schema's default, ``data``).
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import struct
import threading
import time
import typing as t
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ingest.airbyte import AirbyteSettings
from ingest.tables import SOURCE_TABLES

BASE_PATH = "/api/public/v1"
CLIENT_ID = "fake-client-id-4d1e"
CLIENT_SECRET = "fake-client-secret-SHOULD-NEVER-LEAK-91c2"
STATIC_TOKEN = "fake-static-token-SHOULD-NEVER-LEAK-5a7b"
CONNECTION_ID = "7b9a2c3e-1f0d-4c6e-9a51-0e4f2d8b6c11"
WORKSPACE_ID = "0c6f5a2e-3b1d-4e8f-a7c9-5d2e1f0a9b33"
SOURCE_ID = "1a2b3c4d-0000-4000-8000-00000000000a"
DESTINATION_ID = "1a2b3c4d-0000-4000-8000-00000000000b"


def connection_body(**overrides: t.Any) -> dict[str, t.Any]:
    body: dict[str, t.Any] = {
        "connectionId": CONNECTION_ID,
        "name": "dvdrental postgres -> databricks bronze",
        "sourceId": SOURCE_ID,
        "destinationId": DESTINATION_ID,
        "workspaceId": WORKSPACE_ID,
        "status": "active",
        "schedule": {"scheduleType": "manual"},
        "createdAt": 1714557600,
        "tags": [],
        "configurations": {
            "streams": [
                {"name": table.name, "syncMode": "full_refresh_overwrite", "namespace": "public"}
                for table in SOURCE_TABLES
            ]
        },
        "prefix": "raw_dvd_",
        "namespaceDefinition": "custom_format",
        "namespaceFormat": "bronze",
        "nonBreakingSchemaUpdatesBehavior": "ignore",
    }
    body.update(overrides)
    # A field set to None is one the server leaves out (api.yaml's ConnectionResponse has no nullable fields).
    return {key: value for key, value in body.items() if value is not None}


def destination_body(schema: str = "bronze") -> dict[str, t.Any]:
    return {
        "destinationId": DESTINATION_ID,
        "name": "Databricks lakehouse",
        "destinationType": "databricks",
        "definitionId": "072d5540-f236-4294-ba7c-ade8fd918496",
        "workspaceId": WORKSPACE_ID,
        "createdAt": 1714557600,
        "configuration": {
            "destinationType": "databricks",
            "hostname": "dbc-0000.cloud.databricks.com",
            "http_path": "/sql/1.0/warehouses/0000",
            "database": "main",
            "schema": schema,
            "authentication": {"auth_type": "BASIC", "personal_access_token": "**********"},
        },
    }


def job_body(job_id: int, status: str, **extra: t.Any) -> dict[str, t.Any]:
    body: dict[str, t.Any] = {
        "jobId": job_id,
        "status": status,
        "jobType": "sync",
        "startTime": "2024-05-01T10:00Z",  # no seconds: seen from real servers
        "connectionId": CONNECTION_ID,
    }
    body.update(extra)
    return body


def try_again_later_body(message: str) -> dict[str, t.Any]:
    return {
        "type": "https://reference.airbyte.com/reference/errors#try-again-later",
        "title": "try-again-later",
        "status": 409,
        "detail": "Please try again later.",
        "data": {"message": message},
    }


def state_conflict_body(message: str = "Could not fulfill request") -> dict[str, t.Any]:
    return {
        "type": "https://reference.airbyte.com/reference/errors#409-state-conflict",
        "title": "state-conflict",
        "status": 409,
        "detail": "State conflict",
        "data": {"message": message},
    }


# Error bodies: the problems of api-problems.yaml (../shared/airbyte/openapi/README.md says from where), with the
# constants (type, title, status, detail) that file documents for each; checked on every answer.


def invalid_api_key_body() -> dict[str, t.Any]:
    """InvalidApiKeyProblemResponse: a missing, wrong or expired token, or unknown client credentials."""
    return {
        "type": "https://reference.airbyte.com/reference/errors#invalid-api-key",
        "title": "invalid-api-key",
        "status": 401,
        "detail": "The API key in the Authorization header is invalid.",
    }


def resource_not_found_body(resource_type: str, resource_id: str) -> dict[str, t.Any]:
    """ResourceNotFoundProblemResponse, with ProblemResourceData naming what was looked for."""
    return {
        "type": "https://reference.airbyte.com/reference/errors#resource-not-found",
        "title": "resource-not-found",
        "status": 404,
        "detail": "The requested resource could not be found.",
        "data": {"resourceType": resource_type, "resourceId": resource_id},
    }


def forbidden_body(message: str) -> dict[str, t.Any]:
    """ForbiddenProblemResponse, with ProblemMessageData (what RoleResolver.requireRole throws)."""
    return {
        "type": "https://reference.airbyte.com/reference/errors#forbidden",
        "title": "forbidden",
        "status": 403,
        "detail": "The request is forbidden.",
        "data": {"message": message},
    }


def unprocessable_entity_body(errors: str) -> dict[str, t.Any]:
    """UnprocessableEntityProblemResponse for a configuration the connector's spec rejects: JsonSchemaValidator's
    message cut before its ``\nSchema:`` part, as ConfigClientErrorHandler sends it."""
    return {
        "type": "https://reference.airbyte.com/reference/errors#unprocessable-entity",
        "title": "unprocessable-entity",
        "status": 422,
        "detail": "The body of the request was not understood",
        "data": {
            "message": f"json schema validation failed when comparing the data to the json schema. \nErrors: {errors} "
        },
    }


READER_REFUSED = "Caller does not have the required WORKSPACE_READER permissions to access the resource(s)."
EDITOR_REFUSED = "Caller does not have the required permissions to access the resource(s)."
EDITOR_ROLES = {"WORKSPACE_EDITOR", "WORKSPACE_ADMIN"}


def bad_request_body(message: str) -> dict[str, t.Any]:
    """BadRequestProblemResponse, with ProblemMessageData."""
    return {
        "type": "https://reference.airbyte.com/reference/errors#bad-request",
        "title": "bad-request",
        "status": 400,
        "detail": "The request could not be understood by the server due to malformed syntax.",
        "data": {"message": message},
    }


def token_body(token: str, expires_in: int) -> dict[str, t.Any]:
    return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}


@dataclass
class Fault:
    """Answer the next matching request(s) with an error instead."""

    method: str
    path: str  # regex on the path below BASE_PATH
    status: int | None = None  # None with reset=True: drop the connection
    reset: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, t.Any] | None = None
    times: int = 1


@dataclass
class Job:
    job_id: int
    script: list[str]
    position: int = 0
    cancelled: bool = False
    visible_at: float = 0.0  # monotonic time from which GET /jobs lists it

    @property
    def status(self) -> str:
        return "cancelled" if self.cancelled else self.script[min(self.position, len(self.script) - 1)]

    def advance(self) -> None:
        self.position += 1


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float
    status: int | None = None  # what the fake answered (None: connection reset)
    answer: t.Any = None  # the JSON body it answered with
    injected: bool = False  # answered by a Fault (a proxy's page, a reset): off the contract on purpose


class FakeAirbyte:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Seen] = []
        self.connection = connection_body()
        self.destination = destination_body()
        self.connection_found = True
        self.jobs: dict[int, Job] = {}
        self.next_job_id = 4100
        # What a job created by POST /jobs will report on successive reads.
        self.job_script = ["pending", "running", "running", "running", "succeeded"]
        self.final_extra = {
            "rowsSynced": 48_211,
            "bytesSynced": 5_242_880,
            "duration": "PT2M5S",
            "lastUpdatedAt": "2024-05-01T10:02:05Z",
        }
        self.faults: list[Fault] = []
        self.token_lifetime = 900
        self.clock: t.Callable[[], float] = time.monotonic  # token expiry; a test may share the client's clock
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.accept_static_token = True
        self.reject_all_auth = False
        self.outside_base_path: list[str] = []  # requests that lost the base path
        self.accept_anonymous = False  # a self-managed server with authentication off
        self.post_jobs_delay = 0.0  # seconds POST /jobs takes before it answers (the server's wait)
        self.slow_job_id: float | None = None  # seconds until the job of a timed-out POST is listed
        self.stuck_workflow = False  # try-again-later with no job anywhere
        self.url = ""
        self._server: ThreadingHTTPServer | None = None
        # Every exchange is checked against Airbyte's OpenAPI description when the server stops
        # (tests/support/airbyte_openapi.py); a test that sends an off-contract body on purpose says so.
        self.check_contract = True
        # The set-up endpoints' workspace (see the module's docstring).
        self.workspaces = {WORKSPACE_ID}
        self.sources: dict[str, dict[str, t.Any]] = {}
        self.destinations: dict[str, dict[str, t.Any]] = {}
        self.setup_connections: dict[str, dict[str, t.Any]] = {}
        # Roles and refusals (see the module's docstring).
        self.edition = "oss"  # "cloud": an id that leads to no workspace is 403, not 404
        self.workspace_role: str | None = "WORKSPACE_EDITOR"  # None: no role; "WORKSPACE_READER": read only
        self.refuse_configuration: t.Callable[[str, dict[str, t.Any]], str | None] | None = None

    # -- scripting helpers --------------------------------------------------

    def add_job(self, script: list[str]) -> Job:
        with self.lock:
            job = Job(self.next_job_id, list(script))
            self.jobs[job.job_id] = job
            self.next_job_id += 1
            return job

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or re.fullmatch(path, r.path))
            ]

    # -- server -------------------------------------------------------------

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            airbyte = fake

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.handle_error = lambda request, client_address: None  # resets are on purpose
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}{BASE_PATH}"
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-airbyte", daemon=True
        ).start()

    def __enter__(self) -> FakeAirbyte:
        self.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.stop()
        if exc_type is None and self.check_contract:
            violations = self.contract_violations()
            assert not violations, "the fake Airbyte left its OpenAPI contract:\n" + "\n".join(violations)

    def contract_violations(self) -> list[str]:
        """Every request and answer of this server that api.yaml / api-problems.yaml do not allow."""
        from tests.support.airbyte_openapi import openapi

        spec = openapi()
        found: list[str] = []
        with self.lock:
            exchanges = [r for r in self.requests if not r.injected and r.status is not None]
        for r in exchanges:
            try:
                request = json.loads(r.body) if r.body else None
            except ValueError:
                request = r.body.decode(errors="replace")
            found += spec.check_request(r.method, r.path, request)
            found += spec.check_response(r.method, r.path, r.status, r.answer)
        return list(dict.fromkeys(found))

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- request handling (called under no lock) ------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes):
        """Return (status, json body or None, extra headers) or "reset"."""
        seen = Seen(method, path, query, headers, body, time.monotonic())
        with self.lock:
            self.requests.append(seen)
        result = self._answer(method, path, query, headers, body)
        seen.status = None if result == "reset" else result[0]
        if result != "reset":
            seen.answer = result[1]
            seen.injected = getattr(self, "_injected", None) is result
        return result

    def _answer(self, method, path, query, headers, body):
        with self.lock:
            for fault in self.faults:
                if fault.method == method and re.fullmatch(fault.path, path) and fault.times > 0:
                    fault.times -= 1
                    if fault.reset:
                        return "reset"
                    self._injected = (
                        fault.status,
                        fault.body or {"message": f"injected {fault.status}"},
                        fault.headers,
                    )
                    return self._injected

        if method == "POST" and path == "/applications/token":
            return self._token(headers, body)
        if not self._authorized(headers):
            return 401, invalid_api_key_body(), {}

        with self.lock:
            setup = self._setup(method, path, query, body)
            if setup is not None:
                return setup
            if method == "GET" and path == f"/connections/{CONNECTION_ID}" and self.connection_found:
                if self.workspace_role is None:
                    return 403, forbidden_body(READER_REFUSED), {}
                return 200, self.connection, {}
            if method == "GET" and path.startswith("/connections/"):
                return self._unknown_id("STANDARD_SYNC", path.rsplit("/", 1)[-1])
            if method == "GET" and path == f"/destinations/{DESTINATION_ID}":
                return 200, self.destination, {}
            if method == "GET" and path == "/jobs":
                if query.get("connectionId") != [CONNECTION_ID] or query.get("jobType") != ["sync"]:
                    return 400, bad_request_body(f"unexpected job filter {query}"), {}
                return 200, self._list_jobs(query), {}
        if method == "POST" and path == "/jobs":
            time.sleep(self.post_jobs_delay)  # outside the lock: other requests go on meanwhile
        with self.lock:
            if method == "POST" and path == "/jobs":
                return self._create_job(body)
            match = re.fullmatch(r"/jobs/(\d+)", path)
            if match and int(match.group(1)) in self.jobs:
                job = self.jobs[int(match.group(1))]
                if method == "GET":
                    job.advance()
                    return 200, self._job_json(job), {}
                if method == "DELETE":
                    job.cancelled = True
                    return 200, self._job_json(job), {}
            return 404, resource_not_found_body(path.split("/")[1].rstrip("s"), path.rsplit("/", 1)[-1]), {}

    # -- the set-up endpoints (called under the lock) ---------------------------------------------

    def _setup(self, method: str, path: str, query: dict[str, list[str]], body: bytes):
        """Answer a list, create or update of a source, destination or connection; None: not one of those."""
        match = re.fullmatch(r"/(sources|destinations|connections)(?:/([^/]+))?", path)
        if match is None or (method, match.group(2) is None) not in (("GET", True), ("POST", True), ("PATCH", False)):
            return None
        kind, resource_id = match.group(1), match.group(2)
        store = {"sources": self.sources, "destinations": self.destinations}.get(kind, self.setup_connections)
        if method == "GET":
            wanted = [w for value in query.get("workspaceIds", []) for w in value.split(",") if w]
            for workspace in wanted:
                if workspace not in self.workspaces:
                    if self.edition == "cloud":
                        return 403, forbidden_body(READER_REFUSED), {}
                    return 404, resource_not_found_body("workspace", workspace), {}
            if wanted and self.workspace_role is None:
                return 403, forbidden_body(READER_REFUSED), {}
            rows = [r for r in store.values() if not wanted or r["workspaceId"] in wanted]
            limit = int(query.get("limit", ["20"])[0])
            offset = int(query.get("offset", ["0"])[0])
            answer: dict[str, t.Any] = {"data": [_masked(kind, r) for r in rows[offset : offset + limit]]}
            if offset + limit < len(rows):
                answer["next"] = f"{self.url}/{kind}?limit={limit}&offset={offset + limit}"
            return 200, answer, {}
        request = json.loads(body or b"{}")
        if self.workspace_role not in EDITOR_ROLES:
            if method == "POST":  # @Secured: Micronaut's own rejection, an empty 403
                self._injected = (403, None, {})
                return self._injected
            return 403, forbidden_body(EDITOR_REFUSED), {}
        if method == "PATCH" and resource_id not in store:
            return self._unknown_id(kind.rstrip("s"), resource_id)
        if kind != "connections" and self.refuse_configuration is not None:
            configuration = request.get("configuration", {})
            if method == "PATCH":  # validated merged into what is stored (SourceHandler.validateSourceUpdate)
                configuration = _merged(store[resource_id].get("configuration"), configuration)
            refusal = self.refuse_configuration(kind.rstrip("s"), configuration)
            if refusal:
                return 422, unprocessable_entity_body(refusal), {}
        if method == "PATCH":
            current = store[resource_id]
            for key, value in request.items():
                current[key] = _merged(current.get(key), value) if key == "configuration" else value
            return 200, _masked(kind, current), {}
        if kind == "connections":
            return self._create_connection(request)
        workspace = request.get("workspaceId")
        if workspace not in self.workspaces:
            return 404, resource_not_found_body("workspace", str(workspace)), {}
        singular = kind.rstrip("s")
        type_field = f"{singular}Type"
        new_id = str(uuid.uuid4())
        store[new_id] = {
            f"{singular}Id": new_id,
            "name": request["name"],
            type_field: request["configuration"].get(type_field, "unknown"),
            "definitionId": str(uuid.uuid5(uuid.NAMESPACE_URL, request["configuration"].get(type_field, ""))),
            "workspaceId": workspace,
            "configuration": request["configuration"],
            "createdAt": 1714557600,
        }
        return 200, _masked(kind, store[new_id]), {}

    def _unknown_id(self, resource_type: str, resource_id: str):
        """An id that leads to no workspace: no role there on Cloud (403 first), a 404 for an instance admin."""
        if self.edition == "cloud":
            return 403, forbidden_body(READER_REFUSED if resource_type == "STANDARD_SYNC" else EDITOR_REFUSED), {}
        return 404, resource_not_found_body(resource_type, resource_id), {}

    def _create_connection(self, request: dict[str, t.Any]):
        source = self.sources.get(request.get("sourceId", ""))
        if source is None:
            return 404, resource_not_found_body("source", str(request.get("sourceId"))), {}
        if request.get("destinationId") not in self.destinations:
            return 404, resource_not_found_body("destination", str(request.get("destinationId"))), {}
        new_id = str(uuid.uuid4())
        body = {
            "connectionId": new_id,
            "name": request.get("name", "connection"),
            "sourceId": request["sourceId"],
            "destinationId": request["destinationId"],
            "workspaceId": source["workspaceId"],
            "status": request.get("status", "active"),
            "schedule": request.get("schedule", {"scheduleType": "manual"}),
            "configurations": request.get("configurations", {"streams": []}),
            "createdAt": 1714557600,
            "tags": [],
            "prefix": request.get("prefix", ""),
            "namespaceDefinition": request.get("namespaceDefinition", "destination"),
            "namespaceFormat": request.get("namespaceFormat"),
            "nonBreakingSchemaUpdatesBehavior": request.get("nonBreakingSchemaUpdatesBehavior", "ignore"),
        }
        self.setup_connections[new_id] = {k: v for k, v in body.items() if v is not None}
        return 200, self.setup_connections[new_id], {}

    def _job_json(self, job: Job) -> dict[str, t.Any]:
        extra = self.final_extra if job.status in ("succeeded", "failed") else {}
        return job_body(job.job_id, job.status, **extra)

    def _list_jobs(self, query: dict[str, list[str]]) -> dict[str, t.Any]:
        wanted_status = query.get("status", [None])[0]
        now = time.monotonic()
        rows = [
            self._job_json(job)
            for job in self.jobs.values()
            if (wanted_status is None or job.status == wanted_status) and job.visible_at <= now
        ]
        return {"data": rows}

    def _create_job(self, body: bytes):
        request = json.loads(body or b"{}")
        if request != {"connectionId": CONNECTION_ID, "jobType": "sync"}:
            return 400, bad_request_body(f"unexpected job request {request}"), {}
        if self.connection.get("status") != "active":
            return 409, state_conflict_body(), {}
        running = any(job.status in ("pending", "queued", "running", "incomplete") for job in self.jobs.values())
        if running or self.stuck_workflow:
            return 409, try_again_later_body("A sync is already running for: " + CONNECTION_ID), {}
        job = Job(self.next_job_id, list(self.job_script))
        self.jobs[job.job_id] = job
        self.next_job_id += 1
        if self.slow_job_id is not None:
            job.visible_at = time.monotonic() + self.slow_job_id
            return 409, state_conflict_body(), {}
        return 200, self._job_json(job), {}

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.reject_all_auth:
            return False
        if self.accept_anonymous and "authorization" not in headers:
            return True
        value = headers.get("authorization", "")
        if not value.startswith("Bearer "):
            return False
        token = value[len("Bearer ") :]
        with self.lock:
            if self.accept_static_token and token == STATIC_TOKEN:
                return True
            expiry = self.tokens.get(token)
        return expiry is not None and self.clock() < expiry

    def _token(self, headers: dict[str, str], body: bytes):
        if not headers.get("content-type", "").startswith("application/json"):
            return 400, bad_request_body("token request must be JSON"), {}
        try:
            request = json.loads(body)
        except ValueError:
            return 400, bad_request_body("bad json"), {}
        if request.get("grant-type") != "client_credentials":
            return 400, bad_request_body("grant-type must be client_credentials"), {}
        if request.get("client_id") != CLIENT_ID or request.get("client_secret") != CLIENT_SECRET:
            return 401, invalid_api_key_body(), {}
        token = "tok-" + secrets.token_hex(12)
        with self.lock:
            self.tokens[token] = self.clock() + self.token_lifetime
        return 200, token_body(token, self.token_lifetime), {}


# Configuration fields Airbyte answers masked (airbyte_secret in the connector specs).
_SECRET_FIELDS = {"sources": (("password",),), "destinations": (("authentication", "personal_access_token"),)}
MASK = "**********"


def _masked(kind: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
    answer = json.loads(json.dumps(body))
    for path in _SECRET_FIELDS.get(kind, ()):
        node = answer.get("configuration", {})
        for part in path[:-1]:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = MASK
    return answer


def _merged(current: t.Any, patch: t.Any) -> t.Any:
    if isinstance(current, dict) and isinstance(patch, dict):
        return {**current, **{k: _merged(current.get(k), v) for k, v in patch.items()}}
    return patch


class _Handler(BaseHTTPRequestHandler):
    airbyte: FakeAirbyte
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: t.Any) -> None:  # keep test output clean
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle plus
        # delayed ACKs add ~40 ms to every request and slow the suite 10x.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if not url.path.startswith(BASE_PATH + "/"):
            self.airbyte.outside_base_path.append(url.path)
            self._send(404, {"message": f"not under {BASE_PATH}: {url.path}"}, {})
            return
        result = self.airbyte.handle(self.command, url.path[len(BASE_PATH) :], parse_qs(url.query), headers, body)
        if result == "reset":
            # RST instead of FIN: the client sees "connection reset by peer".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        status, payload, extra = result
        self._send(status, payload, extra)

    def _send(self, status: int, payload: t.Any, extra: dict[str, str]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass

    do_GET = do_POST = do_DELETE = do_PATCH = _serve


# -- settings that point the real client at a fake -------------------------------------------


def make_settings(fake: FakeAirbyte, **overrides: t.Any) -> AirbyteSettings:
    values: dict[str, t.Any] = dict(
        connection_id=CONNECTION_ID,
        api_url=fake.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        poll_interval_seconds=0.01,
        poll_timeout_seconds=10.0,
        request_timeout_seconds=2.0,
        max_retries=3,
        retry_backoff_seconds=0.01,
    )
    values.update(overrides)
    return AirbyteSettings(**values)


def airbyte_env(fake: FakeAirbyte, **overrides: str) -> dict[str, str]:
    """The same settings as environment variables, for subprocess tests."""
    env = {
        "AIRBYTE_API_URL": fake.url,
        "AIRBYTE_CONNECTION_ID": CONNECTION_ID,
        "AIRBYTE_CLIENT_ID": CLIENT_ID,
        "AIRBYTE_CLIENT_SECRET": CLIENT_SECRET,
        "AIRBYTE_POLL_INTERVAL_SECONDS": "0.01",
        "AIRBYTE_TIMEOUT_SECONDS": "30",
        "AIRBYTE_REQUEST_TIMEOUT_SECONDS": "2",
        "AIRBYTE_MAX_RETRIES": "3",
        "AIRBYTE_RETRY_BACKOFF_SECONDS": "0.01",
    }
    env.update(overrides)
    return env
