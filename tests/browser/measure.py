"""How long the console's overview takes on a large cloud, in Chromium.

Usage::

    python -m tests.browser.measure [N] [--database URL] [--no-load] [--runs R]

Builds ``N`` computes (default 5000) with the candidate benchmark's loader
(``benchmarks.candidates_scale.build``: NUMA children on every tenth
compute, five sharing providers, usage everywhere) in a temporary SQLite
file, or in ``--database`` (wiped first unless ``--no-load``), serves it
with ``allotment serve`` and opens ``/ui/#/overview`` ``R`` times (default
3) in a fresh page each. It prints, per run, when the page showed the
provider counts (first paint: one ``GET /resource_providers``), when the
capacity table and the fullest providers were exact (provider summaries of
one candidates request per class, plus the providers they did not cover),
and when every provider's allocations and aggregates had been read for the
consumer and aggregate counts (started by the page's button above 1,000
providers; the time is from the page load). A measurement, not a test: the numbers depend on
the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from allotment.store import schema
from allotment.store.engine import Database
from benchmarks.candidates_scale import build
from tests.browser import browser as chrome
from tests.browser import cloud


def overview_times(
    base_url: str, runs: int, counts: bool = True
) -> list[tuple[float, float, float]]:
    """(counts shown, capacity complete, everything complete) in seconds for each run."""
    out = []
    with chrome.chromium() as browser:
        for _ in range(runs):
            page = chrome.Page(browser, base_url)
            try:
                p = page.page
                start = time.perf_counter()
                p.goto(f"{base_url}/ui/#/overview")
                p.wait_for_selector("[data-count=providers] dd", timeout=120_000)
                painted = time.perf_counter() - start
                p.wait_for_selector(".overview:not([data-state=classes])", timeout=900_000)
                capacity = time.perf_counter() - start
                done = float("nan")
                if counts:
                    if p.locator("#count-all").count():
                        p.locator("#count-all").click()
                    p.wait_for_selector(".overview[data-state=complete]", timeout=900_000)
                    done = time.perf_counter() - start
                out.append((painted, capacity, done))
                if page.errors:
                    raise RuntimeError(f"console errors: {page.errors[:3]}")
            finally:
                page.close()
    return out


def api_times(base_url: str, runs: int) -> dict[str, list[float]]:
    """Seconds for the overview's two heaviest calls made directly, for comparison."""
    out: dict[str, list[float]] = {}
    with httpx.Client(base_url=base_url, headers=cloud.HEADERS, timeout=300) as client:
        for path in ("/resource_providers", "/allocation_candidates?resources=VCPU:1"):
            for _ in range(runs):
                start = time.perf_counter()
                client.get(path).raise_for_status()
                out.setdefault(path, []).append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("computes", nargs="?", type=int, default=5000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--no-load", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--skip-counts", action="store_true", help="stop once capacity is read (no counting)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'overview.sqlite'}"
        if not args.no_load:
            db = Database(url)
            schema.upgrade(db)
            schema.reset_data(db)
            print(f"load {build(db, args.computes):.1f} s (N={args.computes})", flush=True)
            db.dispose()
        server = cloud.serve(Path(tmp), url)
        try:
            times = overview_times(server.base_url, args.runs, not args.skip_counts)
            bare = api_times(server.base_url, args.runs)
        finally:
            server.stop()
    for i, (painted, capacity, done) in enumerate(times, 1):
        print(
            f"run {i}: provider counts {painted:.2f} s, capacity and fullest {capacity:.1f} s, "
            f"consumer and aggregate counts {done:.1f} s"
        )
    print(
        "same run, the API alone (httpx, median): "
        + ", ".join(f"{path} {statistics.median(t):.2f} s" for path, t in bare.items())
    )
    print(
        f"median: provider counts {statistics.median(t[0] for t in times):.2f} s, "
        f"capacity and fullest {statistics.median(t[1] for t in times):.1f} s, "
        f"everything {statistics.median(t[2] for t in times):.1f} s"
    )


if __name__ == "__main__":
    main()
