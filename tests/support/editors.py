"""What people keep open beside the pipeline, started for real: SQLMesh's language server (the VS Code
extension's `sqlmesh_lsp`, driven over stdio as the editor drives it) and `sqlmesh ui`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import typing as t
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from foundation.paths import PROJECT_ROOT

SQLMESH = str(Path(sys.executable).with_name("sqlmesh"))
SQLMESH_LSP = str(Path(sys.executable).with_name("sqlmesh_lsp"))
UI_STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, timeout: float = 60) -> t.Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


class LanguageServer:
    """A running ``sqlmesh_lsp``: JSON-RPC requests over its stdin/stdout, one at a time.

    The custom methods are SQLMesh's (sqlmesh/lsp/custom.py): ``sqlmesh/get_environments`` reads state,
    ``sqlmesh/run_test`` runs one YAML unit test, the two requests an editor sends that touch the project's
    connections."""

    def __init__(self, env: dict[str, str], stderr: Path, project: Path = PROJECT_ROOT) -> None:
        self.project = project
        self._stderr = stderr.open("w")
        self.process = subprocess.Popen(
            [SQLMESH_LSP], cwd=project, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr
        )
        self._ids = 0
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": project.as_uri(),
                "capabilities": {},
                "workspaceFolders": [{"uri": project.as_uri(), "name": project.name}],
            },
        )
        self._send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def request(self, method: str, params: dict[str, t.Any]) -> t.Any:
        """The result of ``method`` (an AssertionError with the server's error, if it answered one)."""
        self._ids += 1
        self._send({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        while True:  # skip the server's own notifications and requests (logs, diagnostics)
            message = self._receive()
            if message.get("id") == self._ids and "method" not in message:
                assert "error" not in message, f"{method}: {message['error']}"
                return message["result"]

    def open_files(self) -> list[str]:
        """Every file the server process holds open (Linux /proc)."""
        fds = Path(f"/proc/{self.process.pid}/fd")
        return [os.readlink(fd) for fd in fds.iterdir()]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()

    def _send(self, message: dict[str, t.Any]) -> None:
        body = json.dumps(message).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        self.process.stdin.flush()

    def _receive(self) -> dict[str, t.Any]:
        assert self.process.stdout is not None
        length = None
        while True:
            line = self.process.stdout.readline()
            assert line, f"sqlmesh_lsp ended (exit {self.process.poll()})"
            line = line.strip()
            if not line:
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        assert length is not None, "a message without Content-Length"
        return json.loads(self.process.stdout.read(length))


@contextmanager
def language_server(env: dict[str, str], stderr: Path, project: Path = PROJECT_ROOT) -> t.Iterator[LanguageServer]:
    server = LanguageServer(env, stderr, project)
    try:
        yield server
    finally:
        server.close()


@contextmanager
def sqlmesh_ui(env: dict[str, str], log_path: Path, project: Path = PROJECT_ROOT) -> t.Iterator[str]:
    """``sqlmesh ui --host 127.0.0.1 --port N`` as a person starts it; yields its URL once /api/meta answers."""
    import pytest

    port = free_port()
    log = log_path.open("w")
    server = subprocess.Popen(
        [SQLMESH, "ui", "--host", "127.0.0.1", "--port", str(port)],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + UI_STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"sqlmesh ui exited with {server.returncode}: {log_path.read_text()[-2000:]}")
            try:
                get_json(f"{url}/api/meta", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"sqlmesh ui did not answer within {UI_STARTUP_SECONDS}s")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
