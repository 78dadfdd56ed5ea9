"""Deliberate differences from placement 16.0.0: each with its reason and its test.

Every entry names an upstream bug that allotment fixes on purpose (see
docs/candidates-compat.md, "Other deliberate differences"). ``Allowances``
returns the entry's reason when a difference is one of them, else ``None``:
the difference then fails the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tests.differential.compare import Difference
from tests.differential.generator import Call

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MISSING_PROVIDER = "that does not exist."


@dataclass(frozen=True)
class Allowed:
    reason: str
    test: str  # the test that pins allotment's answer


EMPTY_NAME = Allowed(
    reason="empty provider name: upstream's schema lets '' through (PUT stores it, "
    "POST refuses it later with another text); allotment's schema refuses it on both",
    test="tests/functional/gabbits/compat-upstream-bugs.yaml",
)
LEAKED_CONSUMER = Allowed(
    reason="leaked consumer: upstream creates the consumer before it finds that a "
    "provider named in the allocations does not exist, answers 400 and keeps the "
    "consumer (generation 0); allotment writes nothing on a refused request",
    test="tests/functional/gabbits/compat-upstream-bugs.yaml",
)

DUPLICATE_INVENTORY = Allowed(
    reason="duplicate inventory: upstream's 409 for POST of a class the provider already "
    "has quotes the database driver's IntegrityError and SQL; allotment names the class",
    test="tests/functional/gabbits/compat-upstream-bugs.yaml",
)

REPEATED_CANDIDATE_PARAMETER = Allowed(
    reason="repeated limit or group_policy: upstream checks the last value against its "
    "schema and uses the first one unchecked (limit=0 honoured, limit=x a 500, an "
    "unknown group_policy accepted); allotment refuses any invalid value",
    test="tests/functional/gabbits/compat-upstream-bugs.yaml",
)

LIST_ENTRIES_ADDED = Allowed(
    reason="one provider twice in the list form of allocations (below 1.12): upstream "
    "keeps only the last entry; allotment adds the entries up",
    test="tests/functional/gabbits/compat-upstream-bugs.yaml",
)
DIVERGED = Allowed(
    reason="after an allowed difference in a write (one system wrote, the other refused), "
    "the providers that write named differ in generation or content on both sides",
    test="tests/differential/test_allow.py",
)


def _repeated_list_provider(call: Call) -> bool:
    allocations = call.body.get("allocations") if isinstance(call.body, dict) else None
    if not isinstance(allocations, list):
        return False
    uuids = [
        str(item.get("resource_provider", {}).get("uuid", "")).lower().replace("-", "")
        for item in allocations
        if isinstance(item, dict) and isinstance(item.get("resource_provider"), dict)
    ]
    return len(uuids) != len(set(uuids))


def _providers_named(call: Call) -> set[str]:
    """Every provider uuid in the path or the body of a write."""
    text = call.path + ((call.content() or b"").decode("utf-8", "replace"))
    return set(UUID.findall(text))


def _repeated_candidate_parameter(call: Call, ours: httpx.Response) -> bool:
    path, _, query = call.path.partition("?")
    names = [item.split("=", 1)[0] for item in query.split("&") if item]
    return (
        path == "/allocation_candidates"
        and ours.status_code == 400
        and "Invalid query string parameters" in ours.text
        and any(names.count(name) > 1 for name in ("limit", "group_policy"))
    )


def _empty_provider_name(call: Call, ours: httpx.Response, theirs: httpx.Response) -> bool:
    body = call.body if isinstance(call.body, dict) else {}
    return (
        call.path.split("?")[0].startswith("/resource_providers")
        and call.method in ("POST", "PUT")
        and body.get("name") == ""
        and ours.status_code == 400
        and theirs.status_code in (200, 400)
    )


def _consumers_named(call: Call) -> set[str]:
    path = call.path.split("?")[0]
    found = set()
    if path.startswith("/allocations/"):
        found.add(path.rsplit("/", 1)[-1])
    body = call.body
    if path == "/allocations" and isinstance(body, dict):
        found.update(body)
    if path == "/reshaper" and isinstance(body, dict):
        found.update(body.get("allocations") or {})
    return {uuid for uuid in found if UUID.fullmatch(uuid)}


@dataclass
class Allowances:
    """The allow-list for one seeded run: some entries depend on what came before."""

    leaked: set[str] = field(default_factory=set)
    diverged: set[str] = field(default_factory=set)
    rules: tuple[tuple[Allowed, Callable[..., bool]], ...] = ()

    def observe(self, call: Call, theirs: httpx.Response) -> None:
        """Note the consumers upstream leaked with this answer."""
        if call.method in ("PUT", "POST") and theirs.status_code == 400:
            if (
                MISSING_PROVIDER in theirs.text
                and "Allocation for resource provider" in theirs.text
            ):
                self.leaked.update(_consumers_named(call))

    def reason_for(
        self, call: Call, diff: Difference, ours: httpx.Response, theirs: httpx.Response
    ) -> str | None:
        reason = self._reason(call, ours, theirs)
        if (
            reason
            and call.method != "GET"
            and (ours.status_code < 300) != (theirs.status_code < 300)
        ):
            # One side wrote and the other did not: what that write touched differs.
            self.diverged.update(_providers_named(call))
        seen = call.path + ours.text + theirs.text
        if reason is None and any(uuid in seen for uuid in self.diverged):
            reason = DIVERGED.reason
        return reason

    def _reason(self, call: Call, ours: httpx.Response, theirs: httpx.Response) -> str | None:
        if _empty_provider_name(call, ours, theirs):
            return EMPTY_NAME.reason
        if call.method == "PUT" and _repeated_list_provider(call):
            return LIST_ENTRIES_ADDED.reason
        if _repeated_candidate_parameter(call, ours):
            return REPEATED_CANDIDATE_PARAMETER.reason
        if self.leaked & _consumers_named(call):
            return LEAKED_CONSUMER.reason
        if (
            call.method == "POST"
            and call.path.endswith("/inventories")
            and ours.status_code == theirs.status_code == 409
            and "IntegrityError" in theirs.text
            and "already exists on resource provider" in ours.text
        ):
            return DUPLICATE_INVENTORY.reason
        return None
