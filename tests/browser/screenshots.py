"""Screenshots of every console view at 1280x800 for docs/console.md.

Usage: ``python -m tests.browser.screenshots [OUT_DIR]`` (default
``docs/console``), or ``scripts/console-screenshots``. Serves the seeded
cloud of ``tests/browser/cloud.py`` on a free port, opens each view in
Chromium, waits for its data and writes ``<view>.png``.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.browser import browser as chrome
from tests.browser import cloud

ROOT = Path(__file__).resolve().parents[2]


def _overview(p: Any) -> None:
    p.wait_for_selector(".overview[data-state=complete]", timeout=60_000)


def _tree(p: Any) -> None:
    p.wait_for_selector(f".toggle[data-uuid='{cloud.make_uuid('compute1')}']:focus")
    p.locator(f".toggle[data-uuid='{cloud.make_uuid('compute1-numa0')}']").click()
    p.locator(".node.sharing .toggle").click()
    p.wait_for_selector(".node.sharing[data-state=ready]")
    p.locator("#view").focus()


def _consumer(p: Any) -> None:
    p.wait_for_selector(".consumer tbody tr")


def _aggregate(p: Any) -> None:
    p.wait_for_selector(".aggregate [data-member]")


def _ask(p: Any) -> None:
    p.wait_for_selector(".answer[data-state=done]")


def _explain(p: Any) -> None:
    p.wait_for_selector(".explain[data-state=done], .explain[data-state=unavailable]")


VIEWS: list[tuple[str, str, Callable[[Any], None]]] = [
    ("overview", "#/overview", _overview),
    ("tree", f"#/tree/{cloud.make_uuid('compute1')}", _tree),
    ("consumer", f"#/consumer/{cloud.FULL_CONSUMER}", _consumer),
    ("aggregate", f"#/aggregate/{cloud.AGG_A}", _aggregate),
    ("ask", "#/ask?resources=VCPU:4,MEMORY_MB:1024&required=HW_CPU_X86_AVX2&limit=50", _ask),
    ("ask-explain", "#/ask?resources=VCPU:61,MEMORY_MB:2048&required=HW_CPU_X86_AVX2", _explain),
]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else ROOT / "docs" / "console"
    out.mkdir(parents=True, exist_ok=True)
    reason = chrome.missing()
    if reason:
        raise SystemExit(f"console-screenshots: {reason}")
    with tempfile.TemporaryDirectory() as tmp:
        server = cloud.serve(Path(tmp))
        try:
            cloud.seed(server.base_url)
            with chrome.chromium() as browser:
                for name, fragment, ready in VIEWS:
                    page = chrome.Page(browser, server.base_url)
                    try:
                        p = page.open(fragment)
                        ready(p)
                        p.screenshot(path=str(out / f"{name}.png"))
                        print(out / f"{name}.png")
                    finally:
                        page.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
