"""The Airbyte set-up the models need, described once: the source, the destination, the connection.

``dvdrental airbyte plan`` compares this with what the workspace holds and ``apply`` makes the
workspace match it (:mod:`.reconcile`). Everything a team may differ in (hosts, names of the
database and catalog, credentials) comes from environment variables, read through
:mod:`foundation.settings`; a missing one is a one-line :class:`~foundation.errors.MissingSettingError`
naming it. Everything the models depend on (the 11 streams of :data:`ingest.tables.SOURCE_TABLES`,
full refresh | overwrite, the ``raw_dvd_`` prefix, the ``bronze`` namespace) is fixed here.

The configurations are plain JSON in the shape of the connector specifications Airbyte's public API
takes (``sourceType: postgres``, ``destinationType: databricks``; the ``source-postgres`` and
``destination-databricks`` schemas of api_sdk.yaml). Fields marked :data:`SECRET` are masked by
Airbyte in every answer, so they are never compared, and sent only when a resource is created.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from foundation import settings as env
from foundation.errors import ConfigError
from ingest.tables import BRONZE_PREFIX, BRONZE_SCHEMA, SOURCE_SCHEMA, SOURCE_TABLES

SOURCE_NAME = "dvdrental postgres"
DESTINATION_NAME = "dvdrental databricks bronze"
CONNECTION_NAME = "dvdrental postgres -> databricks bronze"
SYNC_MODE = "full_refresh_overwrite"

# Paths (dot-separated, inside ``configuration``) whose values Airbyte masks: never compared, sent on create.
SOURCE_SECRETS = ("password",)
DESTINATION_SECRETS = ("authentication.personal_access_token",)


@dataclass(frozen=True)
class DesiredResource:
    """One source or destination: its name (how it is found) and its configuration."""

    kind: str  # "source" or "destination"
    name: str
    configuration: dict[str, t.Any]
    secret_paths: tuple[str, ...]
    # The configuration fields compared with Airbyte's (dot-separated paths): the ones we set,
    # minus the secrets.
    compared: tuple[str, ...] = ()
    # Which environment variable each configuration field comes from, so that Airbyte's refusal of a
    # field (``$.port: …``) can name the setting to fix.
    settings: dict[str, str] = field(default_factory=dict)

    def settings_named_in(self, message: str) -> list[str]:
        """The settings behind the fields a validation message names (``$.a.b``), else all of them."""
        named = []
        for path in re.findall(r"\$\.([A-Za-z0-9_.]+)", message):
            parts = path.rstrip(".").split(".")
            for end in range(len(parts), 0, -1):
                setting = self.settings.get(".".join(parts[:end]))
                if setting:
                    named.append(setting)
                    break
        return list(dict.fromkeys(named)) or sorted(set(self.settings.values()))

    def without_secrets(self) -> dict[str, t.Any]:
        config = _deep_copy(self.configuration)
        for path in self.secret_paths:
            *parents, leaf = path.split(".")
            node = config
            for part in parents:
                node = node.get(part, {})
            node.pop(leaf, None)
        return config


@dataclass(frozen=True)
class DesiredConnection:
    name: str
    streams: tuple[str, ...]
    sync_mode: str = SYNC_MODE
    prefix: str = BRONZE_PREFIX
    namespace_definition: str = "custom_format"
    namespace_format: str = BRONZE_SCHEMA
    schedule_type: str = "manual"
    status: str = "active"
    non_breaking_schema_updates_behavior: str = "ignore"

    def fields(self) -> dict[str, t.Any]:
        """The connection's compared fields, named as in the API (ConnectionResponse)."""
        return {
            "status": self.status,
            "schedule.scheduleType": self.schedule_type,
            "prefix": self.prefix,
            "namespaceDefinition": self.namespace_definition,
            "namespaceFormat": self.namespace_format,
            "nonBreakingSchemaUpdatesBehavior": self.non_breaking_schema_updates_behavior,
        }

    def configurations(self) -> dict[str, t.Any]:
        return {
            "streams": [{"name": name, "syncMode": self.sync_mode, "namespace": SOURCE_SCHEMA} for name in self.streams]
        }


@dataclass(frozen=True)
class DesiredSetup:
    workspace_id: str
    source: DesiredResource
    destination: DesiredResource
    connection: DesiredConnection
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls) -> DesiredSetup:
        """Read the settings; the first missing one raises, naming it, before any network call."""
        workspace_id = env.required("AIRBYTE_WORKSPACE_ID", "the Airbyte workspace that holds the set-up")
        host = env.required("AIRBYTE_SOURCE_HOST", "the PostgreSQL host Airbyte reads the dvdrental tables from")
        port = _port(env.optional("AIRBYTE_SOURCE_PORT", "5432") or "5432")
        database = env.required("AIRBYTE_SOURCE_DATABASE", "the PostgreSQL database Airbyte reads")
        user = env.required("AIRBYTE_SOURCE_USER", "the PostgreSQL user Airbyte reads as")
        password = env.required("AIRBYTE_SOURCE_PASSWORD", "the password of AIRBYTE_SOURCE_USER")
        hostname = env.required("DATABRICKS_SERVER_HOSTNAME", "the Databricks workspace host Airbyte writes to")
        http_path = env.required("DATABRICKS_HTTP_PATH", "the SQL warehouse Airbyte writes through")
        catalog = env.required("DATABRICKS_CATALOG", "the Unity Catalog catalog that holds bronze")
        token = env.required("DATABRICKS_TOKEN", "the token Airbyte's Databricks destination writes with")
        source = DesiredResource(
            kind="source",
            name=SOURCE_NAME,
            configuration={
                "sourceType": "postgres",
                "host": host,
                "port": port,
                "database": database,
                "schemas": [SOURCE_SCHEMA],
                "username": user,
                "password": password,
                "ssl_mode": {"mode": "prefer"},
                "replication_method": {"method": "Standard"},
                "tunnel_method": {"tunnel_method": "NO_TUNNEL"},
            },
            secret_paths=SOURCE_SECRETS,
            compared=("host", "port", "database", "schemas", "username", "replication_method.method"),
            settings={
                "host": "AIRBYTE_SOURCE_HOST",
                "port": "AIRBYTE_SOURCE_PORT",
                "database": "AIRBYTE_SOURCE_DATABASE",
                "username": "AIRBYTE_SOURCE_USER",
                "password": "AIRBYTE_SOURCE_PASSWORD",
            },
        )
        destination = DesiredResource(
            kind="destination",
            name=DESTINATION_NAME,
            configuration={
                "destinationType": "databricks",
                "accept_terms": True,
                "hostname": hostname,
                "http_path": http_path,
                "database": catalog,
                "schema": BRONZE_SCHEMA,
                "authentication": {"auth_type": "BASIC", "personal_access_token": token},
            },
            secret_paths=DESTINATION_SECRETS,
            compared=("hostname", "http_path", "database", "schema", "authentication.auth_type"),
            settings={
                "hostname": "DATABRICKS_SERVER_HOSTNAME",
                "http_path": "DATABRICKS_HTTP_PATH",
                "database": "DATABRICKS_CATALOG",
                "authentication.personal_access_token": "DATABRICKS_TOKEN",
            },
        )
        connection = DesiredConnection(name=CONNECTION_NAME, streams=tuple(table.name for table in SOURCE_TABLES))
        return cls(workspace_id, source, destination, connection, secrets=(password, token))


def lookup(config: t.Any, path: str) -> t.Any:
    """The value at a dot-separated path, or None where any step is missing."""
    node = config
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"AIRBYTE_SOURCE_PORT={raw!r} is not a port number.") from None
    if not 0 < port < 65536:
        raise ConfigError(f"AIRBYTE_SOURCE_PORT={raw} is not a port number.")
    return port


def _deep_copy(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
