"""Progress lines: complete plain lines in a log or pipe, a live status line only on a terminal."""

from __future__ import annotations

import io

from dvdrental.warehouse.progress import ModelProgress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream: io.StringIO) -> str:
    progress = ModelProgress(stream=lambda: stream)
    progress.evaluation_started(2, audit_only=False)
    progress.model_started("staging.dvd_rental")
    progress.model_done("staging.dvd_rental", 0.5, audits_failed=0)
    progress.model_started("gold.fact_rental")
    progress.model_done("gold.fact_rental", 1.25, audits_failed=1)
    progress.evaluation_stopped(success=False)
    return stream.getvalue()


def test_a_log_gets_one_plain_line_per_model() -> None:
    text = _run(io.StringIO())
    assert "\r" not in text and "\033" not in text
    assert text.splitlines() == [
        "transform: 2 model batches to evaluate",
        "transform [1/2] staging.dvd_rental  0.50s",
        "transform [2/2] gold.fact_rental  1.25s  1 audit FAILED",
        text.splitlines()[-1],
    ]
    assert text.splitlines()[-1].startswith("transform: FAILED, 2/2 batches in ")


def test_a_terminal_sees_the_model_being_evaluated() -> None:
    text = _run(_Terminal())
    assert "transform: evaluating gold.fact_rental ..." in text
    # Each status line is cleared by the line that follows it, so the screen keeps only finished lines.
    assert text.count("\r\033[K") == 4
    assert "\r\033[Ktransform [2/2] gold.fact_rental" in text
