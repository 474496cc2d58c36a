"""A list of SQL statements run in order on a DuckDB file: the build benchmark's baseline, in its own process.

``python -m benchmarks.run_sql WAREHOUSE STATEMENTS_JSON``: ``bench_build`` renders every model's SQL
once through SQLMesh and writes it as a JSON list of ``CREATE TABLE ... AS`` statements; running them
here, in a child the harness measures (wall, CPU, peak RSS), is what SQLMesh's build is compared with.
"""

from __future__ import annotations

import json
import sys

import duckdb


def main(warehouse: str, statements_file: str) -> None:
    with open(statements_file) as file:
        statements = json.load(file)
    con = duckdb.connect(warehouse)
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
