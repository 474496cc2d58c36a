"""What the two Databricks-adapter runs share (tests/app/local_databricks/): a SQLMesh command run as a
recorded phase, the forward-only change planned into dev, and column profiles compared with DuckDB's."""

from __future__ import annotations

import math
import re
import time
import typing as t
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

# The forward-only change planned into dev: a time-range model (REPLACE WHERE on its clone)
# with unique-key models downstream (MERGE on theirs).
FORWARD_ONLY_MODEL = "silver.dvd_deletions"
DEV = "forward_only_dev"


@dataclass
class Phase:
    """One SQLMesh command on Spark: its outcome and the statements it sent."""

    name: str
    seconds: float
    error: BaseException | None
    statements: list[t.Any]  # dvdrental.local_databricks.databricks_standins.Statement
    failed: dict[str, str] = field(default_factory=dict)  # model -> error
    skipped: set[str] = field(default_factory=set)
    status: t.Any = None  # a run's CompletionStatus

    def kinds(self, table: str | None = None) -> list[str]:
        from dvdrental.local_databricks.databricks_standins import statement_kind

        return [statement_kind(s.sql) for s in self.statements if table is None or table in s.sql]


def models_by_name(ctx: t.Any) -> dict[str, t.Any]:
    return {short_name(name): model for name, model in ctx.models.items()}


def short_name(name: str) -> str:
    """'"spark_catalog"."gold"."dim_date"' -> 'gold.dim_date'."""
    return ".".join(part.strip('"`') for part in name.split(".")[-2:])


def run_phase(name: str, ctx: t.Any, log: t.Any, command: t.Callable[[], t.Any]) -> Phase:
    """Run ``command`` (a plan or run on ``ctx``), recording failed and skipped models."""
    failed: dict[str, str] = {}
    skipped: set[str] = set()
    console = ctx.console
    log_failed, log_skipped = console.log_failed_models, console.log_skipped_models

    def record_failed(errors: list) -> None:
        for error in errors:
            node = getattr(error, "node", None)
            model = getattr(node, "snapshot_name", None) or str(node)
            cause = error.__cause__ or error
            failed[short_name(model)] = (
                f"{type(cause).__name__}: {str(cause).strip().splitlines()[0] if str(cause).strip() else ''}"
            )
        log_failed(errors)

    def record_skipped(names: set[str]) -> None:
        skipped.update(short_name(n) for n in names)
        log_skipped(names)

    console.log_failed_models, console.log_skipped_models = record_failed, record_skipped
    first = len(log.statements)
    started = time.monotonic()
    error: BaseException | None = None
    status = None
    try:
        status = command()
    except Exception as raised:  # examined by the tests below
        error = raised
        lint_errors = getattr(getattr(console, "observed", None), "lint_errors", [])
        print(f"\nSpark, {name} failed: {raised}" + "".join(f"\n  lint: {line}" for line in lint_errors))
    finally:
        console.log_failed_models, console.log_skipped_models = log_failed, log_skipped
    seconds = time.monotonic() - started
    print(f"\nSpark, {name}: {seconds:.0f}s, {len(log.statements) - first} statements")
    return Phase(name, seconds, error, log.statements[first:], failed, skipped, status)


def forward_only_dev_plan(ctx: t.Any, log: t.Any) -> Phase:
    """A change of silver.dvd_deletions planned forward-only into dev: one more output column
    (an additive change SQLMesh applies to the cloned table with ALTER TABLE)."""
    from sqlmesh.core.model.common import ParsableSql

    model = ctx.get_model(FORWARD_ONLY_MODEL, raise_if_missing=True)
    query = model.query.select("CAST(NULL AS STRING) AS _dev_note")  # a UNION ALL: added to each branch
    # Described like every column (the project's linter refuses a plan with an undescribed one).
    descriptions = {**model.column_descriptions, "_dev_note": "A note only the dev environment has."}
    ctx.upsert_model(
        model, query_=ParsableSql.from_parsed_expression(query, model.dialect), column_descriptions_=descriptions
    )
    return run_phase(
        "forward-only dev plan",
        ctx,
        log,
        lambda: ctx.plan(DEV, forward_only=True, auto_apply=True, no_prompts=True, skip_tests=True),
    )


def sent_text(statement: t.Any) -> str:
    """A statement without SQLMesh's leading /* ... */ comments, on one line."""
    return re.sub(r"^(/\*.*?\*/\s*)+", "", " ".join(statement.sql.split()))


# -- column profiles ---------------------------------------------------------------------------

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DECIMAL", "DOUBLE", "FLOAT", "REAL")


def profile_items(columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(label, Databricks-dialect aggregate) per column; columns starting with _ are run metadata."""
    items: list[tuple[str, str]] = []
    for name, duck_type in columns:
        if name.startswith("_"):
            continue
        upper = duck_type.upper()
        if upper.startswith(_NUMERIC):
            items.append((f"sum({name})", f"SUM({name})"))
        elif upper == "BOOLEAN":
            items.append((f"count_true({name})", f"COUNT_IF({name})"))
        elif upper.endswith("[]") or upper.startswith(("STRUCT", "MAP")):
            items.append((f"count({name})", f"COUNT({name})"))
            continue
        else:  # strings, dates, timestamps
            items.append((f"min({name})", f"MIN({name})"))
            items.append((f"max({name})", f"MAX({name})"))
            items.append((f"distinct({name})", f"COUNT(DISTINCT {name})"))
        items.append((f"count({name})", f"COUNT({name})"))
    return items


def profile_sql(columns: list[tuple[str, str]], dialect: str) -> str:
    """The profile's select list for ``dialect``, written once in Databricks SQL like the models."""
    import sqlglot

    select = ", ".join(["COUNT(*)"] + [agg for _, agg in profile_items(columns)])
    return sqlglot.transpile(f"SELECT {select}", read="databricks", write=dialect)[0][len("SELECT ") :]


def same(a: t.Any, b: t.Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, datetime) and isinstance(b, datetime):
        return naive_utc(a) == naive_utc(b)
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, (int, Decimal)) and isinstance(b, (int, Decimal)):
        return Decimal(a) == Decimal(b)
    return a == b


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


# -- row by row --------------------------------------------------------------------------------


def comparable(value: t.Any) -> t.Any:
    """A value as both engines mean it: timestamps naive UTC, numbers as Decimal (floats to 9 significant
    digits: the engines sum in different orders), arrays as tuples."""
    if isinstance(value, datetime):
        return naive_utc(value)
    if isinstance(value, float):
        return Decimal(f"{value:.9g}")
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value).normalize()
    if hasattr(value, "tolist"):  # numpy arrays, as the connector's Arrow results decode them
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return tuple(comparable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, comparable(v)) for k, v in value.items()))
    return value


def row_differences(
    columns: list[str], key: list[str], duck_rows: list[tuple], remote_rows: list[tuple], limit: int = 5
) -> list[str]:
    """What differs between two results of the same columns, matched by ``key`` (every column when empty):
    rows only DuckDB has, rows only Databricks has, and per key the columns whose values differ."""
    positions = [columns.index(k) for k in key] if key else list(range(len(columns)))

    def keyed(rows: list[tuple]) -> Counter:
        return Counter(
            (tuple(comparable(row[i]) for i in positions), tuple(comparable(v) for v in row)) for row in rows
        )

    duck, remote = keyed(duck_rows), keyed(remote_rows)
    only_duck, only_remote = duck - remote, remote - duck
    by_key_remote = {k: row for (k, row) in only_remote}
    problems: list[str] = []
    for k, row in list(only_duck)[:limit]:
        other = by_key_remote.get(k)
        if other is None:
            problems.append(f"only in duckdb: {dict(zip(columns, row, strict=True))}")
        else:
            changed = {c: (a, b) for c, a, b in zip(columns, row, other, strict=True) if a != b}
            problems.append(f"key {k}: duckdb != databricks in {changed}")
    duck_keys = {k for (k, _) in only_duck}
    problems += [
        f"only in databricks: {dict(zip(columns, row, strict=True))}"
        for (k, row) in list(only_remote)[:limit]
        if k not in duck_keys
    ]
    if len(only_duck) + len(only_remote) > 2 * limit:
        problems.append(
            f"... {sum(only_duck.values())} duckdb rows and {sum(only_remote.values())} databricks rows unmatched"
        )
    return problems
