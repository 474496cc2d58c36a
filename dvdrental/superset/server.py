"""A local Superset: its home folder, metadata database, admin login and web server.

A home holds everything one Superset instance keeps: ``secret_key`` (generated, 0600; it
signs sessions and encrypts database passwords), ``superset.db`` (SQLite metadata) and
``admin_password`` (generated, 0600). The demo's home is ``.local/superset/home``; tests use
a temporary one. Creating the metadata schema (``superset db upgrade`` + ``superset init``)
takes a minute or two on a small machine, so it is done once per Superset version into a
template that every new home copies.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from dvdrental.superset.errors import SupersetError
from dvdrental.superset.install import SUPERSET_DIR, ensure_superset, requirements_hash

logger = logging.getLogger(__name__)

CONFIG_FILE = Path(__file__).with_name("superset_config.py")
DEFAULT_HOME = SUPERSET_DIR / "home"
ADMIN_USER = "admin"
HOST = "127.0.0.1"
START_TIMEOUT_S = 240.0


@dataclass(frozen=True)
class Home:
    path: Path

    @property
    def secret_key(self) -> Path:
        return self.path / "secret_key"

    @property
    def metadata(self) -> Path:
        return self.path / "superset.db"

    @property
    def admin_password_file(self) -> Path:
        return self.path / "admin_password"

    @property
    def log(self) -> Path:
        return self.path / "server.log"

    def env(self) -> dict[str, str]:
        """The environment a ``superset`` process of this home runs with."""
        env = dict(os.environ)
        env.update(
            SUPERSET_CONFIG_PATH=str(CONFIG_FILE),
            DVD_SUPERSET_HOME=str(self.path),
            FLASK_APP="superset",
            SUPERSET_LOAD_EXAMPLES="no",
        )
        return env

    def admin_password(self) -> str:
        return self.admin_password_file.read_text().strip()


@dataclass(frozen=True)
class Prepared:
    home: Home
    superset: Path
    new_password: str | None  # set only when the admin was created now (print it once)


def prepare_home(path: Path = DEFAULT_HOME) -> Prepared:
    """Install Superset if needed and make ``path`` a ready home with an admin; idempotent."""
    superset = ensure_superset()
    home = Home(Path(path))
    home.path.mkdir(parents=True, exist_ok=True)
    home.path.chmod(0o700)
    if not home.secret_key.is_file():
        _write_private(home.secret_key, secrets.token_urlsafe(48))
    if not home.metadata.is_file():
        shutil.copyfile(metadata_template(superset), home.metadata)
    new_password = None
    if not home.admin_password_file.is_file():
        new_password = secrets.token_urlsafe(12)
        # The password goes in on stdin (Flask-AppBuilder prompts for it), never on a command line.
        _superset(
            superset,
            home,
            [
                "fab",
                "create-admin",
                "--username",
                ADMIN_USER,
                "--firstname",
                "DVD",
                "--lastname",
                "Admin",
                "--email",
                "admin@localhost",
            ],
            "creating the local admin",
            stdin=f"{new_password}\n{new_password}\n",
        )
        _write_private(home.admin_password_file, new_password)
    return Prepared(home, superset, new_password)


def metadata_template(superset: Path) -> Path:
    """An empty, migrated and initialised metadata database for this Superset version."""
    template = SUPERSET_DIR / f"metadata-template-{requirements_hash()[:12]}.db"
    if template.is_file():
        return template
    logger.info("creating Superset's metadata database (one-off, a minute or two)")
    with tempfile.TemporaryDirectory(dir=SUPERSET_DIR) as scratch:
        home = Home(Path(scratch))
        _write_private(home.secret_key, secrets.token_urlsafe(48))  # nothing is encrypted yet
        _superset(superset, home, ["db", "upgrade"], "migrating the metadata database")
        _superset(superset, home, ["init"], "initialising roles and permissions")
        shutil.move(str(home.metadata), template)
    return template


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """``superset run`` on 127.0.0.1:``port`` for ``home``; :meth:`stop` ends it."""

    def __init__(self, prepared: Prepared, port: int) -> None:
        self.home = prepared.home
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self._log = open(self.home.log, "ab")
        self.process = subprocess.Popen(
            [str(prepared.superset), "run", "--host", HOST, "--port", str(port), "--with-threads"],
            env=self.home.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches us; we stop it ourselves
        )

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SupersetError(
                    f"Superset exited with code {self.process.returncode} while starting: see {self.home.log}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=5).text.strip() == "OK":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise SupersetError(f"Superset did not answer on {self.url} within {timeout:.0f} s: see {self.home.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _superset(superset: Path, home: Home, args: list[str], what: str, stdin: str | None = None) -> None:
    result = subprocess.run([str(superset), *args], env=home.env(), input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise SupersetError(f"{what} failed (superset {args[0]}, exit {result.returncode}): {' | '.join(tail)}")


def _write_private(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` readable by us only (created 0600, never wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
