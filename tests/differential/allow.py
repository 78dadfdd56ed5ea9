"""Deliberate differences from placement 16.0.0: each with its reason and its test.

Every entry names an upstream bug that allotment fixes on purpose (see
docs/candidates-compat.md). ``reason_for`` returns the entry's reason when a
difference is one of them, else ``None``: the difference then fails the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tests.differential.compare import Difference
from tests.differential.generator import Call


@dataclass(frozen=True)
class Allowed:
    reason: str
    test: str  # the test that pins allotment's answer
    matches: Callable[[Call, Difference, httpx.Response, httpx.Response], bool]


ALLOWED: tuple[Allowed, ...] = ()


def reason_for(
    call: Call, diff: Difference, ours: httpx.Response, theirs: httpx.Response
) -> str | None:
    for entry in ALLOWED:
        if entry.matches(call, diff, ours, theirs):
            return entry.reason
    return None
