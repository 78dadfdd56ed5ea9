"""The comparator's normalisation of texts upstream builds from Python sets."""

from __future__ import annotations

import httpx

from tests.differential.compare import body_of

A = "1d6608f7-02d3-4789-7bf8-322a12847494"
B = "a638caa5-be54-1a11-dafc-cd9f4fa0336c"


def _html(providers: str) -> httpx.Response:
    text = (
        "Unable to allocate inventory: Inventory for &#x27;DISK_GB&#x27; on resource "
        f"provider &#x27;{providers}&#x27; invalid."
    )
    return httpx.Response(409, text=text, headers={"content-type": "text/html"})


def test_provider_lists_in_an_html_page_compare_in_any_order() -> None:
    assert body_of(_html(f"{A}, {B}")) == body_of(_html(f"{B}, {A}"))


def test_other_provider_lists_still_differ() -> None:
    assert body_of(_html(f"{A}, {B}")) != body_of(_html(f"{A}, {A}"))
