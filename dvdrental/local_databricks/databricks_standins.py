"""SQLMesh's Databricks adapter on local open-source Spark: what Databricks has and Spark lacks.

Production runs the models through SQLMesh's ``DatabricksEngineAdapter``. In a Databricks job
that adapter sends its SQL to the job's active ``SparkSession`` (no SQL connector); this module
puts it in that position on a local Spark 3.5, so that every statement production issues
(``INSERT INTO ... REPLACE WHERE``, ``MERGE INTO``, ``DELETE FROM``, comments, the databricks
dialect) runs on a real Spark engine. Four statements exist on Databricks only; each has one
named, minimal stand-in, applied at the cursor (the last step before ``spark.sql``):

``use_catalog``
    ``USE CATALOG x`` (Unity Catalog SQL; the adapter's session start) -> ``SET CATALOG x``.
``information_schema``
    ``system.information_schema.tables`` / ``.columns`` (Unity Catalog's system catalog; the
    adapter's table and column lookups) -> the same query over a CTE of those columns, filled
    from ``SHOW TABLES`` / ``SHOW VIEWS`` / ``DESCRIBE TABLE`` (what the spark adapter asks).
``shallow_clone``
    ``CREATE TABLE t SHALLOW CLONE s`` (Delta; dev tables of forward-only changes) ->
    ``CREATE TABLE t PARTITIONED BY (<s's partitions>) AS SELECT * FROM s``: a copy, not a
    clone sharing files, with the partitioning REPLACE WHERE needs on Iceberg.
``qualify``
    ``QUALIFY`` (Databricks SQL, kept by sqlglot's databricks dialect) -> sqlglot's
    ``eliminate_qualify``, what its spark dialect does (a subquery filtered on the window).

Nothing else is rewritten. Every statement, replaced or not, goes to a :class:`StatementLog`.
``tests/app/local_databricks/test_spark_gateway.py`` checks that each stand-in fired and that the statement it
replaces still fails on this Spark: a Spark that accepts one makes its stand-in removable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import threading
import time
import typing as t
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

if t.TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from sqlglot import exp

logger = logging.getLogger(__name__)

DIALECT = "databricks"

_LEADING_COMMENTS = re.compile(r"^\s*(/\*.*?\*/\s*)*", re.S)
_USE_CATALOG = re.compile(r"USE\s+CATALOG\s+(?P<catalog>\S+)\s*;?\s*$", re.I | re.S)
_INFORMATION_SCHEMA = re.compile(r"`?system`?\s*\.\s*`?information_schema`?\s*\.\s*`?(tables|columns)\b", re.I)
_SHALLOW_CLONE = re.compile(r"\bSHALLOW\s+CLONE\b", re.I)
_QUALIFY = re.compile(r"\bQUALIFY\b", re.I)

# The columns of Unity Catalog's system.information_schema views the adapter reads.
_TABLES_COLUMNS = ("table_catalog", "table_schema", "table_name", "table_type")
_COLUMNS_COLUMNS = ("table_catalog", "table_schema", "table_name", "column_name", "full_data_type", "ordinal_position")


@dataclass(frozen=True)
class Statement:
    sql: str  # what SQLMesh sent
    sent: str  # what Spark ran (== sql unless a stand-in replaced it)
    stand_in: str | None = None  # the stand-in's name
    probes: tuple[str, ...] = ()  # what the stand-in asked Spark to build ``sent``
    seconds: float = 0.0  # in spark.sql (commands run there; a query's rows are fetched later)


@dataclass
class StatementLog:
    """Every statement the Databricks adapter sent to Spark, in order."""

    statements: list[Statement] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, statement: Statement) -> None:
        with self._lock:
            self.statements.append(statement)

    def fired(self, stand_in: str) -> list[Statement]:
        return [s for s in self.statements if s.stand_in == stand_in]

    def counts(self) -> Counter[str]:
        return Counter(statement_kind(s.sql) for s in self.statements)

    def seconds(self) -> Counter[str]:
        """Seconds in spark.sql by kind (stand-ins' probes included)."""
        total: Counter[str] = Counter()
        for s in self.statements:
            total[statement_kind(s.sql)] += s.seconds  # type: ignore[assignment]  # Counter of floats
        return total

    def write(self, path: Path) -> Path:
        """The log as a SQL file: each statement, and for a stand-in what Spark ran instead."""
        path.parent.mkdir(parents=True, exist_ok=True)
        seconds = self.seconds()
        lines = [
            f"-- {len(self.statements)} statements; by kind: "
            + ", ".join(f"{k} {n}" for k, n in sorted(self.counts().items())),
            "-- seconds in spark.sql by kind: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(seconds.items())),
        ]
        for number, statement in enumerate(self.statements, 1):
            lines.append(f"\n-- [{number}] {statement_kind(statement.sql)} ({statement.seconds:.2f}s)")
            lines.append(statement.sql.strip() + ";")
            if statement.stand_in:
                for probe in statement.probes:
                    lines.append(f"-- STAND-IN {statement.stand_in} probe: {probe}")
                lines.append(f"-- STAND-IN {statement.stand_in} sent instead:")
                lines.append("-- " + statement.sent.strip().replace("\n", "\n-- ") + ";")
        path.write_text("\n".join(lines) + "\n")
        return path


def statement_kind(sql: str) -> str:
    """A statement's kind, for counting: the write strategies and DDL SQLMesh chooses."""
    text = " ".join(_LEADING_COMMENTS.sub("", sql, count=1).split()).upper()
    if _SHALLOW_CLONE.search(text):
        return "clone"
    # sqlglot writes an INSERT's CTEs first: WITH ... INSERT INTO t REPLACE WHERE ... SELECT ...
    insert = text.startswith("INSERT") or (text.startswith("WITH ") and re.search(r"\) INSERT INTO ", text))
    if insert and re.search(r"\bINSERT INTO \S+ REPLACE WHERE TRUE\b", text):
        return "insert replace where true"
    if insert and re.search(r"\bINSERT INTO \S+ REPLACE WHERE ", text):
        return "insert replace where <range>"
    if text.startswith("MERGE INTO"):
        return "merge"
    if text.startswith("DELETE FROM"):
        return "delete"
    if text.startswith("COMMENT ON") or re.match(r"ALTER TABLE .* ALTER COLUMN .* COMMENT ", text):
        return "comment"
    if text.startswith("CREATE") and " COMMENT " in text:
        return "create with comments"
    if _INFORMATION_SCHEMA.search(text):
        return "information_schema"
    words = text.split()
    return (
        " ".join(words[:2]).lower()
        if words and words[0] in ("CREATE", "DROP", "ALTER", "USE", "SHOW")
        else (words[0].lower() if words else "")
    )


# -- the stand-ins ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Replacement:
    sql: str
    probes: tuple[str, ...] = ()


def use_catalog(spark: SparkSession, sql: str) -> Replacement | None:
    match = _USE_CATALOG.fullmatch(_LEADING_COMMENTS.sub("", sql, count=1))
    return Replacement(f"SET CATALOG {match['catalog']}") if match else None


def information_schema(spark: SparkSession, sql: str) -> Replacement | None:
    if not _INFORMATION_SCHEMA.search(sql):
        return None
    import sqlglot
    from sqlglot import exp

    query: t.Any = sqlglot.parse_one(sql, read=DIALECT)  # a SELECT (it has .with_)
    probes: list[str] = []
    ctes: dict[str, exp.Expression] = {}
    for table in list(query.find_all(exp.Table)):
        if table.catalog.lower() != "system" or table.db.lower() != "information_schema":
            continue
        view = table.name.lower()
        filters = _equalities(query)
        schema = _only(filters, "table_schema", view)
        catalog = spark.catalog.currentCatalog()
        columns: tuple[str, ...]
        if view == "tables":
            rows = _tables(spark, catalog, schema, probes)
            columns = _TABLES_COLUMNS
        else:
            rows = _columns(spark, catalog, schema, _only(filters, "table_name", view), probes)
            columns = _COLUMNS_COLUMNS
        cte = f"information_schema_{view}"
        ctes[cte] = _relation(rows, columns)
        table.replace(exp.to_table(cte).as_(table.alias_or_name, quoted=False))
    for name, body in ctes.items():
        query = query.with_(name, as_=body)
    return Replacement(query.sql(dialect=DIALECT), tuple(probes))


def shallow_clone(spark: SparkSession, sql: str) -> Replacement | None:
    if not _SHALLOW_CLONE.search(sql):
        return None
    import sqlglot
    from sqlglot import exp

    create = sqlglot.parse_one(sql, read=DIALECT)
    clone = create.args.get("clone") if isinstance(create, exp.Create) else None
    if clone is None:
        return None
    source = clone.this.sql(dialect=DIALECT)
    probe = f"DESCRIBE TABLE {source}"
    partitions = _partitioning(spark.sql(probe).collect())
    properties = (
        [
            exp.PartitionedByProperty(
                this=exp.Schema(expressions=[sqlglot.parse_one(p, read=DIALECT) for p in partitions])
            )
        ]
        if partitions
        else []
    )
    copy = exp.Create(
        this=create.this,
        kind=create.args.get("kind") or "TABLE",
        replace=create.args.get("replace"),
        exists=create.args.get("exists"),
        properties=exp.Properties(expressions=properties) if properties else None,
        expression=exp.select("*").from_(clone.this),
    )
    return Replacement(copy.sql(dialect=DIALECT), (probe,))


def qualify(spark: SparkSession, sql: str) -> Replacement | None:
    if not _QUALIFY.search(sql):
        return None
    import sqlglot
    from sqlglot import exp, transforms

    tree = sqlglot.parse_one(sql, read=DIALECT)
    if tree.find(exp.Qualify) is None:
        return None  # the word in a string or comment
    return Replacement(tree.transform(transforms.eliminate_qualify).sql(dialect=DIALECT))


# In the order they are tried; a statement gets at most one.
STAND_INS: dict[str, t.Callable[[SparkSession, str], Replacement | None]] = {
    "use_catalog": use_catalog,
    "information_schema": information_schema,
    "shallow_clone": shallow_clone,
    "qualify": qualify,
}


def stand_in_for(spark: SparkSession, sql: str) -> Statement:
    """The statement Spark should run for ``sql``, named by the stand-in that produced it."""
    for name, stand_in in STAND_INS.items():
        replacement = stand_in(spark, sql)
        if replacement is not None:
            return Statement(sql, replacement.sql, name, replacement.probes)
    return Statement(sql, sql)


# -- information_schema from Spark's own commands --------------------------------------------


def _equalities(query: exp.Expression) -> dict[str, list[str]]:
    """column -> the literals the WHERE clause compares it with (``=`` and ``IN``)."""
    from sqlglot import exp

    found: dict[str, list[str]] = {}
    for where in query.find_all(exp.Where):
        for node in where.find_all(exp.EQ, exp.In):
            column = node.this if isinstance(node.this, exp.Column) else None
            values = [node.expression] if isinstance(node, exp.EQ) else node.expressions
            if column is not None and all(isinstance(v, exp.Literal) for v in values):
                found.setdefault(column.name.lower(), []).extend(v.this for v in values)
    return found


def _only(filters: dict[str, list[str]], column: str, view: str) -> str:
    values = filters.get(column, [])
    if len(values) != 1:
        raise NotImplementedError(f"the information_schema.{view} stand-in needs exactly one {column} = '...' filter")
    return values[0]


def _tables(spark: SparkSession, catalog: str, schema: str, probes: list[str]) -> list[tuple]:
    if not spark.catalog.databaseExists(schema):
        return []
    show_tables, show_views = f"SHOW TABLES IN {_quoted(schema)}", f"SHOW VIEWS IN {_quoted(schema)}"
    probes += [show_tables, show_views]
    views = {row.viewName for row in spark.sql(show_views).collect() if not row.isTemporary}
    return [
        (catalog, schema, row.tableName, "VIEW" if row.tableName in views else "MANAGED")
        for row in spark.sql(show_tables).collect()
        if not row.isTemporary
    ]


def _columns(spark: SparkSession, catalog: str, schema: str, table: str, probes: list[str]) -> list[tuple]:
    from pyspark.errors import AnalysisException

    probe = f"DESCRIBE TABLE {_quoted(schema)}.{_quoted(table)}"
    probes.append(probe)
    try:
        described = spark.sql(probe).collect()
    except AnalysisException:
        return []  # no such table (or schema): Databricks answers no rows
    rows: list[t.Any] = []
    for row in described:
        if not row.col_name or row.col_name.startswith("#"):
            break  # the partitioning section follows
        rows.append((catalog, schema, table, row.col_name, row.data_type, len(rows)))
    return rows


def _partitioning(describe: list) -> list[str]:
    """Partition columns/transforms in ``DESCRIBE TABLE`` output (Iceberg: ``# Partitioning``)."""
    partitions, section = [], None
    for row in describe:
        name = (row.col_name or "").strip()
        if name == "# col_name":
            continue  # the header of a Hive-style section
        if name.startswith("#"):
            section = name.lstrip("# ").lower()
            continue
        if section == "partitioning" and name.startswith("Part "):
            partitions.append(row.data_type)
        elif section == "partition information" and name:
            partitions.append(_quoted(name))
    return partitions


def _relation(rows: list[tuple], columns: tuple[str, ...]) -> exp.Expression:
    """A SELECT of ``rows`` (no rows: the typed empty relation) with ``columns``."""
    from sqlglot import exp

    if not rows:
        nulls = [exp.cast(exp.null(), "INT" if c == "ordinal_position" else "STRING").as_(c) for c in columns]
        return exp.select(*nulls).where(exp.false())
    return exp.select(*columns).from_(exp.values([tuple(r) for r in rows], alias="t", columns=list(columns)))


def _quoted(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


# -- putting the adapter on the session ------------------------------------------------------


@contextlib.contextmanager
def spark_session_available() -> t.Iterator[None]:
    """While open, SQLMesh's Databricks adapter and connection config believe a SparkSession is
    at hand, as in a Databricks job: no host or token needed, the active session is used. A job
    gets the same from SQLMESH_RUNTIME_ENVIRONMENT=databricks; patching the one check instead
    keeps SQLMesh's terminal console (not its notebook one)."""
    from sqlmesh.core.engine_adapter.databricks import DatabricksEngineAdapter

    def can_access_spark_session(cls: type, disable_spark_session: bool) -> bool:
        return not disable_spark_session

    saved = DatabricksEngineAdapter.__dict__["can_access_spark_session"]
    DatabricksEngineAdapter.can_access_spark_session = classmethod(can_access_spark_session)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        DatabricksEngineAdapter.can_access_spark_session = saved  # type: ignore[method-assign]


@contextlib.contextmanager
def databricks_adapter_on(spark: SparkSession, log: StatementLog) -> t.Iterator[StatementLog]:
    """While open, SQLMesh's Databricks adapter runs on ``spark``, each statement through the
    stand-ins and into ``log``. ``spark`` must be this (the main) thread's active session:
    SQLMesh takes ``SparkSession.getActiveSession()``, which is per thread."""
    from pyspark.sql import SparkSession
    from sqlmesh.engines.spark.db_api.spark_session import SparkSessionCursor

    if SparkSession.getActiveSession() is not spark:
        raise RuntimeError("the SparkSession is not this thread's active one: build it in the thread that plans")

    execute = SparkSessionCursor.execute

    def execute_with_stand_ins(self: SparkSessionCursor, query: str, parameters: t.Any = None) -> None:
        started = time.monotonic()
        statement = stand_in_for(self._spark, query)
        if statement.stand_in:
            logger.debug("stand-in %s: %s -> %s", statement.stand_in, query, statement.sent)
        try:
            execute(self, statement.sent, parameters)
        finally:
            log.add(dataclasses.replace(statement, seconds=time.monotonic() - started))

    SparkSessionCursor.execute = execute_with_stand_ins  # type: ignore[method-assign]
    try:
        with spark_session_available():
            yield log
    finally:
        SparkSessionCursor.execute = execute  # type: ignore[method-assign]
