"""What an import reports, and the checks that decide whether it commits.

Row counts per table are compared with what the copy expects; allocation sums
(per provider and class, per consumer and class) are streamed key-ordered
from both databases and merged, so even millions of allocations are verified
without holding them in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from allotment.store.source import SourceSchema

MISMATCHES_SHOWN = 20


class VerificationFailed(Exception):
    """The copy did not match the source; the target transaction was rolled back."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("the imported data does not match the source; nothing was imported")
        self.report = report


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int
    expected: int

    @property
    def ok(self) -> bool:
        return self.target == self.expected


@dataclass(frozen=True)
class SumCheck:
    name: str
    groups: int
    mismatches: int
    examples: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


@dataclass
class ImportReport:
    schema: SourceSchema
    counts: list[TableCount] = field(default_factory=list)
    sums: list[SumCheck] = field(default_factory=list)
    wiped: dict[str, int] = field(default_factory=dict)
    roots_set: int = 0
    incomplete_consumers: int = 0
    rows: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.counts) and all(s.ok for s in self.sums)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def grouped_sums(
    conn: Connection, table: Any, key: str, binary: bool, backend: str, batch_size: int
) -> Iterable[Row]:
    """``(key, class id, sum(used))`` ordered by key, streamed from the server."""
    col = table.c[key]
    order = col
    if binary and backend == "postgresql":
        order = col.collate("C")
    elif binary and backend == "mysql":
        order = sa.cast(col, sa.LargeBinary)
    stmt = (
        # An integer sum: MySQL's SUM is a DECIMAL, slow to decode row by row.
        sa.select(col, table.c.resource_class_id, sa.cast(sa.func.sum(table.c.used), sa.BigInteger))
        .group_by(col, table.c.resource_class_id)
        .order_by(order)
    )
    return conn.execute(stmt, execution_options={"yield_per": batch_size})


def fold_groups(
    rows: Iterable[Row], remap: Callable[[int], int]
) -> Iterator[tuple[Any, dict[int, int]]]:
    """Consecutive rows with the same key folded into ``{class id: sum}``."""
    current: Any = None
    sums: dict[int, int] = {}
    for key, class_id, total in rows:
        if key != current and sums:
            yield current, sums
            sums = {}
        current = key
        cls = remap(class_id)
        sums[cls] = sums.get(cls, 0) + int(total)
    if sums:
        yield current, sums


def compare_groups(
    left: Iterator[tuple[Any, dict[int, int]]], right: Iterator[tuple[Any, dict[int, int]]]
) -> tuple[int, int, list[str]]:
    """Merge two key-ordered streams: keys seen, keys that differ, a few examples."""
    examples: list[str] = []
    groups = mismatches = 0
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        groups += 1
        problem = None
        if a is not None and (b is None or a[0] < b[0]):
            problem = f"{a[0]}: source {a[1]}, target nothing"
            a = next(left, None)
        elif b is not None and (a is None or b[0] < a[0]):
            problem = f"{b[0]}: source nothing, target {b[1]}"
            b = next(right, None)
        else:
            assert a is not None and b is not None  # both streams are at the same key
            if a[1] != b[1]:
                problem = f"{a[0]}: source {a[1]}, target {b[1]}"
            a, b = next(left, None), next(right, None)
        if problem:
            mismatches += 1
            if len(examples) < MISMATCHES_SHOWN:
                examples.append(problem)
    return groups, mismatches, examples
