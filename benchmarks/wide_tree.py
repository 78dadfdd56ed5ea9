"""Latency of the wide symmetric tree request (upstream bug 2126751), in process.

``python -m benchmarks.wide_tree`` builds one root with 8 identical
SRIOV_NET_VF children on a temporary SQLite database and times 8 isolated
one-VF groups through the full WSGI stack (best of 3 runs per case), each
case with SQL research and with the in-memory model, one after the other in the
same run (wall clock and this process's CPU time).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from allotment.store import schema
from allotment.store.engine import Database
from tests.functional.store.test_candidates_wide import QUERY, _app, build_wide_tree, get


def timed(app: Any, query: str, runs: int = 3) -> tuple[float, float, int]:
    """Best wall-clock and best CPU seconds of ``runs``, and the candidate count."""
    best, best_cpu, count = float("inf"), float("inf"), 0
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        code, body = get(app, query)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
        assert code == 200, body
        count = len(body["allocation_requests"])
    return best, best_cpu, count


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'wide.sqlite'}")
        schema.upgrade(db)
        build_wide_tree(db)
        cases: list[tuple[str, dict[str, Any], str, int]] = [
            ("limit=1000", {}, QUERY + "&limit=1000", 3),
            ("max_allocation_candidates=1000", {"max_allocation_candidates": 1000}, QUERY, 3),
            (
                "limit=1000 randomized (pool of 10000)",
                {"randomize_allocation_candidates": True},
                QUERY + "&limit=1000",
                1,
            ),
            (
                "limit=1000 randomized, group_policy=none (8^8)",
                {"randomize_allocation_candidates": True},
                QUERY.replace("isolate", "none") + "&limit=1000",
                1,
            ),
            ("no limit (all 40320)", {}, QUERY, 1),
            ("9 groups, no solution", {}, QUERY + "&resources9=SRIOV_NET_VF:1", 3),
        ]
        for label, overrides, query, runs in cases:
            for mode, in_memory in (("sql", False), ("memory", True)):
                app = _app(db, in_memory_candidates=in_memory, **overrides)
                elapsed, cpu, count = timed(app, query, runs)
                print(
                    f"{label:48s} {mode:6s} {elapsed * 1000:8.1f} ms "
                    f"(cpu {cpu * 1000:7.1f} ms)  {count} candidates",
                    flush=True,
                )
        db.dispose()


if __name__ == "__main__":
    main()
