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
capacity table, the fullest providers and the providers without inventory
were exact (provider summaries of candidate requests, plus the providers
they did not cover), with the number of API requests and response bytes
until then and the CPU seconds the server's processes and the browser's
spent in the run, and (unless ``--skip-counts``) when every provider's
allocations and aggregates had been read for the consumer and aggregate
counts (started by the page's button above 1,000 providers). Times are the
page's own (``performance`` marks, from navigation start). A measurement,
not a test: the times depend on the machine and its load, printed before
and after; the requests and bytes do not, the CPU seconds much less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from allotment.store import schema
from allotment.store.engine import Database
from benchmarks.candidates_scale import build
from tests.browser import browser as chrome
from tests.browser import cloud


@dataclass
class Run:
    """One overview load: seconds from navigation start (the page's own clock),
    and the API requests and response bytes until capacity was exact."""

    painted: float
    capacity: float
    done: float
    requests: int
    response_bytes: int
    server_cpu: float  # CPU seconds the server's processes spent during the run
    browser_cpu: float  # and Chromium's (with Playwright's driver)


# The page's marks (allotment/console/static/overview.js) and the API requests that
# ended before capacity was exact, read from the page's performance timeline: a
# selector polled from outside notices a change up to half a second late.
_TIMELINE = """() => {
  const at = (name) => {
    const mark = performance.getEntriesByName(name)[0];
    return mark ? mark.startTime : null;
  };
  const exact = at("overview:exact");
  const api = performance.getEntriesByType("resource").filter(
    (e) => !new URL(e.name).pathname.startsWith("/ui/") && e.responseEnd <= exact);
  return {
    counts: at("overview:counts"), exact, complete: at("overview:complete"),
    requests: api.length, bytes: api.reduce((sum, e) => sum + e.encodedBodySize, 0),
  };
}"""


def _processes() -> dict[int, tuple[int, int]]:
    """Every process: pid -> (parent pid, CPU ticks used, user and system)."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        fields = text.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        out[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return out


def cpu_seconds(server: int) -> tuple[float, float]:
    """CPU seconds so far of the server's processes (``server`` and its workers), and of
    the browser's (every other descendant of this process: Playwright's driver, Chromium)."""
    procs = _processes()

    def tree(root: int) -> set[int]:
        found = {root}
        grew = True
        while grew:
            more = {pid for pid, (ppid, _) in procs.items() if ppid in found} - found
            grew = bool(more)
            found |= more
        return found

    served = tree(server)
    ours = tree(os.getpid()) - served - {os.getpid()}
    tick = os.sysconf("SC_CLK_TCK")
    return (
        sum(procs[p][1] for p in served if p in procs) / tick,
        sum(procs[p][1] for p in ours if p in procs) / tick,
    )


def overview_times(base_url: str, runs: int, pid: int, counts: bool = True) -> list[Run]:
    """When the counts showed, capacity was exact and everything was read, for each run."""
    out = []
    with chrome.chromium() as browser:
        for _ in range(runs):
            page = chrome.Page(browser, base_url)
            try:
                p = page.page
                cpu = cpu_seconds(pid)
                p.goto(f"{base_url}/ui/#/overview")
                p.wait_for_selector(".overview:not([data-state=classes])", timeout=900_000)
                if counts:
                    if p.locator("#count-all").count():
                        p.locator("#count-all").click()
                    p.wait_for_selector(".overview[data-state=complete]", timeout=900_000)
                served, browsed = (b - a for a, b in zip(cpu, cpu_seconds(pid), strict=True))
                t = p.evaluate(_TIMELINE)
                done = t["complete"] / 1000 if t["complete"] is not None else float("nan")
                out.append(
                    Run(
                        t["counts"] / 1000,
                        t["exact"] / 1000,
                        done,
                        t["requests"],
                        t["bytes"],
                        served,
                        browsed,
                    )
                )
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


def _load_average() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


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
    print(_load_average(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'overview.sqlite'}"
        if not args.no_load:
            db = Database(url)
            schema.upgrade(db)
            schema.reset_data(db)
            print(f"load {build(db, args.computes):.1f} s (N={args.computes})", flush=True)
            db.dispose()
        server = cloud.serve(Path(tmp), url)
        assert server.process is not None  # started
        try:
            times = overview_times(
                server.base_url, args.runs, server.process.pid, not args.skip_counts
            )
            bare = api_times(server.base_url, args.runs)
        finally:
            server.stop()
    print(_load_average())
    for i, run in enumerate(times, 1):
        print(
            f"run {i}: provider counts {run.painted:.2f} s, capacity and fullest "
            f"{run.capacity:.2f} s ({run.requests} API requests, "
            f"{run.response_bytes / 1e6:.2f} MB; CPU: server {run.server_cpu:.2f} s, "
            f"browser {run.browser_cpu:.2f} s), "
            f"consumer and aggregate counts {run.done:.1f} s"
        )
    print(
        "same run, the API alone (httpx, median): "
        + ", ".join(f"{path} {statistics.median(t):.2f} s" for path, t in bare.items())
    )
    print(
        f"median: provider counts {statistics.median(t.painted for t in times):.2f} s, "
        f"capacity and fullest {statistics.median(t.capacity for t in times):.2f} s, "
        f"everything {statistics.median(t.done for t in times):.1f} s"
    )


if __name__ == "__main__":
    main()
