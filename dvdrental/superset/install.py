"""Superset's own virtual environment: created, filled from requirements.txt, reused.

Superset cannot share the project's ``.venv`` (it pins SQLAlchemy 1.4 and Flask 2; SQLMesh
needs newer), so it gets ``.local/superset/venv``. Installing takes minutes, once: the venv
records a hash of requirements.txt and is only rebuilt when that file changes.
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


def requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def venv_bin(name: str, venv: Path = VENV_DIR) -> Path:
    return venv / "bin" / name


def is_installed(venv: Path = VENV_DIR) -> bool:
    stamp = venv / STAMP.name
    return venv_bin("superset", venv).is_file() and stamp.is_file() and stamp.read_text().strip() == requirements_hash()


def ensure_superset(venv: Path = VENV_DIR, python: str | None = None) -> Path:
    """The ``superset`` executable of ``venv``, installing the pinned requirements first if needed."""
    if is_installed(venv):
        return venv_bin("superset", venv)
    if venv.exists():
        logger.info("requirements changed: rebuilding %s", venv)
        shutil.rmtree(venv)
    interpreter = python or sys.executable
    logger.info("installing Apache Superset into %s (one-off, a few minutes)", venv)
    started = time.monotonic()
    _run([interpreter, "-m", "venv", str(venv)], "creating Superset's virtual environment")
    pip = [str(venv_bin("python", venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(pip + ["-r", str(REQUIREMENTS)], f"pip install -r {REQUIREMENTS.name}")
    (venv / STAMP.name).write_text(requirements_hash() + "\n")
    logger.info("Superset installed in %.0f s", time.monotonic() - started)
    return venv_bin("superset", venv)


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise SupersetError(f"{what} failed (exit {result.returncode}): {' | '.join(tail)}")
