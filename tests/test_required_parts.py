"""tests/support/required.py: a missing required part skips on a laptop and fails under CI=true.

The superset, tmpfs (disk-full, read-only) and browser tests go through it, so a broken Superset pin
or a lost mount privilege cannot turn `make test` green in CI.
"""

from __future__ import annotations

import pytest

from tests.support.required import missing


@pytest.mark.parametrize("ci", ["true", "TRUE", "1", "yes"])
def test_missing_part_fails_under_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(BaseException) as outcome:  # caught whatever it is: a skip here would skip this test
        missing("cannot mount a tmpfs")
    assert outcome.type is pytest.fail.Exception, outcome.type
    assert outcome.match(r"^cannot mount a tmpfs \(CI=true: .*fails instead of skipping\)$")


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_missing_part_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(BaseException) as outcome:
        missing("cannot mount a tmpfs")
    assert outcome.type is pytest.skip.Exception, outcome.type
    assert str(outcome.value) == "cannot mount a tmpfs"
