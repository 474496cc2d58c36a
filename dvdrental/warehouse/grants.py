"""The Unity Catalog grants the pipeline's three principals need, written from the settings.

An admin runs these once (``dvdrental databricks grants`` prints them); open-source Spark cannot run
``GRANT``, so :func:`uncovered` checks them instead against what the pipeline actually sends: every
schema a statement creates, writes or reads must be covered by a grant or owned by the principal
(Unity Catalog makes the creator of a schema its owner, with every right inside it, DROP included:
that is how SQLMesh's janitor may drop the ``silver__pr_123`` schemas it created).

The least each needs, and why:

* **Airbyte's writer** (the Databricks destination): ``USE CATALOG``; on ``bronze``, which the admin
  creates once: ``USE SCHEMA``, ``CREATE TABLE`` and ``MODIFY`` (Full refresh | Overwrite replaces
  ``raw_dvd_*``), ``SELECT`` (it reads back what it wrote when it types and checks), ``CREATE VOLUME``,
  ``READ VOLUME``, ``WRITE VOLUME`` (each load is staged through a volume ``<table>_staging`` it
  creates and loaded with ``COPY INTO``; destination-databricks ``DatabricksSqlGenerator.kt``).
* **SQLMesh's service principal** (CI, the scheduler): ``USE CATALOG`` and ``CREATE SCHEMA`` on the
  catalog (it creates ``staging``, ``silver``, ``gold``, the physical ``sqlmesh__*`` schemas and one
  set per environment, and owns them); ``USE SCHEMA`` and ``SELECT`` on ``bronze`` (staging reads it;
  the freshness audit too). Nothing on Airbyte's tables beyond reading.
* **The dashboard's reader** (Preset's connection): ``USE CATALOG``; ``USE SCHEMA`` and ``SELECT`` on
  ``gold`` only. Gold's objects are views over ``sqlmesh__gold``; Unity Catalog evaluates a view with
  its owner's rights, so the reader needs nothing on the physical schema. ``gold`` exists after the
  first ``sqlmesh plan``: its grant comes last.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass

from foundation.settings import required

logger = logging.getLogger(__name__)

CATALOG_ENV = "DATABRICKS_CATALOG"
AIRBYTE_PRINCIPAL_ENV = "DVD_GRANT_AIRBYTE_PRINCIPAL"
SQLMESH_PRINCIPAL_ENV = "DVD_GRANT_SQLMESH_PRINCIPAL"
READER_PRINCIPAL_ENV = "DVD_GRANT_READER_PRINCIPAL"
BRONZE, GOLD = "bronze", "gold"

# What a principal does to a schema, and the privileges that allow it (on the schema, or inherited
# from the catalog). Ownership allows everything.
ACTIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"USE SCHEMA", "SELECT"}),
    "write": frozenset({"USE SCHEMA", "CREATE TABLE", "MODIFY"}),
}


@dataclass(frozen=True)
class Principals:
    airbyte: str
    sqlmesh: str
    reader: str

    @classmethod
    def from_settings(cls) -> Principals:
        return cls(
            airbyte=required(AIRBYTE_PRINCIPAL_ENV, "the principal Airbyte's Databricks destination writes bronze as"),
            sqlmesh=required(SQLMESH_PRINCIPAL_ENV, "the service principal SQLMesh runs as (CI, scheduler)"),
            reader=required(READER_PRINCIPAL_ENV, "the principal the dashboard (Preset) reads gold as"),
        )


@dataclass(frozen=True)
class Grant:
    principal: str
    privileges: tuple[str, ...]
    schema: str | None  # None: on the catalog
    why: str

    def sql(self, catalog: str) -> str:
        on = f"CATALOG {_q(catalog)}" if self.schema is None else f"SCHEMA {_q(catalog)}.{_q(self.schema)}"
        return f"-- {self.why}\nGRANT {', '.join(self.privileges)} ON {on} TO {_q(self.principal)};"


def grants_for(principals: Principals) -> list[Grant]:
    """Every grant, in the order an admin runs them (the reader's last: gold exists after the first plan)."""
    return [
        Grant(principals.airbyte, ("USE CATALOG",), None, "Airbyte's writer: reach the catalog"),
        Grant(
            principals.airbyte,
            ("USE SCHEMA", "CREATE TABLE", "MODIFY", "SELECT", "CREATE VOLUME", "READ VOLUME", "WRITE VOLUME"),
            BRONZE,
            "Airbyte's writer: replace bronze.raw_dvd_* on every full refresh, staged through a volume "
            "<table>_staging it creates and loaded with COPY INTO (DatabricksSqlGenerator.kt)",
        ),
        Grant(
            principals.sqlmesh,
            ("USE CATALOG", "CREATE SCHEMA"),
            None,
            "SQLMesh: create (and so own, write and drop) staging, silver, gold, sqlmesh__* and every "
            "environment's schemas (silver__pr_123, ...)",
        ),
        Grant(principals.sqlmesh, ("USE SCHEMA", "SELECT"), BRONZE, "SQLMesh: read bronze (staging, the freshness audit)"),
        Grant(principals.reader, ("USE CATALOG",), None, "The dashboard's reader: reach the catalog"),
        Grant(
            principals.reader,
            ("USE SCHEMA", "SELECT"),
            GOLD,
            "The dashboard's reader: read gold's views (run after the first sqlmesh plan, which creates gold; "
            "the views read sqlmesh__gold with their owner's rights)",
        ),
    ]


def grant_script(principals: Principals, catalog: str) -> str:
    """The SQL an admin runs: bronze created once, then every grant with the reason above it."""
    lines = [
        f"-- Unity Catalog grants for the dvdrental pipeline on catalog {catalog} (dvdrental databricks grants).",
        "-- Run as a metastore or catalog admin; rerunning is harmless (GRANT is idempotent).",
        "-- Airbyte writes into bronze, which the admin creates (so Airbyte needs no CREATE SCHEMA):",
        f"CREATE SCHEMA IF NOT EXISTS {_q(catalog)}.{_q(BRONZE)};",
    ]
    lines += [grant.sql(catalog) for grant in grants_for(principals)]
    return "\n".join(lines) + "\n"


def allows(grants: t.Iterable[Grant], principal: str, action: str, schema: str, owned: t.Container[str]) -> bool:
    """Whether ``principal`` may ``action`` (read/write/create_schema) ``schema`` by these grants or ownership."""
    mine = [g for g in grants if g.principal == principal]
    if action == "create_schema":
        return any(g.schema is None and "CREATE SCHEMA" in g.privileges for g in mine)
    if schema in owned:
        return True
    held = {p for g in mine if g.schema in (None, schema) for p in g.privileges}
    return "USE CATALOG" in held and ACTIONS[action] <= held


def uncovered(statements: t.Iterable[str], grants: t.Sequence[Grant], principal: str) -> list[str]:
    """Every (statement, what it needs) the grants do not cover, for statements ``principal`` sends.

    Each statement is parsed (Databricks SQL): ``CREATE SCHEMA`` needs the catalog's CREATE SCHEMA and
    makes the principal the schema's owner; the table a statement creates, changes or drops is a
    write to its schema; every other table it names is a read. Unity Catalog's
    ``system.information_schema`` is readable by everyone (filtered by privileges): skipped.
    """
    from sqlglot import exp, parse_one

    owned: set[str] = set()
    missing: list[str] = []
    for sql in statements:
        try:
            tree = parse_one(sql, dialect="databricks")
        except Exception:  # a statement sqlglot cannot parse names no table we could check
            logger.debug("not parsed: %s", sql[:80])
            continue
        if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "SCHEMA":
            schema = tree.this.db if isinstance(tree.this, exp.Table) and tree.this.db else tree.this.name
            if not allows(grants, principal, "create_schema", schema, owned):
                missing.append(f"{sql.strip()[:120]} (needs CREATE SCHEMA on the catalog)")
            owned.add(schema)
            continue
        written = _written_table(tree)
        for table in tree.find_all(exp.Table):
            if not table.db or table.db.lower() == "information_schema":
                continue
            action = "write" if written is not None and table is written else "read"
            if not allows(grants, principal, action, table.db, owned):
                missing.append(f"{sql.strip()[:120]} (needs {action} on schema {table.db})")
    return missing


def _written_table(tree: t.Any) -> t.Any:
    from sqlglot import exp

    kinds = (exp.Create, exp.Insert, exp.Merge, exp.Delete, exp.Drop, exp.Update, exp.Alter, exp.Comment)
    if isinstance(tree, kinds):
        target = tree.this
        if isinstance(target, exp.Schema):  # CREATE TABLE t (columns)
            target = target.this
        return target if isinstance(target, exp.Table) else target.find(exp.Table) if target else None
    return None


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
