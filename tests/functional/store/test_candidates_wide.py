"""The wide symmetric tree (upstream bug 2126751) through HTTP, on every backend.

One root with 8 identical SRIOV_NET_VF children and 8 one-VF suffixed groups
under ``group_policy=isolate``: 8! = 40320 valid candidates. With ``limit`` or
``max_allocation_candidates`` at 1000 the search stops at 1000 (its latency is
measured by ``python -m benchmarks.wide_tree``, not asserted here).
"""

from __future__ import annotations

import io
import sys
from typing import Any

import orjson

from allotment.app import make_app
from allotment.config import Settings
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder

QUERY = "&".join(f"resources{i}=SRIOV_NET_VF:1" for i in range(1, 9)) + "&group_policy=isolate"


def build_wide_tree(db: Database, children: int = 8) -> None:
    with db.write() as conn:
        b = TreeBuilder(conn)
        b.provider("wide-root", inventory={"VCPU": 64, "MEMORY_MB": 65536})
        for i in range(children):
            b.provider(
                f"wide-pf{i}",
                parent="wide-root",
                inventory={"SRIOV_NET_VF": 8},
                traits=["CUSTOM_PHYSNET_A"],
            )


def get(app: Any, query: str, version: str = "1.39") -> tuple[int, dict]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/allocation_candidates",
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "HTTP_X_AUTH_TOKEN": "admin",
        "HTTP_OPENSTACK_API_VERSION": f"placement {version}",
    }
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
    return int(status[0].split()[0]), orjson.loads(body)


def _app(db: Database, **overrides: Any) -> Any:
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False), access_log=False, **overrides
    )
    return make_app(settings, db=db, prepare=False)


def _ok(app: Any, query: str) -> dict:
    code, body = get(app, query)
    assert code == 200, body
    return body


def _distinct(body: dict) -> int:
    return len({orjson.dumps(r, option=orjson.OPT_SORT_KEYS) for r in body["allocation_requests"]})


def test_wide_tree_with_limit(db: Database) -> None:
    build_wide_tree(db)
    body = _ok(_app(db), QUERY + "&limit=1000")
    assert len(body["allocation_requests"]) == 1000
    assert _distinct(body) == 1000
    assert len(body["provider_summaries"]) == 9


def test_wide_tree_with_cap(db: Database) -> None:
    build_wide_tree(db)
    body = _ok(_app(db, max_allocation_candidates=1000), QUERY)
    assert len(body["allocation_requests"]) == 1000
    app = _app(
        db,
        max_allocation_candidates=1000,
        allocation_candidates_generation_strategy="breadth-first",
    )
    assert len(_ok(app, QUERY + "&limit=10")["allocation_requests"]) == 10


def test_wide_tree_with_one_group_too_many(db: Database) -> None:
    build_wide_tree(db)
    assert _ok(_app(db), QUERY + "&resources9=SRIOV_NET_VF:1")["allocation_requests"] == []


def test_wide_tree_randomised_with_limit(db: Database) -> None:
    # group_policy=none: 8^8 (16.7 million) valid candidates. With randomisation
    # the limit is drawn from a bounded pool instead of from all of them.
    build_wide_tree(db)
    app = _app(db, randomize_allocation_candidates=True)
    query = QUERY.replace("group_policy=isolate", "group_policy=none")
    body = _ok(app, query + "&limit=50")
    assert len(body["allocation_requests"]) == 50
    assert _distinct(body) == 50
    for request in body["allocation_requests"]:
        used = request["allocations"]
        assert sum(a["resources"]["SRIOV_NET_VF"] for a in used.values()) == 8
