"""Where a candidate search gets its providers: the protocol and its SQL implementation.

A search (``search.find_candidates``) asks a ``CandidateSource`` for a plan,
then windows of root ids, the anchors of each window and the trees of each
chunk of anchors. ``SqlSource`` answers with queries on the request's
connection (``research``); ``model.ModelSource`` answers from the worker's
in-memory model of the providers, kept fresh from the change feed.
Both return the same ``Plan``, anchors and ``Universe`` for the same data,
so the assembler and everything after it cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from sqlalchemy.engine import Connection

from allotment.store.candidates import research
from allotment.store.candidates.request import CandidateRequest
from allotment.store.candidates.research import Plan, Window
from allotment.store.candidates.universe import Universe

# The narrowest first window (roots, or provider ids on SQL).
MIN_WINDOW = 16


class CandidateSource(Protocol):
    def first_window(self, stop: int) -> int:
        """How wide the first window is when ``stop`` candidates are wanted."""
        ...

    def plan(self, request: CandidateRequest, windowed: bool) -> Plan:
        """Names, ``in_tree`` roots, sharing providers; unknown names raise NotFound."""
        ...

    def windows(self, plan: Plan, first: int | None, grow: bool = True) -> Iterator[Window]:
        """Root id ranges to search in turn (one None window: every root); each
        twice as wide as the one before, or (not ``grow``) all as wide."""
        ...

    def anchors(self, plan: Plan, window: Window) -> list[int]:
        """Roots in ``window`` where every group may be served, in id order."""
        ...

    def load(self, plan: Plan, anchors: list[int]) -> Universe:
        """The trees of ``anchors`` and of the sharing providers linked to them."""
        ...


class SqlSource:
    """Research by SQL on one connection (``research``'s set-based queries)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def first_window(self, stop: int) -> int:
        # Each window costs C + 2 queries: overshoot rather than ask again.
        return max(MIN_WINDOW, 2 * stop)

    def plan(self, request: CandidateRequest, windowed: bool) -> Plan:
        return research.plan(self.conn, request, windowed=windowed)

    def windows(self, plan: Plan, first: int | None, grow: bool = True) -> Iterator[Window]:
        return research.windows(plan, first, grow)

    def anchors(self, plan: Plan, window: Window) -> list[int]:
        return research.anchors(self.conn, plan, window)

    def load(self, plan: Plan, anchors: list[int]) -> Universe:
        return research.load(self.conn, plan, anchors)
