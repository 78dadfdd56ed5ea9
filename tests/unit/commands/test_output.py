"""Tables and the terminal progress line."""

from __future__ import annotations

import io

from allotment.commands.output import Progress, table
from allotment.commands.status import Code, Result, render


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_aligns_columns() -> None:
    text = table(("a", "long header"), [(1, "x"), ("wide cell", 22)])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[1] == "| a         | long header |"
    assert lines[3] == "| 1         | x           |"


def test_progress_writes_rate_and_eta_to_a_terminal() -> None:
    stream = Terminal()
    progress = Progress(stream, min_interval=0)
    progress("allocations", 500, 1000)
    progress("allocations", 1000, 1000)
    progress.finish()
    out = stream.getvalue()
    assert "\rallocations" not in out  # each line starts by clearing the old one
    assert "allocations: 500/1000 rows" in out and "rows/s, ETA" in out
    assert out.endswith("\r\x1b[K")


def test_progress_is_silent_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream, min_interval=0)
    progress("allocations", 10, 10)
    progress.finish()
    assert stream.getvalue() == ""


def test_status_table_has_upstream_shape() -> None:
    text = render(
        [
            Result("Missing Root Provider IDs", Code.SUCCESS),
            Result("Incomplete Consumers", Code.WARNING, "there are 2"),
        ]
    )
    lines = text.splitlines()
    assert lines[1].startswith("| Upgrade Check Results")
    assert "| Check: Missing Root Provider IDs" in text
    assert "| Result: Success" in text and "| Details: None" in text
    assert "| Result: Warning" in text and "| Details: there are 2" in text
