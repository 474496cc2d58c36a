"""A local Databricks SQL endpoint for tests: Spark's Thrift Server over HTTPS, loopback only.

Production's ``databricks`` gateway reaches a SQL warehouse through the databricks-sql-connector:
Thrift (Hive's CLI service, extended by Databricks) over HTTPS, a bearer token in the headers.
Spark ships that server: pyspark's wheel holds ``spark-hive-thriftserver_2.12-3.5.9.jar``, so
``spark-submit --class org.apache.spark.sql.hive.thriftserver.HiveThriftServer2`` runs one with
the very session settings of config.yaml's ``databricks_spark`` gateway (Iceberg jars, ANSI mode,
Iceberg as the default format). What this module sets on top:

* **HTTP transport** at ``/cliservice`` (the connector speaks only HTTP);
* **TLS** with a throw-away CA made by ``keytool`` at each start: the server's certificate
  (``SAN=ip:127.0.0.1,dns:localhost``) is signed by it, and :attr:`Endpoint.ca_file` is what a
  client trusts; nothing leaves the state directory;
* **NOSASL**: the connector's ``Authorization: Bearer <token>`` is then ignored (with ``NONE``
  the server parses it as Basic and refuses it);
* **loopback only**: in HTTP mode the server ignores ``hive.server2.thrift.bind.host`` (its
  ``ThriftHttpCLIService`` never calls Jetty's ``setHost``, so it listens on every interface).
  :func:`loopback_jar` builds a jar, put first on the driver's class path, holding
  ``LoopbackServerConnector`` (a Jetty ``ServerConnector`` whose constructor sets host
  127.0.0.1; its class file is assembled here, no JDK needed) and a copy of
  ``ThriftHttpCLIService`` whose constant pool names that class instead of Jetty's (the
  constant-pool rewrite of :mod:`dvdrental.local_databricks.iceberg_jars`). Spark's own ports
  bind to 127.0.0.1 through ``spark.driver.bindAddress``; the UI is off.

``python -m dvdrental.local_databricks.endpoint start|stop|status`` runs it by hand; tests use
:func:`running_endpoint`. State (certificates, Spark warehouse, metastore, log, pid) lives in
``$DVD_DATABRICKS_LOCAL_DIR`` (default ``.local/databricks-local``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
import typing as t
import zipfile
from dataclasses import dataclass
from pathlib import Path

from dvdrental.local_databricks.iceberg_jars import relocate_class
from foundation.errors import ConfigError, PipelineError, WarehouseError
from foundation.paths import PROJECT_ROOT

logger = logging.getLogger(__name__)

STATE_DIR_ENV = "DVD_DATABRICKS_LOCAL_DIR"
DEFAULT_STATE_DIR = PROJECT_ROOT / ".local" / "databricks-local"
HOST = "127.0.0.1"
HTTP_PATH = "cliservice"  # the server's servlet path; the connector sends DATABRICKS_HTTP_PATH=/cliservice
SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
THRIFT_JAR = "spark-hive-thriftserver_2.12-3.5.9.jar"
HTTP_SERVICE_CLASS = "org/apache/hive/service/cli/thrift/ThriftHttpCLIService.class"
JETTY_CONNECTOR = b"org/sparkproject/jetty/server/ServerConnector"
LOOPBACK_CONNECTOR = b"dvdrental/LoopbackServerConnector"
START_TIMEOUT_SECONDS = 240.0


@dataclass(frozen=True)
class Endpoint:
    """A running local endpoint: what a client needs to reach it."""

    port: int
    pid: int
    ca_file: Path
    state_dir: Path

    @property
    def http_path(self) -> str:
        return "/" + HTTP_PATH


def state_dir() -> Path:
    return PROJECT_ROOT / Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)


# -- TLS: a throw-away CA and the server's keystore -------------------------------------------


def _keytool(*args: str) -> None:
    try:
        subprocess.run(["keytool", *args], check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise ConfigError("keytool not found: the local Databricks endpoint needs Java 17 on PATH") from None
    except subprocess.CalledProcessError as error:
        raise ConfigError(f"keytool {args[0]} failed: {error.stderr.strip() or error.stdout.strip()}") from None


def make_tls(directory: Path, password: str) -> tuple[Path, Path]:
    """A new CA and a server keystore (PKCS12) signed by it; returns (keystore, CA certificate PEM)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_store, keystore = directory / "ca.p12", directory / "server.p12"
    ca_pem, csr, server_pem = directory / "ca.pem", directory / "server.csr", directory / "server.pem"
    for path in (ca_store, keystore, ca_pem, csr, server_pem):
        path.unlink(missing_ok=True)
    store = ["-storetype", "PKCS12", "-storepass", password]
    _keytool("-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-validity", "7",
             "-dname", "CN=dvdrental local CA", "-ext", "bc:c", "-keystore", str(ca_store), *store)  # fmt: skip
    _keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", str(ca_store), "-file", str(ca_pem), *store)
    _keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-validity", "7",
             "-dname", "CN=localhost", "-keystore", str(keystore), *store)  # fmt: skip
    _keytool("-certreq", "-alias", "server", "-keystore", str(keystore), "-file", str(csr), *store)
    _keytool("-gencert", "-alias", "ca", "-keystore", str(ca_store), "-infile", str(csr), "-outfile",
             str(server_pem), "-rfc", "-validity", "7", "-ext", "SAN=ip:127.0.0.1,dns:localhost", *store)  # fmt: skip
    _keytool("-importcert", "-noprompt", "-alias", "ca", "-file", str(ca_pem), "-keystore", str(keystore), *store)
    _keytool("-importcert", "-alias", "server", "-file", str(server_pem), "-keystore", str(keystore), *store)
    for path in (ca_store, keystore):
        path.chmod(0o600)
    return keystore, ca_pem


# -- loopback only: Jetty's connector with a host -----------------------------------------------


def _utf8(text: bytes) -> bytes:
    return b"\x01" + struct.pack(">H", len(text)) + text


def loopback_connector_class(host: str = HOST) -> bytes:
    """The class file of ``dvdrental.LoopbackServerConnector``: Jetty's ``ServerConnector`` whose
    7-argument constructor (the one ThriftHttpCLIService calls) ends with ``setHost(host)``."""
    init_descriptor = (
        b"(Lorg/sparkproject/jetty/server/Server;Ljava/util/concurrent/Executor;"
        b"Lorg/sparkproject/jetty/util/thread/Scheduler;Lorg/sparkproject/jetty/io/ByteBufferPool;"
        b"II[Lorg/sparkproject/jetty/server/ConnectionFactory;)V"
    )
    pool = [
        _utf8(LOOPBACK_CONNECTOR),  # 1
        b"\x07" + struct.pack(">H", 1),  # 2 Class this
        _utf8(JETTY_CONNECTOR),  # 3
        b"\x07" + struct.pack(">H", 3),  # 4 Class super
        _utf8(b"<init>"),  # 5
        _utf8(init_descriptor),  # 6
        b"\x0c" + struct.pack(">HH", 5, 6),  # 7 NameAndType <init>
        b"\x0a" + struct.pack(">HH", 4, 7),  # 8 Methodref super.<init>
        _utf8(b"setHost"),  # 9
        _utf8(b"(Ljava/lang/String;)V"),  # 10
        b"\x0c" + struct.pack(">HH", 9, 10),  # 11 NameAndType setHost
        b"\x0a" + struct.pack(">HH", 4, 11),  # 12 Methodref setHost (inherited)
        _utf8(host.encode()),  # 13
        b"\x08" + struct.pack(">H", 13),  # 14 String host
        _utf8(b"Code"),  # 15
    ]
    code = bytes(
        [0x2A, 0x2B, 0x2C, 0x2D, 0x19, 4, 0x15, 5, 0x15, 6, 0x19, 7]  # this and the 7 arguments
        + [0xB7, 0, 8]  # invokespecial super.<init>
        + [0x2A, 0x12, 14, 0xB6, 0, 12]  # this.setHost(host)
        + [0xB1]  # return
    )
    code_attribute = struct.pack(">HHI", 8, 8, len(code)) + code + struct.pack(">HH", 0, 0)
    method = struct.pack(">HHHH", 0x0001, 5, 6, 1) + struct.pack(">HI", 15, len(code_attribute)) + code_attribute
    return (
        b"\xca\xfe\xba\xbe" + struct.pack(">HH", 0, 52) + struct.pack(">H", len(pool) + 1) + b"".join(pool)
        + struct.pack(">HHHHHH", 0x0021, 2, 4, 0, 0, 1) + method + struct.pack(">H", 0)
    )  # fmt: skip


def _pyspark_home() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.origin:
        raise ConfigError("pyspark is not installed: the local endpoint needs it (`pip install -e '.[dev]'`)")
    return Path(spec.origin).parent


def loopback_jar(directory: Path) -> Path:
    """The jar that makes the HTTP Thrift server listen on 127.0.0.1 only (see the module doc)."""
    thrift_jar = _pyspark_home() / "jars" / THRIFT_JAR
    if not thrift_jar.is_file():
        raise ConfigError(f"{thrift_jar} is missing: the local endpoint needs pyspark 3.5.9's Thrift server jar")
    with zipfile.ZipFile(thrift_jar) as jar:
        original = jar.read(HTTP_SERVICE_CLASS)
    patched = relocate_class(original, lambda value: LOOPBACK_CONNECTOR if value == JETTY_CONNECTOR else value)
    if patched == original:
        raise ConfigError(f"{HTTP_SERVICE_CLASS} in {thrift_jar.name} no longer names Jetty's ServerConnector")
    target = directory / "loopback-thriftserver.jar"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as out:
        out.writestr(HTTP_SERVICE_CLASS, patched)
        out.writestr(LOOPBACK_CONNECTOR.decode() + ".class", loopback_connector_class())
    return target


# -- the server ---------------------------------------------------------------------------------


def server_settings(spark_dir: Path) -> dict[str, str]:
    """The Spark settings: config.yaml's ``databricks_spark`` session, in ``spark_dir``."""
    from dvdrental.local_databricks.iceberg_jars import prepare_spark_jars
    from dvdrental.local_databricks.session import SPARK_DIR_ENV, gateway_spark_config
    from dvdrental.warehouse.gateways import DATABRICKS_SPARK
    from foundation.settings import temporary_env

    with temporary_env(**{SPARK_DIR_ENV: str(spark_dir)}):
        settings = prepare_spark_jars(gateway_spark_config(DATABRICKS_SPARK))
    return {
        **settings,
        "spark.driver.bindAddress": HOST,
        "spark.driver.host": HOST,
        "spark.ui.enabled": "false",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _state_file(directory: Path) -> Path:
    return directory / "endpoint.json"


def running(directory: Path | None = None) -> Endpoint | None:
    """The endpoint this state directory started, if it still runs."""
    directory = directory or state_dir()
    path = _state_file(directory)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    endpoint = Endpoint(int(data["port"]), int(data["pid"]), Path(data["ca_file"]), directory)
    return endpoint if _alive(endpoint.pid) and _listening(endpoint.port) else None


def start(directory: Path | None = None, timeout: float = START_TIMEOUT_SECONDS) -> Endpoint:
    """Start the endpoint (a no-op when this state directory's one runs); waits until it listens."""
    directory = directory or state_dir()
    existing = running(directory)
    if existing:
        return existing
    directory.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    keystore, ca_file = make_tls(directory / "tls", password)
    port = _free_port()
    settings = server_settings(directory / "spark")
    os.makedirs(settings["spark.sql.warehouse.dir"], exist_ok=True)
    home = _pyspark_home()
    command = [str(home / "bin" / "spark-submit"), "--class", SERVER_CLASS, "--name", "dvdrental-databricks-local"]
    command += ["--driver-class-path", str(loopback_jar(directory))]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    hive = {
        "hive.server2.transport.mode": "http",
        "hive.server2.thrift.http.port": str(port),
        "hive.server2.thrift.http.path": HTTP_PATH,
        "hive.server2.thrift.bind.host": HOST,  # ignored in HTTP mode (see the module doc), kept for clarity
        "hive.server2.use.SSL": "true",
        "hive.server2.keystore.path": str(keystore),
        "hive.server2.keystore.password": password,  # a throw-away keystore's, made above
        "hive.server2.authentication": "NOSASL",
        "hive.server2.enable.doAs": "false",
    }
    command.append("spark-internal")
    for key, value in hive.items():
        command += ["--hiveconf", f"{key}={value}"]
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(directory), "SPARK_CONF_DIR": str(directory)}
    log = directory / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    endpoint = Endpoint(port, process.pid, ca_file, directory)
    _state_file(directory).write_text(json.dumps({"port": port, "pid": process.pid, "ca_file": str(ca_file)}))
    started = time.monotonic()
    while not _listening(port):
        if process.poll() is not None:
            raise WarehouseError(f"the local Databricks endpoint exited ({process.returncode}) on start: see {log}")
        if time.monotonic() - started > timeout:
            stop(directory)
            raise WarehouseError(f"the local Databricks endpoint did not listen within {timeout:.0f}s: see {log}")
        time.sleep(0.5)
    seconds = time.monotonic() - started
    logger.info("local Databricks endpoint on https://%s:%s/%s (%.0fs)", HOST, port, HTTP_PATH, seconds)
    return endpoint


def stop(directory: Path | None = None, timeout: float = 30.0) -> bool:
    """Stop this state directory's endpoint (its whole process group); False when none ran."""
    directory = directory or state_dir()
    path = _state_file(directory)
    if not path.is_file():
        return False
    pid = int(json.loads(path.read_text())["pid"])
    path.unlink()
    if not _alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    return True


def listening_addresses(pid: int) -> list[str]:
    """The local addresses (``ip:port``) the process ``pid`` and its children listen on (from /proc)."""
    inodes: set[str] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if int(proc.name) != pid and os.getpgid(int(proc.name)) != pid:
                continue
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    addresses = []
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    address, port = fields[1].split(":")
                    raw = bytes.fromhex(address)
                    # /proc prints each 32-bit word in host (little-endian) order
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                    addresses.append(f"{socket.inet_ntop(family, words)}:{int(port, 16)}")
    return sorted(addresses)


@contextlib.contextmanager
def running_endpoint(directory: Path) -> t.Iterator[Endpoint]:
    """An endpoint in ``directory`` for the duration of the block (the test harness's)."""
    endpoint = start(directory)
    try:
        yield endpoint
    finally:
        stop(directory)


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dvdrental.local_databricks.endpoint",
        description="Start, stop or describe the local Databricks SQL endpoint (Spark Thrift Server over HTTPS).",
    )
    parser.add_argument("action", choices=("start", "stop", "status"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.action == "start":
            endpoint = start()
            print(
                f"local Databricks endpoint: DATABRICKS_SERVER_HOSTNAME={HOST} "
                f"DATABRICKS_HTTP_PATH={endpoint.http_path} port {endpoint.port}, "
                f"CA {endpoint.ca_file} (pid {endpoint.pid})"
            )
        elif args.action == "stop":
            print("local Databricks endpoint stopped" if stop() else "local Databricks endpoint was not running")
        else:
            found = running()
            print(f"running on port {found.port} (pid {found.pid})" if found else "not running")
            return 0 if found else 1
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
