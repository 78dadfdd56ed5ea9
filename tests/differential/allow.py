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


def _empty_provider_name(
    call: Call, diff: Difference, ours: httpx.Response, theirs: httpx.Response
) -> bool:
    body = call.body if isinstance(call.body, dict) else {}
    return (
        call.path.split("?")[0].startswith("/resource_providers")
        and call.method in ("POST", "PUT")
        and body.get("name") == ""
        and ours.status_code == 400
        and theirs.status_code in (200, 400)
    )


ALLOWED: tuple[Allowed, ...] = (
    Allowed(
        reason="empty provider name: upstream's schema lets '' through (PUT stores it, "
        "POST refuses it later with another text); allotment's schema refuses it on both",
        test="tests/functional/gabbits/compat-upstream-bugs.yaml",
        matches=_empty_provider_name,
    ),
)


def reason_for(
    call: Call, diff: Difference, ours: httpx.Response, theirs: httpx.Response
) -> str | None:
    for entry in ALLOWED:
        if entry.matches(call, diff, ours, theirs):
            return entry.reason
    return None
