"""Reading settings from the environment (and a git-ignored ``.env``).

Secrets are only ever read here, never printed: :func:`describe` reports
whether a setting is present, not its value.
"""

from __future__ import annotations

import contextlib
import os
import typing as t
from pathlib import Path

from dotenv import load_dotenv

from foundation.errors import ConfigError, MissingSettingError
from foundation.paths import PROJECT_ROOT

_loaded = False

# The .env file to read instead of <project>/.env (os.devnull: none). The test suite sets it so a
# developer's own .env never fills in a setting a test left out on purpose.
ENV_FILE_ENV = "DVD_ENV_FILE"


def env_file() -> Path:
    """The .env file settings are read from: ``$DVD_ENV_FILE``, else ``<project>/.env``."""
    configured = os.environ.get(ENV_FILE_ENV)
    return Path(configured) if configured else PROJECT_ROOT / ".env"


def load_env_file() -> None:
    """Load the .env file (:func:`env_file`) once; real environment variables win over it."""
    global _loaded
    if not _loaded:
        _loaded = True
        path = env_file()
        if os.environ.get(ENV_FILE_ENV) and not path.exists():
            raise ConfigError(
                f"{ENV_FILE_ENV}={path} does not exist: point it at a .env file, "
                f"or unset it to read {PROJECT_ROOT / '.env'}."
            )
        load_dotenv(path, override=False)


def optional(name: str, default: str | None = None) -> str | None:
    load_env_file()
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def required(name: str, purpose: str) -> str:
    value = optional(name)
    if value is None:
        raise MissingSettingError(name, purpose)
    return value


def number(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = optional(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number.") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw} must be at least {minimum:g}.")
    return value


def describe(name: str) -> str:
    """'set' or 'missing' — safe to print, never the value."""
    return "set" if optional(name) is not None else "missing"


@contextlib.contextmanager
def temporary_env(**values: str | None) -> t.Iterator[None]:
    """Set (or, with None, unset) environment variables for the block, then restore them.

    For settings read by something we cannot pass arguments to, such as config.yaml's
    ``env_var(...)`` while SQLMesh loads it.
    """
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
