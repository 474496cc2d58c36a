"""A required part of the test machine is missing: skip on a developer's machine, fail in CI.

A skip is the honest answer on a laptop without root or without Superset's wheels, but in CI
(``CI=true``: the environment `.ci/run` runs in, and every common CI service sets it) the same skip
would turn a broken install or a lost privilege into a green run. So under CI a missing part
fails the test, with the same reason.
"""

from __future__ import annotations

import os
import typing as t

import pytest

CI_ENV = "CI"


def in_ci() -> bool:
    """True when the CI variable says so (``true``/``1``/``yes``, any case)."""
    return os.environ.get(CI_ENV, "").strip().lower() in ("1", "true", "yes")


def missing(reason: str) -> t.NoReturn:
    """Skip the test saying ``reason``; under ``CI=true`` fail it instead (a required part is gone)."""
    if in_ci():
        pytest.fail(
            f"{reason} ({CI_ENV}=true: a part the suite requires is missing, so this fails instead of skipping)"
        )
    pytest.skip(reason)
