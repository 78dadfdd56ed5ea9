"""Latency of the wide symmetric tree request (upstream bug 2126751), in process.

``python -m benchmarks.wide_tree`` builds one root with 8 identical
SRIOV_NET_VF children on a temporary SQLite database and times 8 isolated
one-VF groups through the full WSGI stack (best of 3 runs per case).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from allotment.store import schema
from allotment.store.engine import Database
from tests.functional.store.test_candidates_wide import QUERY, _app, build_wide_tree, get


def timed(app: Any, query: str, runs: int = 3) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        code, body = get(app, query)
        best = min(best, time.perf_counter() - start)
        assert code == 200, body
        count = len(body["allocation_requests"])
    return best, count


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'wide.sqlite'}")
        schema.upgrade(db)
        build_wide_tree(db)
        cases = [
            ("limit=1000", _app(db), QUERY + "&limit=1000", 3),
            ("max_allocation_candidates=1000", _app(db, max_allocation_candidates=1000), QUERY, 3),
            (
                "limit=1000 randomized (pool of 10000)",
                _app(db, randomize_allocation_candidates=True),
                QUERY + "&limit=1000",
                1,
            ),
            (
                "limit=1000 randomized, group_policy=none (8^8)",
                _app(db, randomize_allocation_candidates=True),
                QUERY.replace("isolate", "none") + "&limit=1000",
                1,
            ),
            ("no limit (all 40320)", _app(db), QUERY, 1),
            ("9 groups, no solution", _app(db), QUERY + "&resources9=SRIOV_NET_VF:1", 3),
        ]
        for label, app, query, runs in cases:
            elapsed, count = timed(app, query, runs)
            print(f"{label:48s} {elapsed * 1000:8.1f} ms  {count} candidates")
        db.dispose()


if __name__ == "__main__":
    main()
