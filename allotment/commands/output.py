"""Plain-text tables and the terminal progress line shared by the operator commands."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A boxed table (the shape upstream's upgrade check prints)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    out = [rule, line(cells[0]), rule, *(line(r) for r in cells[1:]), rule]
    return "\n".join(out)


class Progress:
    """``table: done/total rows, rate, ETA`` on one line of a terminal; silent otherwise."""

    def __init__(self, stream: TextIO | None = None, min_interval: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.min_interval = min_interval
        self.started = time.monotonic()
        self.rows = 0
        self.last_table: str | None = None
        self.last_done = 0
        self.last_draw = 0.0

    def __call__(self, name: str, done: int, total: int) -> None:
        if name != self.last_table:
            self.last_table, self.last_done = name, 0
        self.rows += done - self.last_done
        self.last_done = done
        now = time.monotonic()
        if not self.enabled or (now - self.last_draw < self.min_interval and done < total):
            return
        self.last_draw = now
        rate = self.rows / max(now - self.started, 1e-9)
        eta = (total - done) / rate if rate else 0.0
        self.stream.write(
            f"\r\x1b[K{name}: {done}/{total} rows, {rate:,.0f} rows/s, ETA {eta:.0f}s"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
