"""Superset's and Preset's CLI's own virtual environments: created, filled from a pinned file, reused.

Neither can share the project's ``.venv`` (Superset pins SQLAlchemy 1.4 and Flask 2, preset-cli
SQLAlchemy<2 and an older sqlglot; SQLMesh needs newer), so Superset gets ``.local/superset/venv``
(requirements.txt) and preset-cli ``.local/preset-cli/venv`` (preset-cli-requirements.txt).
Installing takes minutes, once: each venv records a hash of its file and is only rebuilt when that
file changes.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

from dvdrental.superset.errors import SupersetError
from foundation.paths import LOCAL_DIR

logger = logging.getLogger(__name__)

REQUIREMENTS = Path(__file__).with_name("requirements.txt")
SUPERSET_DIR = LOCAL_DIR / "superset"  # git-ignored: the venv, metadata database, secrets
VENV_DIR = SUPERSET_DIR / "venv"
STAMP = VENV_DIR / ".requirements.sha256"
PRESET_CLI_REQUIREMENTS = Path(__file__).with_name("preset-cli-requirements.txt")
PRESET_CLI_VENV = LOCAL_DIR / "preset-cli" / "venv"


def requirements_hash(requirements: Path = REQUIREMENTS) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def venv_bin(name: str, venv: Path = VENV_DIR) -> Path:
    return venv / "bin" / name


def is_installed(venv: Path = VENV_DIR, requirements: Path = REQUIREMENTS, executable: str = "superset") -> bool:
    stamp = venv / STAMP.name
    return (
        venv_bin(executable, venv).is_file()
        and stamp.is_file()
        and stamp.read_text().strip() == requirements_hash(requirements)
    )


def ensure_superset(venv: Path = VENV_DIR, python: str | None = None) -> Path:
    """The ``superset`` executable of ``venv``, installing the pinned requirements first if needed."""
    return ensure_venv(venv, REQUIREMENTS, "superset", "Apache Superset", python)


def ensure_preset_cli(venv: Path = PRESET_CLI_VENV, python: str | None = None) -> Path:
    """The ``superset-cli`` executable of Preset's CLI (``preset-cli`` sits beside it)."""
    return ensure_venv(venv, PRESET_CLI_REQUIREMENTS, "superset-cli", "Preset's CLI", python)


def ensure_venv(venv: Path, requirements: Path, executable: str, what: str, python: str | None = None) -> Path:
    """``executable`` of ``venv``, (re)installing ``requirements`` first when the venv is missing or stale."""
    if is_installed(venv, requirements, executable):
        return venv_bin(executable, venv)
    if venv.exists():
        logger.info("requirements changed: rebuilding %s", venv)
        shutil.rmtree(venv)
    interpreter = python or sys.executable
    logger.info("installing %s into %s (one-off, a few minutes)", what, venv)
    started = time.monotonic()
    _run([interpreter, "-m", "venv", str(venv)], f"creating {what}'s virtual environment")
    pip = [str(venv_bin("python", venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(pip + ["-r", str(requirements)], f"pip install -r {requirements.name}")
    (venv / STAMP.name).write_text(requirements_hash(requirements) + "\n")
    logger.info("%s installed in %.0f s", what, time.monotonic() - started)
    return venv_bin(executable, venv)


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise SupersetError(f"{what} failed (exit {result.returncode}): {' | '.join(tail)}")
