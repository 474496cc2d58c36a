"""The stand-ins' rewriting, without a JVM (tests/app/local_databricks/test_spark_gateway.py runs them on Spark).

Each case is a statement shaped as SQLMesh's Databricks adapter sends it (comment prefix and
quoting as in .local/databricks-spark/statements.sql) and what Spark must receive instead.
"""

from __future__ import annotations

from collections import namedtuple

import pytest
import sqlglot

from dvdrental.local_databricks import databricks_standins as standins

PREFIX = "/* SQLMESH_PLAN: 90aeaede2b254a63abf2d946a26337e6 */ "
Row = namedtuple("Row", "col_name data_type comment")


def test_use_catalog_becomes_set_catalog() -> None:
    assert standins.use_catalog(None, PREFIX + "USE CATALOG `spark_catalog`").sql == "SET CATALOG `spark_catalog`"
    assert standins.use_catalog(None, PREFIX + "USE `gold`") is None  # Spark has USE <schema>


def test_qualify_is_a_filtered_subquery() -> None:
    sql = PREFIX + "SELECT `a` FROM `x` QUALIFY ROW_NUMBER() OVER (PARTITION BY `a` ORDER BY `b` DESC) = 1"
    sent = sqlglot.parse_one(standins.qualify(None, sql).sql, read="databricks")
    assert sent.find(sqlglot.exp.Qualify) is None
    assert sent.named_selects == ["a"]
    # FROM (SELECT ..., ROW_NUMBER() ... AS _w FROM x) WHERE _w = 1
    inner = sent.find(sqlglot.exp.Subquery).this
    assert isinstance(inner, sqlglot.exp.Select) and inner.find(sqlglot.exp.Window) is not None
    assert sent.find(sqlglot.exp.Where).this.sql() == "_w = 1"


def test_qualify_in_a_string_is_left_alone() -> None:
    assert standins.qualify(None, PREFIX + "SELECT 'QUALIFY' AS `word`") is None


# DESCRIBE TABLE of an Iceberg table partitioned by a transform, and by columns only (Spark 3.4+
# prints identity partitions the Hive way: DescribeTableExec.addPartitioning in apache/spark).
ICEBERG_DESCRIBE = [
    Row("source_table", "string", "The source table"),
    Row("_changed_at", "timestamp_ntz", ""),
    Row("", "", ""),
    Row("# Partitioning", "", ""),
    Row("Part 0", "days(_changed_at)", ""),
]
HIVE_DESCRIBE = [
    Row("source_table", "string", None),
    Row("_changed_at", "timestamp_ntz", None),
    Row("# Partition Information", "", ""),
    Row("# col_name", "data_type", "comment"),
    Row("_changed_at", "timestamp_ntz", None),
]


@pytest.mark.parametrize(
    ("describe", "expected"), [(ICEBERG_DESCRIBE, ["days(_changed_at)"]), (HIVE_DESCRIBE, ["`_changed_at`"])]
)
def test_partitioning_read_from_describe(describe: list, expected: list[str]) -> None:
    assert standins._partitioning(describe) == expected


class _FakeSpark:
    """Answers the one DESCRIBE the clone stand-in asks (the Spark run covers the real one)."""

    def sql(self, query: str):
        assert query == "DESCRIBE TABLE `spark_catalog`.`sqlmesh__silver`.`deletions__1`"
        return type("Frame", (), {"collect": lambda self: HIVE_DESCRIBE})()


def test_shallow_clone_becomes_a_partitioned_copy() -> None:
    sql = PREFIX + (
        "CREATE TABLE IF NOT EXISTS `spark_catalog`.`sqlmesh__silver`.`deletions__2__dev` "
        "SHALLOW CLONE `spark_catalog`.`sqlmesh__silver`.`deletions__1`"
    )
    replacement = standins.shallow_clone(_FakeSpark(), sql)
    assert replacement.sql == (
        "CREATE TABLE IF NOT EXISTS `spark_catalog`.`sqlmesh__silver`.`deletions__2__dev` "
        "PARTITIONED BY (`_changed_at`) AS SELECT * FROM `spark_catalog`.`sqlmesh__silver`.`deletions__1`"
    )


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("INSERT INTO `t` REPLACE WHERE TRUE SELECT 1", "insert replace where true"),
        (
            "WITH `c` AS (SELECT 1 AS `x`) INSERT INTO `t` REPLACE WHERE TRUE SELECT `x` FROM `c`",
            "insert replace where true",
        ),
        ("WITH `c` AS (SELECT 1 AS `x`) SELECT `x` FROM `c`", "with"),
        (
            "INSERT INTO `t` REPLACE WHERE `d` BETWEEN '2026-12-01' AND '2026-12-02' SELECT 1",
            "insert replace where <range>",
        ),
        ("MERGE INTO `t` AS `__MERGE_TARGET__` USING (SELECT 1) AS `s` ON TRUE WHEN MATCHED THEN DELETE", "merge"),
        ("DELETE FROM `t` WHERE TRUE", "delete"),
        ("CREATE TABLE IF NOT EXISTS `t` SHALLOW CLONE `s`", "clone"),
        ("ALTER TABLE `t` ALTER COLUMN `c` COMMENT 'x'", "comment"),
        ("CREATE TABLE `t` (`c` INT COMMENT 'x')", "create with comments"),
        ("SELECT 1 FROM `system`.`information_schema`.`tables`", "information_schema"),
    ],
)
def test_statement_kinds(sql: str, kind: str) -> None:
    assert standins.statement_kind(PREFIX + sql) == kind
