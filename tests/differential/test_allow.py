"""The allow-list's tracing: what an allowed difference in a write drags along."""

from __future__ import annotations

import httpx

from tests.differential import allow
from tests.differential.compare import Difference
from tests.differential.generator import Call

RP = "7a7a7a7a-0000-4000-8000-000000000001"
OTHER = "7a7a7a7a-0000-4000-8000-000000000002"
CONSUMER = "7a7a7a7a-1111-4000-8000-000000000001"


def _call(method: str, path: str, body: object = None) -> Call:
    return Call(method, path, {"openstack-api-version": "placement latest"}, body)


def _diff(call: Call) -> Difference:
    return Difference(call.describe(), "status", 1, 2)


def test_a_write_only_one_side_did_lets_its_providers_differ_afterwards() -> None:
    allowances = allow.Allowances(leaked={CONSUMER})
    reshape = _call(
        "POST",
        "/reshaper",
        {
            "inventories": {RP: {"resource_provider_generation": 0, "inventories": {}}},
            "allocations": {CONSUMER: {"allocations": {}, "consumer_generation": None}},
        },
    )
    ours, theirs = httpx.Response(204), httpx.Response(409, text="conflict")
    assert allowances.reason_for(reshape, _diff(reshape), ours, theirs) == (
        allow.LEAKED_CONSUMER.reason
    )
    read = _call("GET", f"/resource_providers/{RP}")
    body_ours = httpx.Response(200, json={"uuid": RP, "generation": 1})
    body_theirs = httpx.Response(200, json={"uuid": RP, "generation": 0})
    assert allowances.reason_for(read, _diff(read), body_ours, body_theirs) == (
        allow.DIVERGED.reason
    )
    other = _call("GET", f"/resource_providers/{OTHER}")
    other_ours = httpx.Response(200, json={"uuid": OTHER, "generation": 1})
    other_theirs = httpx.Response(200, json={"uuid": OTHER, "generation": 0})
    assert allowances.reason_for(other, _diff(other), other_ours, other_theirs) is None


def test_one_provider_twice_in_the_list_form_is_allowed() -> None:
    entry = {"resource_provider": {"uuid": RP}, "resources": {"VCPU": 1}}
    put = _call("PUT", f"/allocations/{CONSUMER}", {"allocations": [entry, entry]})
    reason = allow.Allowances().reason_for(
        put, _diff(put), httpx.Response(409), httpx.Response(409)
    )
    assert reason == allow.LIST_ENTRIES_ADDED.reason
