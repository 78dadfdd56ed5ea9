"""The overview's fallback: providers no candidate summary covers are read one by one.

The overview takes most numbers from the provider summaries of
``GET /allocation_candidates?resources=VCPU:1``. This module's cloud adds
providers that query cannot reach: a host whose only VCPU is allocated to
the last unit, a host whose VCPU cannot be asked one unit of (``min_unit``
2), a host with a custom class in steps of 4 and a child without inventory
under it. The page must still show every class exactly as the API does.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.browser import cloud
from tests.browser.browser import Page, check_overview
from tests.browser.conftest import serve_seeded

UNREACHABLE = ["full-host", "min-unit-host", "fpga-host", "fpga-host-slot"]


def _seed_unreachable(base_url: str) -> None:
    with httpx.Client(base_url=base_url, headers=cloud.HEADERS, timeout=30) as client:
        cloud.provider(client, "full-host", inventories={"VCPU": {"total": 4}})
        cloud.allocate(client, "vm-on-full-host", {"full-host": {"VCPU": 4}})
        cloud.provider(
            client,
            "min-unit-host",
            inventories={"VCPU": {"total": 8, "min_unit": 2, "step_size": 2}},
        )
        cloud.allocate(client, "vm-on-min-unit-host", {"min-unit-host": {"VCPU": 2}})
        client.put("/resource_classes/CUSTOM_FPGA").raise_for_status()
        cloud.provider(
            client,
            "fpga-host",
            inventories={"CUSTOM_FPGA": {"total": 16, "min_unit": 4, "step_size": 4}},
        )
        cloud.allocate(client, "vm-on-fpga-host", {"fpga-host": {"CUSTOM_FPGA": 8}})
        cloud.provider(client, "fpga-host-slot", parent="fpga-host")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The console's test cloud plus the providers the fast path cannot cover."""
    yield from serve_seeded(tmp_path_factory, _seed_unreachable)


def test_providers_no_summary_covers_are_read_and_counted_exactly(
    page: Page, api: httpx.Client
) -> None:
    unreachable = {cloud.make_uuid(name) for name in UNREACHABLE}
    summaries = api.get("/allocation_candidates?resources=VCPU:1").json()["provider_summaries"]
    assert unreachable.isdisjoint(summaries)  # the fast path indeed misses them
    asked: list[str] = []
    page.page.on("request", lambda r: asked.append(r.url))
    expected = cloud.expected_overview(api)
    p = page.open("#/overview")
    check_overview(p, expected)
    for uuid in unreachable:
        assert any(f"/resource_providers/{uuid}/inventories" in url for url in asked), uuid
    # Custom classes in steps count like any other; full-host is as full as compute6.
    assert expected["classes"]["CUSTOM_FPGA"] == [16, 8]
    fullest = p.locator("ol.fullest li")
    assert any("full-host" in text and "4 / 4" in text for text in fullest.all_inner_texts())
    assert sorted(expected["empty"]) == ["fpga-host-slot", "spare-host"]
    for name in expected["empty"]:
        assert p.get_by_role("link", name=name).is_visible()
