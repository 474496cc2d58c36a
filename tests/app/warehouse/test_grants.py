"""The Unity Catalog grants (dvdrental/warehouse/grants.py, `dvdrental databricks grants`).

Spark cannot run GRANT, so the grants are checked against statements: here against hand-written ones
of each kind and against what the dashboard sends; tests/app/local_databricks/test_databricks_connector.py
checks them against every statement SQLMesh sent through the real SQL connector in the local endpoint proof.
"""

from __future__ import annotations

import pytest

from dvdrental.commands import main
from dvdrental.reports.answers import QUESTIONS
from dvdrental.superset.bundle import BUNDLE_DIR, render
from dvdrental.warehouse.grants import Principals, grants_for, uncovered

PRINCIPALS = Principals(airbyte="airbyte-writer", sqlmesh="sqlmesh-sp", reader="preset-reader")
SETTINGS = {
    "DATABRICKS_CATALOG": "dvdrental",
    "DVD_GRANT_AIRBYTE_PRINCIPAL": "airbyte-writer",
    "DVD_GRANT_SQLMESH_PRINCIPAL": "sqlmesh-sp",
    "DVD_GRANT_READER_PRINCIPAL": "preset-reader",
}

# What SQLMesh sends, one statement of each kind (the shapes of the Spark proof's statement log).
SQLMESH_STATEMENTS = [
    "CREATE SCHEMA IF NOT EXISTS `sqlmesh__staging`",
    "CREATE SCHEMA IF NOT EXISTS `sqlmesh__silver`",
    "CREATE SCHEMA IF NOT EXISTS `sqlmesh__gold`",
    "CREATE TABLE IF NOT EXISTS `sqlmesh__staging`.`staging__dvd_rental__1` AS "
    "SELECT rental_id FROM `bronze`.`raw_dvd_rental` AS r",
    "MERGE INTO `sqlmesh__silver`.`silver__dvd_rental__2` AS t USING (SELECT * FROM "
    "`sqlmesh__staging`.`staging__dvd_rental__1`) AS s ON t.rental_id = s.rental_id WHEN MATCHED THEN UPDATE SET *",
    "CREATE SCHEMA IF NOT EXISTS `gold__pr_123`",
    "CREATE OR REPLACE VIEW `gold__pr_123`.`report_rentals` AS SELECT * FROM `sqlmesh__gold`.`gold__report__3`",
    "DROP SCHEMA IF EXISTS `gold__pr_123` CASCADE",
    "SELECT max(_airbyte_extracted_at) FROM `bronze`.`raw_dvd_payment`",
]


def _without(principal: str, schema: str | None) -> list:
    return [g for g in grants_for(PRINCIPALS) if not (g.principal == principal and g.schema == schema)]


def test_sqlmesh_statements_are_covered_and_each_grant_is_needed() -> None:
    sqlmesh = PRINCIPALS.sqlmesh
    statements = SQLMESH_STATEMENTS
    assert uncovered(statements, grants_for(PRINCIPALS), sqlmesh) == []
    no_bronze = uncovered(statements, _without(sqlmesh, "bronze"), sqlmesh)
    assert len(no_bronze) == 2 and all("needs read on schema bronze" in m for m in no_bronze), no_bronze
    no_catalog = uncovered(statements, _without(sqlmesh, None), sqlmesh)
    assert sum("needs CREATE SCHEMA on the catalog" in m for m in no_catalog) == 4, no_catalog
    # Writing a schema it neither created nor was granted (an admin's) is not covered.
    assert uncovered(["INSERT INTO `finance`.`ledger` SELECT 1"], grants_for(PRINCIPALS), sqlmesh)


def test_the_dashboard_reader_reads_gold_only() -> None:
    reader = PRINCIPALS.reader
    # the dashboard's dataset as Preset's CLI renders it on Databricks (the bundle's files are Jinja)
    dataset = render(BUNDLE_DIR / "datasets" / "report_rentals_ranked.yaml", {"DATABRICKS_CATALOG": "main"})
    reads = [question.sql for question in QUESTIONS]
    reads.append(dataset["sql"])  # a virtual dataset: the reader runs its SQL
    assert "gold.report_rentals" in dataset["sql"]
    assert uncovered(reads, grants_for(PRINCIPALS), reader) == []
    assert uncovered(reads, _without(reader, "gold"), reader)
    # Not the physical tables behind gold's views, not bronze.
    assert uncovered(["SELECT * FROM sqlmesh__gold.gold__report__3"], grants_for(PRINCIPALS), reader)
    assert uncovered(["SELECT * FROM bronze.raw_dvd_rental"], grants_for(PRINCIPALS), reader)


def test_airbyte_writes_bronze_and_nothing_else() -> None:
    airbyte = PRINCIPALS.airbyte
    overwrite = [
        "CREATE OR REPLACE TABLE `bronze`.`raw_dvd_rental` (`_airbyte_raw_id` STRING, `rental_id` BIGINT)",
        "INSERT INTO `bronze`.`raw_dvd_rental` SELECT * FROM `bronze`.`raw_dvd_rental_tmp`",
    ]
    assert uncovered(overwrite, grants_for(PRINCIPALS), airbyte) == []
    assert uncovered(["CREATE TABLE `silver`.`x` (a INT)"], grants_for(PRINCIPALS), airbyte)
    assert uncovered(["CREATE SCHEMA `airbyte_internal`"], grants_for(PRINCIPALS), airbyte)


def test_command_prints_the_script(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    assert main(["databricks", "grants"]) == 0
    script = capsys.readouterr().out
    assert "CREATE SCHEMA IF NOT EXISTS `dvdrental`.`bronze`;" in script
    assert "GRANT USE CATALOG, CREATE SCHEMA ON CATALOG `dvdrental` TO `sqlmesh-sp`;" in script
    assert "GRANT USE SCHEMA, SELECT ON SCHEMA `dvdrental`.`gold` TO `preset-reader`;" in script
    assert script.index("`preset-reader`") > script.index("`sqlmesh-sp`")  # gold exists after SQLMesh's plan
    grants = [line for line in script.splitlines() if line.startswith("GRANT ")]
    comments = [line for line in script.splitlines() if line.startswith("-- ")]
    assert len(grants) == 6 and len(comments) >= 6  # each grant has its reason above it


def test_a_missing_principal_is_named(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DVD_GRANT_READER_PRINCIPAL")
    monkeypatch.setattr("foundation.settings._loaded", True)  # no project .env
    assert main(["databricks", "grants"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: DVD_GRANT_READER_PRINCIPAL is not set") and "Traceback" not in err
