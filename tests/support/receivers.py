"""Real alert receivers on 127.0.0.1: a Slack incoming webhook and an SMTP server over TLS.

:class:`SlackWebhook` answers as Slack's incoming webhooks do (https://api.slack.com/messaging/webhooks:
a POST of a JSON message with ``text`` and/or ``blocks``, answered ``200 ok``), or with an HTTP error
when told to. :class:`Mailbox` is aiosmtpd's SMTP server behind implicit TLS with a login, which is
what SQLMesh's SMTP target speaks (``smtplib.SMTP_SSL`` then ``login``); told to, it refuses every
recipient (``550``). Both record what they received.
"""

from __future__ import annotations

import email
import email.policy
import json
import ssl
import subprocess
import threading
import typing as t
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ingest.source.server import free_port

WEBHOOK_PATH = "/services/T0000TEST/B0000TEST/not-a-real-webhook-secret"
SMTP_USER = "alerts"
SMTP_PASSWORD = "not-a-real-smtp-password"


class SlackWebhook:
    """An incoming webhook on a free local port; ``posts`` holds each JSON body received."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[dict[str, t.Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != WEBHOOK_PATH:
                    self._answer(404, b"no_service")
                    return
                receiver.posts.append(json.loads(body))
                self._answer(receiver.status, b"ok" if receiver.status == 200 else b"internal_error")

            def _answer(self, status: int, text: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args: t.Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{WEBHOOK_PATH}"

    def texts(self) -> list[str]:
        """Each post as the text a person reads (every block's text, in order)."""
        return [_slack_text(post) for post in self.posts]

    def __enter__(self) -> SlackWebhook:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _slack_text(value: t.Any) -> str:
    if isinstance(value, dict):
        return "\n".join(_slack_text(v) for k, v in value.items() if k not in ("type", "style"))
    if isinstance(value, list):
        return "\n".join(_slack_text(v) for v in value)
    return value if isinstance(value, str) else ""


class Mailbox:
    """An SMTP server over TLS with a login, on a free local port; ``messages`` holds what it accepted."""

    def __init__(self, cert_dir: Path, reject: bool = False) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.reject = reject
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []
        mailbox = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
                if mailbox.reject:
                    return "550 5.1.1 Mailbox unavailable"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                mailbox.messages.append(t.cast(EmailMessage, message))
                return "250 Message accepted for delivery"

        def authenticate(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                SMTP_USER.encode(),
                SMTP_PASSWORD.encode(),
            )
            if ok:
                mailbox.logins.append(auth_data.login.decode())
            return AuthResult(success=ok)

        self._controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=free_port(),  # aiosmtpd connects to its own port once started: it must be known
            ssl_context=_tls_context(cert_dir),
            authenticator=authenticate,
            auth_require_tls=False,  # the whole session is TLS (implicit); aiosmtpd only knows STARTTLS
        )

    @property
    def port(self) -> int:
        return self._controller.port  # type: ignore[no-any-return]

    def env(self, recipients: str = "oncall@example.com") -> dict[str, str]:
        """The DVD_ALERT_SMTP_* settings that point SQLMesh's SMTP target here."""
        return {
            "DVD_ALERT_SMTP_HOST": "127.0.0.1",
            "DVD_ALERT_SMTP_PORT": str(self.port),
            "DVD_ALERT_SMTP_USER": SMTP_USER,
            "DVD_ALERT_SMTP_PASSWORD": SMTP_PASSWORD,
            "DVD_ALERT_SMTP_SENDER": "dvdrental@example.com",
            "DVD_ALERT_SMTP_RECIPIENTS": recipients,
        }

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def __enter__(self) -> Mailbox:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def _tls_context(cert_dir: Path) -> ssl.SSLContext:
    """A throw-away self-signed certificate (SQLMesh's SMTP_SSL does not verify it, as smtplib's default)."""
    cert, key = cert_dir / "smtp.crt", cert_dir / "smtp.key"
    if not cert.exists():
        cert_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
