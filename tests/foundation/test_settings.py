"""foundation/settings.py: the .env file fills in what the environment lacks, never overrides it.

README and docs/databricks.md promise settings "from environment variables (or a git-ignored .env)";
the real environment wins (``load_dotenv(override=False)``). Read in a fresh process, as a command reads
them, with DVD_ENV_FILE pointing at the test's own file (the suite's conftest points it at no file).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from foundation.paths import PROJECT_ROOT

READ = "from foundation import settings; print(settings.optional('DVD_INGEST_VIA'), settings.optional('DVD_LOG_DIR'))"


def _read(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", READ], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DVD_INGEST_VIA", "DVD_LOG_DIR")}
    env.update(values)
    return env


def test_the_environment_wins_over_the_env_file_which_fills_the_rest(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DVD_INGEST_VIA=airbyte\nDVD_LOG_DIR=/logs/from-the-file\n")
    done = _read(_env(DVD_ENV_FILE=str(env_file), DVD_INGEST_VIA="direct"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["direct", "/logs/from-the-file"]


def test_no_env_file_reads_the_environment_only(tmp_path: Path) -> None:
    done = _read(_env(DVD_ENV_FILE=os.devnull, DVD_INGEST_VIA="direct"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["direct", "None"]


def test_the_suite_reads_no_developer_env_file() -> None:
    """tests/conftest.py: whatever .env sits in the checkout, tests and their subprocesses ignore it."""
    assert os.environ.get("DVD_ENV_FILE") == os.devnull
