"""The Superset/Preset asset bundle: ``dashboards/bundle/`` plus the database it points at.

The repository holds the dataset, charts and dashboard as Superset's import format (v1 YAML).
Two things depend on where the bundle goes, so they are filled in when it is built:

- ``databases/dvdrental_warehouse.yaml``: the local DuckDB file (opened read-only: Superset
  must never hold the one-writer lock `dvdrental daily` needs) or Databricks (host, HTTP path
  and catalog from the ``DATABRICKS_*`` settings the gateway uses; the token is Superset's
  password mask, so the zip holds no secret and the importer asks for it);
- each chart's ``query_context``, which Superset's frontend writes when a chart is saved and
  ``/api/v1/chart/{id}/data`` runs (:mod:`dvdrental.superset.query_context` builds it from the
  chart's params the way the frontend does).

The result is a zip with one root folder, as Superset's own export writes it, which
``superset import-dashboards``, ``/api/v1/dashboard/import/`` and Preset's importer read.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import yaml

from dvdrental.superset.query_context import query_context
from foundation import settings
from foundation.errors import ConfigError
from foundation.paths import PROJECT_ROOT

logger = logging.getLogger(__name__)

BUNDLE_DIR = PROJECT_ROOT / "dashboards" / "bundle"
BUNDLE_ROOT = "dvdrental_dashboard"  # the zip's one top-level folder
DATABASE_UUID = "c3c150c8-bc7b-4bf4-ba27-985dceaf28d9"
DATABASE_NAME = "DVD rental warehouse"
DATABASE_FILE = "databases/dvdrental_warehouse.yaml"
DASHBOARD_SLUG = "dvd-rentals"
# What Superset writes instead of a password in an export, and what makes its importer ask
# for one (superset/constants.py PASSWORD_MASK; ImportV1DatabaseSchema.validate_password).
PASSWORD_MASK = "X" * 10
GOLD_SCHEMA = "gold"


@dataclass(frozen=True)
class Target:
    """Where the dataset lives: the database definition and the dataset's catalog."""

    name: str
    sqlalchemy_uri: str
    catalog: str | None = None
    engine_params: dict = field(default_factory=dict)


def local_target(warehouse: Path) -> Target:
    """The local DuckDB warehouse, read-only (the pipeline keeps its write lock)."""
    # Superset opens a new engine per query without pooling (Database.get_sqla_engine's
    # nullpool=True), so no connection outlives a chart; read_only makes each one a reader.
    return Target(
        name="local",
        sqlalchemy_uri=f"duckdb:///{Path(warehouse).resolve()}",
        engine_params={"connect_args": {"read_only": True}},
    )


def databricks_target() -> Target:
    """Databricks from the gateway's settings; the token stays out (Superset's password mask)."""
    names = ("DATABRICKS_SERVER_HOSTNAME", "DATABRICKS_HTTP_PATH", "DATABRICKS_CATALOG")
    missing = [name for name in names if settings.optional(name) is None]
    if missing:
        raise ConfigError(
            f"The Databricks bundle needs {', '.join(missing)} (the workspace, SQL warehouse and catalog the "
            f"dashboard reads; the same settings as the databricks gateway, docs/databricks.md): set them in the "
            f"environment or in .env."
        )
    host, http_path, catalog = (settings.optional(name) for name in names)
    if host and ("/" in host or ":" in host):
        raise ConfigError(f"DATABRICKS_SERVER_HOSTNAME={host}: give the host name only, without scheme or port.")
    query = urlencode({"http_path": http_path, "catalog": catalog, "schema": GOLD_SCHEMA}, quote_via=quote)
    return Target(
        name="databricks",
        sqlalchemy_uri=f"databricks://token:{PASSWORD_MASK}@{host}:443?{query}",
        catalog=catalog,
    )


def database_config(target: Target) -> dict:
    """``databases/dvdrental_warehouse.yaml`` for ``target`` (ImportV1DatabaseSchema's fields)."""
    return {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": target.sqlalchemy_uri,
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {
            "engine_params": target.engine_params,
            "metadata_params": {},
            "metadata_cache_timeout": {},
            "schemas_allowed_for_file_upload": [],
        },
        "uuid": DATABASE_UUID,
        "version": "1.0.0",
    }


def bundle_files(target: Target) -> dict[str, dict]:
    """Every file of the bundle (path inside the bundle -> its YAML content) for ``target``."""
    files: dict[str, dict] = {}
    for path in sorted(BUNDLE_DIR.rglob("*.yaml")):
        files[path.relative_to(BUNDLE_DIR).as_posix()] = yaml.safe_load(path.read_text())
    files[DATABASE_FILE] = database_config(target)
    datasets = [name for name in files if name.startswith("datasets/")]
    for name in datasets:
        dataset = files.pop(name)
        dataset["catalog"] = target.catalog
        dataset["database_uuid"] = DATABASE_UUID
        # Superset's export keeps datasets under a folder named after their database.
        files[f"datasets/dvdrental_warehouse/{Path(name).name}"] = dataset
    for name, chart in files.items():
        if name.startswith("charts/"):
            chart["query_context"] = json.dumps(query_context(chart["params"]))
    return files


def write_bundle(target: Target, output: Path) -> Path:
    """Write the bundle for ``target`` as a zip at ``output``; returns the path."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in bundle_files(target).items():
            archive.writestr(f"{BUNDLE_ROOT}/{name}", yaml.safe_dump(content, sort_keys=False, allow_unicode=True))
    output.write_bytes(buffer.getvalue())
    logger.info("Superset bundle for %s written: %s", target.name, output)
    return output
