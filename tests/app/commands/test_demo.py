"""`dvdrental demo` is idempotent (README's command table): run twice, the second run succeeds,
bronze is replaced by the next generation (never appended to: every table holds the source's rows
once), prod is unchanged and the answers are the same.

Run in-process on a private copy of the sample (DVD_SOURCE_DSN: no local server is started), the
warehouse and the dashboard under tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dvdrental.commands import main
from dvdrental.reports import dashboard
from ingest.tables import SOURCE_TABLES
from tests.support.loads import bronze_state
from tests.support.warehouses import prod_state


def _demo(capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["demo"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    return captured.out


def test_demo_twice_is_the_same_pipeline_with_the_next_bronze_generation(
    source_db: str, warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DVD_SOURCE_DSN", source_db)
    monkeypatch.setattr(dashboard, "DEFAULT_PATH", tmp_path / "dashboard.html")
    with psycopg.connect(source_db) as conn:  # the expectation: each table's rows in the source, once
        source_rows = {t.name: conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0] for t in SOURCE_TABLES}

    first_out = _demo(capsys)
    first_bronze = bronze_state(warehouse)
    first_prod = prod_state(warehouse)
    assert {name: rows for name, (rows, _, _) in first_bronze.items()} == source_rows
    assert (tmp_path / "dashboard.html").is_file()

    second_out = _demo(capsys)
    second_bronze = bronze_state(warehouse)
    # bronze replaced, not appended: the source's rows once, all of the next generation
    assert {name: (rows, low, high) for name, (rows, low, high) in second_bronze.items()} == {
        name: (source_rows[name], generation + 1, generation + 1) for name, (_, generation, _) in first_bronze.items()
    }
    assert prod_state(warehouse) == first_prod  # same silver, gold and answers
    answers = first_out[first_out.index("== 3/4") : first_out.index("== 4/4")]
    assert answers and answers == second_out[second_out.index("== 3/4") : second_out.index("== 4/4")]
