"""``allotment explain``: the database directly, or a running server with --url."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from allotment import cli
from allotment.app import make_app
from allotment.config import Settings
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder

QUERY = "resources=VCPU:4&required=HW_CPU_X86_AVX2"


@pytest.fixture
def url(db: Database) -> str:
    with db.write() as conn:
        builder = TreeBuilder(conn)
        builder.provider("cn1", inventory={"VCPU": 8}, traits=["HW_CPU_X86_AVX2"], used={"VCPU": 6})
        builder.provider("cn2", inventory={"VCPU": 8}, used={"VCPU": 5})
    return db.url.render_as_string(hide_password=False)


def test_table_with_the_verdict_on_top(url: str, capsys) -> None:
    assert cli.main(["--database", url, "explain", QUERY]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "Verdict: capacity: the unnumbered group: no provider has free capacity for VCPU:4"
    )
    assert out[1] == "Candidates: 0 before limit, 0 returned"
    assert "Nearest misses (failed only that step):" in out
    # cn2 lacks the trait as well: only cn1 failed nothing but capacity.
    assert "    - VCPU: needs 4, has 2 free of 8 (ratio 1.0, reserved 0, used 6)" in out
    assert [line for line in out if line.startswith("  cn")] == [
        line for line in out if line.startswith("  cn1 ")
    ]
    assert any(line.startswith("| capacity ") for line in out)


def test_json_is_the_endpoint_document(url: str, capsys) -> None:
    assert cli.main(["--database", url, "explain", "--json", "resources=VCPU:2&limit=1"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["verdict"]["step"] == "passed"
    assert document["candidates"] == {
        "before_limit": 2,
        "returned": 1,
        "limit": 1,
        "complete": True,
    }


def test_bad_query_is_one_line_and_exit_2(url: str, capsys) -> None:
    assert cli.main(["--database", url, "explain", "resources=VCPU:x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("allotment: explain: ") and err.count("\n") == 1
    assert (
        cli.main(["--database", url, "explain", "--microversion", "1.30", QUERY + "&in_tree=x"])
        == 2
    )
    assert cli.main(["--database", url, "explain", "resources=CUSTOM_NOPE:1"]) == 2
    assert "Invalid resource class" in capsys.readouterr().err


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def server(url: str, db: Database) -> Iterator[str]:
    app = make_app(Settings(database_url=url, access_log=False), db=db, prepare=False)
    httpd = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


def test_url_asks_the_server(server: str, url: str, capsys) -> None:
    assert cli.main(["--database", url, "explain", "--json", "--url", server, QUERY]) == 1
    remote = json.loads(capsys.readouterr().out)
    assert cli.main(["--database", url, "explain", "--json", QUERY]) == 1
    assert remote == json.loads(capsys.readouterr().out)
    assert cli.main(["explain", "--url", server, "--token", "nobody", QUERY]) == 2
    assert "HTTP 403" in capsys.readouterr().err
