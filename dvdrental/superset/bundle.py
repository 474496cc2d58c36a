"""The Superset/Preset asset bundle: ``dashboards/bundle/``, rendered for where it goes.

The repository holds the database, dataset, charts and dashboard in Superset's import format
(v1 YAML) as a directory Preset's own CLI syncs: ``preset-cli superset sync native
dashboards/bundle --load-env`` renders each file as Jinja with the environment as ``env``.
Two files depend on the target: ``databases/dvdrental_warehouse.yaml`` (Databricks from the
``DATABRICKS_*`` settings, or the local DuckDB file from ``DVD_DASHBOARD_DATABASE_URI``) and the
dataset's catalog. This module renders the same files the same way for a :class:`Target`
whose ``env`` holds only those names, never the process environment: the zip
``dvdrental superset export-bundle`` writes for Preset's importer holds Superset's password mask
where the token goes (the importer asks for it), and ``dvdrental superset serve`` imports the
local one. Each chart's ``query_context`` is committed beside its params
(tests/app/superset/test_bundle.py keeps it equal to :mod:`dvdrental.superset.query_context`).

The zip has one root folder, as Superset's own export writes it, which
``superset import-dashboards``, ``/api/v1/dashboard/import/`` and Preset's importer read.
"""

from __future__ import annotations

import io
import logging
import typing as t
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import yaml

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
# Set: the bundle reads this DuckDB (or any SQLAlchemy) URI instead of Databricks.
LOCAL_URI = "DVD_DASHBOARD_DATABASE_URI"


@dataclass(frozen=True)
class Target:
    """Where the dataset lives: the names the bundle's Jinja reads as ``env``."""

    name: str
    env: dict[str, str] = field(default_factory=dict)


def local_target(warehouse: Path) -> Target:
    """The local DuckDB warehouse, read-only (the pipeline keeps its write lock)."""
    # Superset opens a new engine per query without pooling (Database.get_sqla_engine's
    # nullpool=True), so no connection outlives a chart; read_only makes each one a reader.
    return Target(name="local", env={LOCAL_URI: f"duckdb:///{Path(warehouse).resolve()}"})


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
    env = {name: str(settings.optional(name)) for name in names}
    host = env["DATABRICKS_SERVER_HOSTNAME"]
    if "/" in host or ":" in host:
        raise ConfigError(f"DATABRICKS_SERVER_HOSTNAME={host}: give the host name only, without scheme or port.")
    return Target(name="databricks", env={**env, "DATABRICKS_TOKEN": PASSWORD_MASK})


def _refuse(message: str) -> t.NoReturn:
    """The bundle's ``raise(...)``, as preset-cli provides it: here one line naming the setting."""
    raise ConfigError(message)


def render(path: Path, env: dict[str, str]) -> dict:
    """One bundle file rendered as ``preset-cli superset sync native`` renders it, with ``env``."""
    text = jinja2.Template(path.read_text(), undefined=jinja2.StrictUndefined).render(env=env, **{"raise": _refuse})
    return yaml.safe_load(text)


def bundle_files(target: Target) -> dict[str, dict]:
    """Every file of the bundle (path inside the bundle -> its YAML content) for ``target``."""
    files: dict[str, dict] = {}
    for path in sorted(BUNDLE_DIR.rglob("*.yaml")):
        name = path.relative_to(BUNDLE_DIR).as_posix()
        if name.startswith("datasets/"):  # Superset's export keeps datasets under their database's folder
            name = f"datasets/dvdrental_warehouse/{path.name}"
        files[name] = render(path, target.env)
    return files


def write_bundle(target: Target, output: Path, assets: bool = False) -> Path:
    """Write the bundle for ``target`` as a zip at ``output``; returns the path.

    ``assets``: typed as an assets bundle (metadata ``type: assets``), the form
    ``/api/v1/assets/import/`` reads and overwrites everything from; otherwise a dashboard export,
    the form the UI's and Preset's dashboard importers read."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    files = bundle_files(target)
    if assets:
        files["metadata.yaml"] = {**files["metadata.yaml"], "type": "assets"}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{BUNDLE_ROOT}/{name}", yaml.safe_dump(content, sort_keys=False, allow_unicode=True))
    output.write_bytes(buffer.getvalue())
    logger.info("Superset bundle for %s written: %s", target.name, output)
    return output
