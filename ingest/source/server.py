"""A PostgreSQL server owned by the project, holding the DVD rental sample.

Why a real server: the pipeline's promises (one REPEATABLE READ snapshot
across tables, Airbyte's type mapping, errors from a real libpq) only mean
something against the real thing. The server uses the binaries already on
the machine, keeps its data under ``.local/`` and listens on 127.0.0.1 only.

PostgreSQL refuses to run as root and CI runs as root, so when we are root
``initdb`` and ``postgres`` run as an unprivileged user (``DVD_PG_OS_USER``,
else ``postgres``, else ``nobody``). The client side (psycopg, pg_restore,
the loader) keeps running as the caller and connects over TCP with a
generated password kept in a ``0600`` passfile, never printed.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from foundation.errors import ConfigError, SourceServerError
from foundation.paths import LOCAL_DIR
from ingest.source.dump import DUMP_ENV, sample_dump

logger = logging.getLogger(__name__)

SUPERUSER = "dvdrental"
DATABASE = "dvdrental"
OS_USER_ENV = "DVD_PG_OS_USER"
REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres", "pg_restore")
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres, pg_restore) were not found on PATH "
    "or under /usr/lib/postgresql/*/bin. Install them, e.g. `sudo apt-get install postgresql` "
    "(Debian/Ubuntu) or `brew install postgresql@16` (macOS), or point the pipeline at an existing "
    "server with DVD_SOURCE_DSN=postgresql://user@host:5432/dvdrental."
)


def find_bin_dir() -> Path:
    """The directory holding initdb/pg_ctl/postgres/pg_restore of one PostgreSQL version."""
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versioned = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(Path(p) for p in versioned)
    for directory in candidates:
        if all((directory / name).exists() for name in REQUIRED_BINARIES):
            return directory
    raise SourceServerError(INSTALL_HINT)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL binds: a port whose old connections linger in TIME_WAIT is still ours.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _server_os_user() -> pwd.struct_passwd | None:
    """The unprivileged account the server runs as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    chosen = os.environ.get(OS_USER_ENV)
    if chosen:
        try:
            return pwd.getpwnam(chosen)
        except KeyError:
            raise ConfigError(
                f"{OS_USER_ENV}={chosen}: no such user on this machine; create it or unset {OS_USER_ENV}."
            ) from None
    for name in (os.environ.get(OS_USER_ENV), "postgres", "nobody"):
        if not name:
            continue
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise SourceServerError(
        f"Running as root and no unprivileged user to run PostgreSQL as: create one "
        f"(useradd postgres) or set {OS_USER_ENV}."
    )


def _reachable_by(user: pwd.struct_passwd, path: Path) -> bool:
    """Can ``user`` traverse every directory down to ``path``?"""
    for parent in [*reversed(path.parents), path]:
        if not parent.exists():
            break
        st = parent.stat()
        if st.st_uid == user.pw_uid:
            ok = st.st_mode & 0o100
        elif st.st_gid == user.pw_gid:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class ServerState:
    """What ``server.json`` remembers between runs."""

    port: int
    data_dir: str

    @classmethod
    def read(cls, path: Path) -> ServerState | None:
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text()))

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"port": self.port, "data_dir": self.data_dir}))


class LocalPostgres:
    """Start, stop and describe the project's PostgreSQL server.

    ``state_dir`` holds the passfile, the log and ``server.json``; the data
    directory lives there too unless the server's OS user cannot reach it
    (a root-owned 0700 checkout), in which case it moves to /tmp.
    """

    def __init__(self, state_dir: Path | None = None) -> None:
        self.state_dir = (state_dir or LOCAL_DIR / "postgres").resolve()
        self.state_file = self.state_dir / "server.json"
        self.passfile = self.state_dir / "pgpass"
        self.os_user = _server_os_user()

    # ------------------------------------------------------------------ facts
    @property
    def state(self) -> ServerState | None:
        return ServerState.read(self.state_file)

    @property
    def initialized(self) -> bool:
        state = self.state
        return state is not None and (Path(state.data_dir) / "PG_VERSION").is_file()

    def dsn(self, database: str = DATABASE) -> str:
        """A libpq URI without the password (it comes from the passfile)."""
        state = self._require_state()
        return (
            f"postgresql://{SUPERUSER}@127.0.0.1:{state.port}/{database}"
            f"?passfile={quote(str(self.passfile))}&connect_timeout=10"
        )

    def is_running(self) -> bool:
        state = self.state
        if state is None or not self.initialized:
            return False
        result = self._pg_ctl("status", "-D", state.data_dir, check=False)
        return result.returncode == 0

    # --------------------------------------------------------------- commands
    def start(self, restore: bool = True) -> str:
        """Initialise (first time), start, and restore the sample (first time). Returns the DSN.

        The sample archive is checked first when it will (or may) be needed: a bad
        ``DVDRENTAL_DUMP`` is a setting error before any server is initialised or started.
        """
        if restore and (os.environ.get(DUMP_ENV) or not self.initialized):
            sample_dump()
        if not self.initialized:
            self._initdb()
        state = self._require_state()
        if not self.is_running():
            port = state.port
            if not port_is_free(port):
                port = free_port()
                logger.info("port %s is taken; using %s", state.port, port)
                state = ServerState(port=port, data_dir=state.data_dir)
                state.write(self.state_file)
            self._pg_ctl(
                "start",
                "-D",
                state.data_dir,
                "-l",
                str(self._server_log_path()),
                "-w",
                "-t",
                "60",
                "-o",
                f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories=''",
            )
            logger.info("PostgreSQL started on 127.0.0.1:%s", port)
        if restore:
            self.ensure_sample_restored()
        return self.dsn()

    def stop(self) -> bool:
        """Stop the server if it runs. Returns whether it was running."""
        if not self.is_running():
            return False
        self._pg_ctl("stop", "-D", self._require_state().data_dir, "-m", "fast", "-w")
        return True

    def destroy(self) -> None:
        """Stop and delete everything (tests use this on their own instances)."""
        self.stop()
        state = self.state
        if state is not None:
            shutil.rmtree(state.data_dir, ignore_errors=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def connect(self, database: str = DATABASE, **kwargs: object) -> psycopg.Connection:
        return psycopg.connect(self.dsn(database), **kwargs)  # type: ignore[arg-type]

    def database_exists(self, name: str) -> bool:
        with self.connect("postgres", autocommit=True) as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None

    def ensure_sample_restored(self, database: str = DATABASE) -> bool:
        """Restore the sample into ``database`` once. Returns True if it restored now.

        It restores into a scratch database and renames it at the end, so an
        interrupted restore never leaves a half-filled ``dvdrental`` behind.
        """
        if self.database_exists(database):
            return False
        dump = sample_dump()
        scratch = f"{database}_restoring"
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
            conn.execute(f'CREATE DATABASE "{scratch}"')
        logger.info("restoring %s into %s", dump, database)
        result = subprocess.run(
            [
                str(find_bin_dir() / "pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--dbname",
                self.dsn(scratch),
                str(dump),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SourceServerError(f"pg_restore of {dump} failed: {result.stderr.strip().splitlines()[-1:]}")
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{scratch}" RENAME TO "{database}"')
        return True

    # -------------------------------------------------------------- internals
    def _require_state(self) -> ServerState:
        state = self.state
        if state is None:
            raise SourceServerError("The local PostgreSQL server is not set up: run `dvdrental source start`.")
        return state

    def _server_log_path(self) -> Path:
        return Path(self._require_state().data_dir).parent / "server.log"

    def _data_dir_location(self) -> Path:
        preferred = self.state_dir / "data"
        if self.os_user is None or _reachable_by(self.os_user, self.state_dir):
            return preferred
        digest = hashlib.sha1(str(self.state_dir).encode()).hexdigest()[:12]
        fallback = Path(tempfile.gettempdir()) / f"dvdrental-postgres-{digest}" / "data"
        logger.info(
            "%s cannot reach %s; keeping the PostgreSQL data directory in %s",
            self.os_user.pw_name,
            self.state_dir,
            fallback,
        )
        return fallback

    def _initdb(self) -> None:
        bin_dir = find_bin_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        data_dir = self._data_dir_location()
        if data_dir.exists():
            shutil.rmtree(data_dir)  # a half-made data dir from an interrupted initdb
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        # initdb reads the password from a file; it must be readable by the server user.
        pwfile = data_dir.parent / "initdb.pw"
        pwfile.write_text(password + "\n")
        os.chmod(pwfile, 0o600)
        if self.os_user is not None:
            os.chown(data_dir.parent, self.os_user.pw_uid, self.os_user.pw_gid)
            os.chown(pwfile, self.os_user.pw_uid, self.os_user.pw_gid)
        try:
            self._run_as_server_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self.passfile.write_text(f"127.0.0.1:*:*:{SUPERUSER}:{password}\n")
        os.chmod(self.passfile, 0o600)
        ServerState(port=free_port(), data_dir=str(data_dir)).write(self.state_file)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run_as_server_user([str(find_bin_dir() / "pg_ctl"), *args], check=check)

    def _run_as_server_user(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self.os_user is not None:
            kwargs.update(user=self.os_user.pw_uid, group=self.os_user.pw_gid, extra_groups=[])
            env["HOME"] = self.os_user.pw_dir
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            **kwargs,  # type: ignore[call-overload]
        )
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            raise SourceServerError(
                f"{Path(argv[0]).name} failed (exit {result.returncode}): {detail[-800:]}"
                + (f" See {self._server_log_path()}." if self.state else "")
            )
        return result
