"""The wide symmetric tree (upstream bug 2126751) answers fast through HTTP.

One root with 8 identical SRIOV_NET_VF children and 8 one-VF suffixed groups
under ``group_policy=isolate``: 8! = 40320 valid candidates. With ``limit`` or
``max_allocation_candidates`` at 1000 the answer must take well under a second.

Run as a script to print the timings on SQLite:
``PYTHONPATH=. /work/main/.venv/bin/python tests/functional/store/test_candidates_wide.py``
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from allotment.app import make_app
from allotment.config import Settings
from allotment.store import schema
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder

QUERY = "&".join(f"resources{i}=SRIOV_NET_VF:1" for i in range(1, 9)) + "&group_policy=isolate"


def build_wide_tree(db: Database, children: int = 8) -> None:
    with db.write() as conn:
        b = TreeBuilder(conn)
        b.provider("wide-root", inventory={"VCPU": 64, "MEMORY_MB": 65536})
        for i in range(children):
            b.provider(f"wide-pf{i}", parent="wide-root", inventory={"SRIOV_NET_VF": 8},
                       traits=["CUSTOM_PHYSNET_A"])


def get(app: Any, query: str, version: str = "1.39") -> tuple[int, dict]:
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/allocation_candidates",
        "QUERY_STRING": query, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "HTTP_X_AUTH_TOKEN": "admin", "HTTP_OPENSTACK_API_VERSION": f"placement {version}",
    }
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
    return int(status[0].split()[0]), orjson.loads(body)


def timed(app: Any, query: str, runs: int = 3) -> tuple[float, dict]:
    """Best of ``runs`` wall-clock times: the machine running tests is shared."""
    best = float("inf")
    body: dict = {}
    for _ in range(runs):
        start = time.perf_counter()
        code, body = get(app, query)
        best = min(best, time.perf_counter() - start)
        assert code == 200, body
    return best, body


def _app(db: Database, **overrides: Any) -> Any:
    settings = Settings(database_url=db.url.render_as_string(hide_password=False),
                        access_log=False, **overrides)
    return make_app(settings, db=db, prepare=False)


def test_wide_tree_with_limit(db: Database) -> None:
    build_wide_tree(db)
    elapsed, body = timed(_app(db), QUERY + "&limit=1000")
    assert len(body["allocation_requests"]) == 1000
    assert len(body["provider_summaries"]) == 9
    assert elapsed < 1.0, elapsed


def test_wide_tree_with_cap(db: Database) -> None:
    build_wide_tree(db)
    app = _app(db, max_allocation_candidates=1000)
    elapsed, body = timed(app, QUERY)
    assert len(body["allocation_requests"]) == 1000
    assert elapsed < 1.0, elapsed
    for strategy in ("breadth-first",):
        app = _app(db, max_allocation_candidates=1000,
                   allocation_candidates_generation_strategy=strategy)
        elapsed, body = timed(app, QUERY + "&limit=10")
        assert len(body["allocation_requests"]) == 10
        assert elapsed < 1.0, elapsed


def test_wide_tree_with_one_group_too_many(db: Database) -> None:
    build_wide_tree(db)
    elapsed, body = timed(_app(db), QUERY + "&resources9=SRIOV_NET_VF:1")
    assert body["allocation_requests"] == []
    assert elapsed < 1.0, elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'wide.sqlite'}")
        schema.upgrade(db)
        build_wide_tree(db)
        cases = [
            ("limit=1000", _app(db), QUERY + "&limit=1000"),
            ("max_allocation_candidates=1000", _app(db, max_allocation_candidates=1000), QUERY),
            ("limit=1000 randomized (generates all 40320)",
             _app(db, randomize_allocation_candidates=True), QUERY + "&limit=1000"),
            ("no limit (all 40320)", _app(db), QUERY),
            ("9 groups, no solution", _app(db), QUERY + "&resources9=SRIOV_NET_VF:1"),
        ]
        for label, app, query in cases:
            elapsed, body = timed(app, query, runs=1 if "40320" in label else 3)
            print(f"{label:48s} {elapsed * 1000:8.1f} ms  "
                  f"{len(body['allocation_requests'])} candidates")
        db.dispose()


if __name__ == "__main__":
    main()
