"""Playwright driving Debian's Chromium (no browser download), and page helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("ALLOTMENT_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 800}


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install -y chromium chromium-driver)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[browser]')"
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium; closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """A fresh page at 1280x800 that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any, base_url: str, token: str | None = None) -> None:
        self.context = browser.new_context(viewport=VIEWPORT)
        if token is not None:
            self.context.add_init_script(
                f"sessionStorage.setItem('allotment-console-token', {token!r})"
            )
        self.page = self.context.new_page()
        self.base_url = base_url
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def open(self, fragment: str) -> Any:
        self.page.goto(f"{self.base_url}/ui/{fragment}")
        return self.page

    def close(self) -> None:
        self.context.close()


def check_overview(p: Any, expected: dict[str, Any]) -> None:
    """The complete overview on page ``p`` shows ``expected`` (``cloud.expected_overview``)."""
    from playwright.sync_api import expect

    expect(p.locator(".overview[data-state=complete]")).to_be_visible(timeout=30_000)
    for rc, (cap, used) in expected["classes"].items():
        row = p.locator(f"tr[data-rc={rc}]")
        expect(row.locator("[data-field=capacity]")).to_have_text(f"{cap:,}")
        expect(row.locator("[data-field=used]")).to_have_text(f"{used:,}")
        expect(row.locator("[data-field=free]")).to_have_text(f"{cap - used:,}")
    assert p.locator("tr[data-rc]").count() == len(expected["classes"])
    for label in ("providers", "consumers", "aggregates"):
        expect(p.locator(f"[data-count={label}] dd")).to_have_text(str(expected[label]))
    expect(p.locator("h2", has_text="Providers without inventory")).to_have_text(
        f"Providers without inventory ({len(expected['empty'])})"
    )
