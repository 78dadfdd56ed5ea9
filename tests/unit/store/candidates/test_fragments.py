"""Rendered provider summaries are reused only while their provider is unchanged."""

from __future__ import annotations

import dataclasses

import orjson

from allotment.store.candidates.fragments import FragmentCache
from allotment.store.candidates.universe import Inventory, Provider


def _provider(used: int) -> Provider:
    return Provider(1, "u1", 1, inventories={"VCPU": Inventory(total=8, used=used)})


def _render(provider: Provider) -> dict:
    vcpu = provider.inventories["VCPU"]
    return {"resources": {"VCPU": {"capacity": vcpu.summary_capacity, "used": vcpu.used}}}


def test_fragment_is_the_json_of_the_summary() -> None:
    provider = _provider(2)
    fragment = FragmentCache().fragment(provider, "k", _render)
    assert orjson.dumps({"p": fragment}) == orjson.dumps({"p": _render(provider)})


def test_same_provider_object_is_rendered_once() -> None:
    cache, calls = FragmentCache(), []

    def counting(provider: Provider) -> dict:
        calls.append(provider.id)
        return _render(provider)

    provider = _provider(2)
    first = cache.fragment(provider, "k", counting)
    assert cache.fragment(provider, "k", counting) is first
    assert calls == [1]
    cache.fragment(provider, "other key", counting)
    assert calls == [1, 1]


def test_a_replaced_provider_is_rendered_anew() -> None:
    """The model replaces a provider's object when the change feed names its tree."""
    cache = FragmentCache()
    before = _provider(2)
    cache.fragment(before, "k", _render)
    after = dataclasses.replace(before, inventories={"VCPU": Inventory(total=8, used=5)})
    body = orjson.loads(orjson.dumps(cache.fragment(after, "k", _render)))
    assert body["resources"]["VCPU"]["used"] == 5


def test_capacity_bounds_the_entries_not_the_answers() -> None:
    cache = FragmentCache(capacity=2)
    providers = [Provider(i, f"u{i}", i) for i in range(1, 5)]
    fragments = [cache.fragment(p, "k", lambda p: {"id": p.id}) for p in providers]
    assert len(cache) == 2
    assert [orjson.loads(orjson.dumps(f))["id"] for f in fragments] == [1, 2, 3, 4]
    cache.clear()
    assert len(cache) == 0
