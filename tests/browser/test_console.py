"""The console in a real browser: every view against a seeded cloud, numbers
checked against the API, the tree, the ask form, keyboard use, no console errors."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser import cloud
from tests.browser.browser import Page, check_overview


def test_overview_shows_capacity_used_and_free_as_the_api_computes_them(
    page: Page, api: httpx.Client
) -> None:
    expected = cloud.expected_overview(api)
    p = page.open("#/overview")
    check_overview(p, expected)
    assert expected["consumers"] == 8 and expected["aggregates"] == 2
    # compute6's VCPU is allocated to the last unit: the fullest provider.
    expect(p.locator("ol.fullest li").first).to_contain_text("compute6")
    expect(p.locator("ol.fullest li").first).to_contain_text("64 / 64")
    assert expected["empty"] == ["spare-host"]
    expect(p.get_by_role("link", name="spare-host")).to_be_visible()


def test_tree_expands_into_children_sharing_providers_and_consumers(
    page: Page, api: httpx.Client
) -> None:
    uuid = cloud.make_uuid("compute1")
    usages = api.get(f"/resource_providers/{uuid}/usages").json()["usages"]
    generation = api.get(f"/resource_providers/{uuid}").json()["generation"]
    p = page.open("#/tree")
    toggle = p.locator(f".toggle[data-uuid='{uuid}']")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    node = p.locator(f"[role=treeitem][data-uuid='{uuid}']")
    expect(node).to_have_attribute("data-state", "ready")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    details = node.locator(":scope > .details")
    expect(details.locator(".inv[data-rc=VCPU] .nums")).to_have_text(f"{usages['VCPU']} / 64")
    expect(details.locator(".inv[data-rc=MEMORY_MB] .nums")).to_contain_text("(reserved 512)")
    expect(details).to_contain_text(f"generation {generation}")
    expect(details).to_contain_text("HW_CPU_X86_AVX2")
    group = node.locator(":scope > [role=group]")
    expect(group.locator(":scope > [role=treeitem]")).to_have_count(3)
    expect(group).to_contain_text("compute1-numa0")
    expect(group.locator(".node.sharing")).to_contain_text("shared-storage")
    details.get_by_role("button", name="consumers").click()
    consumer = cloud.make_uuid("vm-0")
    details.get_by_role("link", name=consumer).click()
    expect(p.locator(".consumer")).to_have_attribute("data-uuid", consumer)


def test_tree_search_by_name_and_by_uuid(page: Page) -> None:
    p = page.open("#/tree?q=numa1")
    expect(p.locator(".tree .items > [role=treeitem]")).to_have_count(2)
    expect(p.locator(".tree")).to_contain_text("compute2")
    p.locator("#tree-search").fill(cloud.make_uuid("shared-storage")[:13])
    p.locator("#tree-search").press("Enter")
    expect(p.locator(".tree .items > [role=treeitem]")).to_have_count(1)
    expect(p.locator(".tree")).to_contain_text("shared-storage")


def test_provider_link_opens_its_tree_at_the_provider(page: Page) -> None:
    uuid = cloud.make_uuid("compute2-numa1")
    p = page.open(f"#/tree/{uuid}")
    toggle = p.locator(f".toggle[data-uuid='{uuid}']")
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(p.locator(f"[data-uuid='{uuid}'] > .details")).to_contain_text("PCPU")


def test_consumer_view_matches_the_allocations_api(page: Page, api: httpx.Client) -> None:
    body = api.get(f"/allocations/{cloud.FULL_CONSUMER}").json()
    p = page.open(f"#/consumer/{cloud.FULL_CONSUMER}")
    expect(p.locator("[data-fact=project] dd")).to_have_text(body["project_id"])
    expect(p.locator("[data-fact=user] dd")).to_have_text(body["user_id"])
    expect(p.locator("[data-fact=consumer-type] dd")).to_have_text(body["consumer_type"])
    expect(p.locator("[data-fact=generation] dd")).to_have_text(str(body["consumer_generation"]))
    rows = p.locator("tbody tr")
    expect(rows).to_have_count(sum(len(a["resources"]) for a in body["allocations"].values()))
    for rp, alloc in body["allocations"].items():
        for rc, amount in alloc["resources"].items():
            row = p.locator(f"tr[data-provider='{rp}'][data-rc={rc}]")
            expect(row.locator("td.num").first).to_have_text(f"{amount:,}")


def test_aggregate_view_lists_members_and_sharing_providers(page: Page, api: httpx.Client) -> None:
    members = api.get(f"/resource_providers?member_of={cloud.AGG_A}").json()
    p = page.open(f"#/aggregate/{cloud.AGG_A}")
    expect(p.locator("[data-fact=members] dd")).to_have_text(
        str(len(members["resource_providers"]))
    )
    expect(p.locator("[data-fact=sharing] dd")).to_have_text("1")
    expect(p.locator("[data-member]")).to_have_count(len(members["resource_providers"]))
    expect(p.locator(f"[data-member='{cloud.make_uuid('shared-storage')}']")).to_contain_text(
        "sharing"
    )


def test_ask_returns_the_candidates_the_api_returns(page: Page, api: httpx.Client) -> None:
    query = "resources=VCPU:4,MEMORY_MB:1024&required=HW_CPU_X86_AVX2&limit=50"
    expected = api.get(f"/allocation_candidates?{query}").json()["allocation_requests"]
    assert expected
    p = page.open("#/ask")
    p.locator("#ask-resources").fill("VCPU:4,MEMORY_MB:1024")
    p.locator("#ask-required").fill("HW_CPU_X86_AVX2")
    p.get_by_role("button", name="Ask", exact=True).click()
    answer = p.locator(".answer[data-state=done]")
    expect(answer).to_have_attribute("data-count", str(len(expected)))
    expect(answer.locator("tbody tr")).to_have_count(len(expected))


def test_ask_with_no_candidates_shows_the_explanation(page: Page, api: httpx.Client) -> None:
    query = "resources=VCPU:1000"
    assert api.get(f"/allocation_candidates?{query}").json()["allocation_requests"] == []
    explained = api.get(f"/allocation_candidates/explain?{query}")
    assert explained.status_code == 200, explained.text
    body = explained.json()
    p = page.open(f"#/ask?{query}")
    expect(p.locator(".answer[data-state=done]")).to_have_attribute("data-count", "0")
    box = p.locator(".explain")
    expect(box).to_have_attribute("data-state", "done")
    expect(box.locator(".verdict")).to_have_attribute("data-step", body["verdict"]["step"])
    expect(box.locator(".verdict")).to_contain_text(body["verdict"]["message"])
    funnels = box.locator(".funnel")
    expect(funnels).to_have_count(len(body["groups"]) + 1)  # each group, then the trees
    funnel = body["groups"][0]["funnel"]
    steps = funnels.first.locator(".step")
    expect(steps).to_have_count(len(funnel))
    for i, step in enumerate(funnel):
        expect(steps.nth(i)).to_have_attribute("data-step", step["step"])
        expect(steps.nth(i)).to_have_attribute("data-remaining", str(step["remaining"]))
    misses = body["verdict"].get("nearest_misses") or []
    expect(box.locator(".misses li")).to_have_count(len(misses))


def test_ask_says_when_the_server_cannot_explain(page: Page) -> None:
    p = page.page
    p.route(
        "**/allocation_candidates/explain*",
        lambda route: route.fulfill(
            status=404, content_type="application/json", body='{"errors": []}'
        ),
    )
    page.open("#/ask?resources=VCPU:1000")
    box = p.locator(".explain")
    expect(box).to_have_attribute("data-state", "unavailable")
    expect(box).to_contain_text("Explanation unavailable")
    # The browser logs the 404 itself; nothing else may be logged.
    page.errors[:] = [e for e in page.errors if "status of 404" not in e]


def test_keyboard_alone_reaches_views_and_walks_the_tree(page: Page) -> None:
    p = page.open("#/overview")
    expect(p.locator(".overview")).to_be_visible()
    p.keyboard.press("Tab")  # the brand link
    p.keyboard.press("Tab")  # Overview
    p.keyboard.press("Tab")  # Provider tree
    expect(p.get_by_role("link", name="Provider tree")).to_be_focused()
    p.keyboard.press("Enter")
    expect(p.get_by_role("link", name="Provider tree")).to_have_attribute("aria-current", "page")
    first = p.locator(".tree .toggle").first
    first.focus()
    p.keyboard.press("ArrowRight")  # open compute1
    expect(first).to_have_attribute("aria-expanded", "true")
    expect(p.locator(".tree [role=treeitem]").first).to_have_attribute("data-state", "ready")
    p.keyboard.press("ArrowDown")  # its first child
    child = p.locator(f".toggle[data-uuid='{cloud.make_uuid('compute1-numa0')}']")
    expect(child).to_be_focused()
    p.keyboard.press("Enter")  # a button: Enter opens it
    expect(child).to_have_attribute("aria-expanded", "true")
    p.keyboard.press("ArrowLeft")  # close it
    expect(child).to_have_attribute("aria-expanded", "false")
    p.keyboard.press("ArrowLeft")  # up to the parent
    expect(first).to_be_focused()


def test_a_token_without_rights_is_refused_by_policy(browser: Any, server: str) -> None:
    page = Page(browser, server, token="someone:someproject")
    try:
        p = page.open("#/tree")
        expect(p.locator("#status")).to_contain_text("403")
        expect(p.locator("#token")).to_have_value("someone:someproject")
    finally:
        page.close()


def test_reload_reads_the_cloud_again(page: Page, api: httpx.Client) -> None:
    p = page.open("#/overview")
    expect(p.locator(".overview[data-state=complete]")).to_be_visible(timeout=30_000)
    before = len(api.get("/resource_providers").json()["resource_providers"])
    expect(p.locator("[data-count=providers] dd")).to_have_text(str(before))
    created = api.post("/resource_providers", json={"name": "late-host"})
    assert created.status_code == 200, created.text
    p.get_by_role("button", name="Reload").click()
    expect(p.locator("[data-count=providers] dd")).to_have_text(str(before + 1))
    expect(p.locator(".overview[data-state=complete]")).to_be_visible(timeout=30_000)
    expect(p.get_by_role("link", name="late-host")).to_be_visible()
