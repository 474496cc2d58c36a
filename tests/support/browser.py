"""Headless Chromium for tests that look at a page the way a person does.

The browser is Debian's ``chromium`` package (``make system-deps`` installs it
when we are root), driven by Playwright for Python (the ``dev`` extra). We never
run ``playwright install``: Playwright's own browser downloads are not
reachable here, and the system browser is the one a person would use anyway.

:func:`open_browser` yields a fresh page (new profile each time) and collects
console errors and uncaught page errors, so a test can assert there were none.
Tests call :func:`require_browser` first: it skips, with the reason, only when
no browser can be had on this machine, and fails instead under ``CI=true``
(:mod:`tests.support.required`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import typing as t
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from foundation.paths import ARTIFACTS_DIR
from tests.support.required import missing

SCREENSHOTS_DIR = ARTIFACTS_DIR / "screenshots"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    configured = os.environ.get("DVD_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium")
    return found


def require_browser() -> str:
    """The Chromium executable, or skip the test saying why there is none (fail under CI=true)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("Playwright for Python is not installed (pip install -e '.[dev]')")
    path = chromium_path()
    if path is None:
        can_install = os.geteuid() == 0 and shutil.which("apt-get") is not None
        if can_install:
            pytest.fail("chromium is missing but could be installed: run `make system-deps`")
        missing(
            "no Chromium on this machine and no way to install it here (not root, or no apt-get): "
            "install Debian's `chromium` package, or set DVD_CHROMIUM to a Chromium/Chrome binary"
        )
    return path


@dataclass
class PageLog:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return self.console_errors + self.page_errors


@contextmanager
def open_browser(viewport: tuple[int, int] = (1400, 900)) -> t.Iterator[tuple[t.Any, PageLog]]:
    """A fresh headless Chromium page and the log of its errors."""
    from playwright.sync_api import sync_playwright

    executable = require_browser()
    log = PageLog()
    profile = tempfile.mkdtemp(prefix="dvd-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": viewport[0], "height": viewport[1]},
            )
            try:
                page = context.new_page()
                page.on(
                    "console",
                    lambda msg: log.console_errors.append(msg.text) if msg.type == "error" else None,
                )
                page.on("pageerror", lambda error: log.page_errors.append(str(error)))
                page.on("requestfailed", lambda request: log.failed_requests.append(request.url))
                yield page, log
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: t.Any, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/ (git-ignored); returns its path."""
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
