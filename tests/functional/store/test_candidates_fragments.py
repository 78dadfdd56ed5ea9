"""The model's cached provider summaries follow every write (read-your-writes).

A summary is rendered once per provider object and reused; a write names the
provider's tree in the change feed, the model replaces that tree's objects,
and the next answer renders the summary anew. The answers must be the same
bytes as SQL research renders from scratch.
"""

from __future__ import annotations

import io
import sys
import uuid
from typing import Any

import orjson

from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder, make_uuid
from tests.functional.store.test_candidates_wide import _app

QUERY = "resources=VCPU:2,MEMORY_MB:1024&limit=10"


def _call(app: Any, method: str, path: str, query: str = "", body: Any = None) -> tuple[int, bytes]:
    raw = orjson.dumps(body) if body is not None else b""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
        "HTTP_X_AUTH_TOKEN": "admin",
        "HTTP_OPENSTACK_API_VERSION": "placement 1.39",
    }
    status: list[str] = []
    out = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
    return int(status[0].split()[0]), out


def _candidates(app: Any) -> bytes:
    code, body = _call(app, "GET", "/allocation_candidates", QUERY)
    assert code == 200, body
    return body


def test_summaries_follow_writes_and_match_sql_research(db: Database) -> None:
    with db.write() as conn:
        builder = TreeBuilder(conn)
        for i in range(3):
            builder.provider(f"cn{i}", inventory={"VCPU": 8, "MEMORY_MB": 4096})
            builder.provider(f"cn{i}-numa", parent=f"cn{i}", inventory={"PCPU": 4})
    model, research = _app(db), _app(db, in_memory_candidates=False)
    assert _candidates(model) == _candidates(research)
    first = make_uuid("cn0")
    claim = {
        "allocations": {first: {"resources": {"VCPU": 2, "MEMORY_MB": 1024}}},
        "project_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }
    for _ in range(2):
        code, body = _call(model, "PUT", f"/allocations/{uuid.uuid4()}", body=claim)
        assert code == 204, body
        fresh = _candidates(model)
        assert fresh == _candidates(research)
    summary = orjson.loads(fresh)["provider_summaries"][first]
    assert summary["resources"]["VCPU"]["used"] == 4
    assert summary["resources"]["MEMORY_MB"]["used"] == 2048
