"""What CI runs: prod built from a git ref's models on a scratch warehouse, then the plan diff.

The scratch warehouse gets its bronze from the configured source (``dvdrental ingest``'s way);
the real warehouse is never opened.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import typing as t
from pathlib import Path

from dvdrental.reports.plan_diff.plan import write_plan_diff
from dvdrental.reports.plan_diff.report import PlanDiffReport
from dvdrental.warehouse.context import open_context, plan_prod
from foundation.errors import TransformError
from foundation.paths import PROJECT_ROOT, WAREHOUSE_ENV
from foundation.settings import temporary_env
from ingest.run import run_ingest

# What SQLMesh reads of a project: the linter (config.yaml names its rules) and the unit tests
# (its nomissingunittest rule looks for them) included, since every plan lints first.
BASE_FILES = ("models", "macros", "audits", "signals", "linter", "tests", "config.yaml", "external_models.yaml")


def write_plan_diff_against_ref(
    ref: str,
    path: Path | None = None,
    scratch: Path | None = None,
    via: str | None = None,
    progress: t.Callable[[str], None] = lambda line: None,
) -> tuple[Path, PlanDiffReport]:
    """Build ``ref``'s models as prod on a scratch warehouse, then diff the working tree against it.

    ``scratch`` keeps the files (default: a temp dir, removed at the end); ``progress`` gets
    one line per step.
    """
    owned = scratch is None
    scratch = Path(scratch or tempfile.mkdtemp(prefix="dvd-plan-diff-"))
    try:
        base = _extract_ref(ref, scratch / "base")
        with temporary_env(**{WAREHOUSE_ENV: str(scratch / "warehouse" / "dvdrental.duckdb")}):
            progress(f"plan-diff: building prod from {ref} on a scratch warehouse ({scratch})")
            progress(run_ingest(via or "direct", progress=False).summary)
            with open_context(paths=[str(base)]) as ctx:
                plan_prod(ctx=ctx, skip_tests=True)  # the ref was unit-tested when it was merged
            return write_plan_diff(path)
    finally:
        if owned:
            shutil.rmtree(scratch, ignore_errors=True)


def _extract_ref(ref: str, base: Path) -> Path:
    """The project files of git ``ref`` (those of :data:`BASE_FILES` it has), written under ``base``."""
    base.mkdir(parents=True, exist_ok=True)
    present = [
        name
        for name in BASE_FILES
        if subprocess.run(["git", "cat-file", "-e", f"{ref}:{name}"], cwd=PROJECT_ROOT, capture_output=True).returncode
        == 0
    ]
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "--", *present], cwd=PROJECT_ROOT, capture_output=True
    )
    if archive.returncode != 0:
        raise TransformError(f"Cannot read the models at git ref {ref!r}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
    return base
