"""The cost of metrics: the same scenarios against metrics on and off, in one run.

Two ``allotment serve`` processes (``[allotment] metrics`` on and off), each
on its own database loaded with the same generated cloud. Candidate shapes
are measured with requests alternating between the two servers, so both see
the same machine load; claims run on one server then the other, then in the
reverse order. The report is the ratio on/off of each figure::

    python -m benchmarks.metrics_overhead --size 1000 --backend sqlite

Numbers taken on a shared machine are noisy: read the ratios, and the
spread between the two claim rounds, rather than the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks import datagen, scenarios, servers
from benchmarks.client import Target
from benchmarks.scenarios import HEAVY_SHAPES, Budget

LOG = logging.getLogger("benchmarks.metrics_overhead")


def _server(backend: str, name: str, metrics: bool, work: Path) -> tuple[servers.Server, str]:
    db_url = servers.create_database(backend, "allotment", name, work)
    server = servers.allotment_server(db_url, 2, 4, work / f"{name}.log")
    server.env["ALLOTMENT_METRICS"] = "true" if metrics else "false"
    server.env["ALLOTMENT_ACCESS_LOG"] = "false"
    return server, db_url


def _interleaved(on: Target, off: Target, params: list, repeats: int) -> dict[str, Any]:
    """Alternate requests between the two servers; medians and means of each."""
    samples: dict[str, list[float]] = {"on": [], "off": []}
    for target in (on, off):  # warm-up, not counted
        target.timed("GET", "/allocation_candidates", params=params)
    for i in range(repeats):
        pair = [("on", on), ("off", off)] if i % 2 == 0 else [("off", off), ("on", on)]
        for label, target in pair:
            response, seconds = target.timed("GET", "/allocation_candidates", params=params)
            if response.status_code != 200:
                raise RuntimeError(f"{label}: {response.status_code} {response.text[:200]}")
            samples[label].append(seconds * 1000)
    result: dict[str, Any] = {}
    for label, values in samples.items():
        result[f"{label}_p50_ms"] = statistics.median(values)
        result[f"{label}_mean_ms"] = statistics.fmean(values)
    result["ratio_p50"] = result["on_p50_ms"] / result["off_p50_ms"]
    result["ratio_mean"] = result["on_mean_ms"] / result["off_mean_ms"]
    return result


def run(size: int, backend: str, repeats: int, claim_seconds: float, work: Path) -> dict:
    cloud = datagen.generate(size)
    budget = Budget(claim_seconds=claim_seconds)
    started: list[servers.Server] = []
    names = {True: f"bench_metrics_on_n{size}", False: f"bench_metrics_off_n{size}"}
    targets: dict[bool, Target] = {}
    try:
        for metrics in (True, False):
            server, _ = _server(backend, names[metrics], metrics, work)
            started.append(server)
            server.start()
            targets[metrics] = Target(f"metrics-{metrics}", base_url=server.base_url, timeout=300)
            LOG.info("loading N=%d into the server with metrics=%s", size, metrics)
            datagen.load(targets[metrics], cloud, 1 if backend == "sqlite" else 8)
        on, off = targets[True], targets[False]
        candidates = {}
        for name, params in scenarios.candidate_shapes(cloud).items():
            if name in HEAVY_SHAPES:
                continue
            LOG.info("candidates %s", name)
            candidates[name] = _interleaved(on, off, params, repeats)
        claims: dict[str, list[float]] = {"on": [], "off": []}
        for round_, order in enumerate(((True, False), (False, True))):
            for metrics in order:
                LOG.info("claims round %d, metrics=%s", round_, metrics)
                result = scenarios.run_claims(targets[metrics], cloud, 16, budget, 7 + round_)
                claims["on" if metrics else "off"].append(result["claims_per_s"])
        return {
            "size": size,
            "backend": backend,
            "repeats": repeats,
            "candidates": candidates,
            "candidates_ratio_p50_median": statistics.median(
                c["ratio_p50"] for c in candidates.values()
            ),
            "claims_per_s": claims,
            "claims_ratio_off_over_on": sum(claims["off"]) / sum(claims["on"]),
        }
    finally:
        for target in targets.values():
            target.close()
        for server in started:
            server.stop()
        for name in names.values():
            servers.drop_database(backend, name, work)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.metrics_overhead")
    parser.add_argument("--size", type=int, default=1000, help="compute nodes (1000)")
    parser.add_argument("--backend", choices=servers.BACKENDS, default="sqlite")
    parser.add_argument("--repeats", type=int, default=40, help="requests per shape and server")
    parser.add_argument("--claim-seconds", type=float, default=20.0, help="per claims run")
    parser.add_argument("--output", type=Path, default=servers.ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    work = args.output / "work"
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = run(args.size, args.backend, args.repeats, args.claim_seconds, work)
    result["seconds"] = round(time.perf_counter() - start, 1)
    out = args.output / f"metrics-overhead-{args.backend}-n{args.size}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
