"""CPU time per candidate request, in process, on data an earlier run left in a database.

Usage::

    python -m benchmarks.request_cpu DB_URL [--shapes a,b,...] [--runs R]
        [--random] [--profile SHAPE]

For comparing two versions of the engine on a shared, noisy machine: the
data is built once (``python -m benchmarks.candidates_scale N DB_URL``) and
each version is timed on it, one after the other, by running this module
from each checkout (``PYTHONPATH=<checkout>``). Each shape (the queries of
``benchmarks.candidates_scale``, plus ``claim-50``, the claims scenario's
query) gets one untimed warm-up, then ``R`` timed requests through the full
WSGI app with the in-memory model (loaded by a first, untimed request); the
median and the minimum of this process's CPU time are printed, with the
load average. ``--random`` sets ``randomize_allocation_candidates``;
``--profile SHAPE`` prints the 25 most expensive functions of 3 more
requests (cProfile, CPU clock).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from pathlib import Path

from allotment.store.engine import Database
from benchmarks.candidates_scale import QUERIES, request
from tests.functional.store.test_candidates_wide import _app

SHAPES = {
    **QUERIES,
    "claim-50": ("/allocation_candidates", "resources=VCPU:1,MEMORY_MB:512,DISK_GB:10&limit=50"),
}
DEFAULT = "simple-1000,trait,forbidden,member_of,granular,sharing,claim-10,claim-50,simple-all"


def cpu_ms(app: object, path: str, query: str, runs: int) -> list[float]:
    request(app, path, query)  # warm-up, untimed
    out = []
    for _ in range(runs):
        start = time.process_time()
        request(app, path, query)
        out.append((time.process_time() - start) * 1000)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--shapes", default=DEFAULT)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--random", action="store_true", help="randomize_allocation_candidates")
    parser.add_argument("--profile", default=None, help="cProfile this shape afterwards")
    args = parser.parse_args(argv)
    db = Database(args.url)
    app = _app(db, in_memory_candidates=True, randomize_allocation_candidates=args.random)
    request(app, *SHAPES["claim-10"])  # loads the model
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
    for shape in args.shapes.split(","):
        times = cpu_ms(app, *SHAPES[shape], args.runs)
        print(
            f"{shape:12s} cpu median {statistics.median(times):7.1f} ms  min {min(times):7.1f}",
            flush=True,
        )
    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(3):
            request(app, *SHAPES[args.profile])
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    db.dispose()


if __name__ == "__main__":
    main()
