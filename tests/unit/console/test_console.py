"""The console's static server: paths, types, headers, and the switch that turns it off."""

from __future__ import annotations

from typing import Any

import pytest

from allotment import console
from allotment.config import Settings


def _fallback(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
    return [b"api"]


def _call(app: Any, path: str, method: str = "GET") -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": method}, start_response))
    return seen["status"], seen["headers"], body


@pytest.fixture
def app() -> Any:
    return console.mount(_fallback, Settings(database_url="sqlite://"))


def test_index_is_served_with_the_auth_strategy_and_a_strict_csp(app: Any) -> None:
    status, headers, body = _call(app, "/ui/")
    assert status == "200 OK"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<meta name="allotment-auth" content="noauth2">' in body
    assert b"{{" not in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("main.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
    ],
)
def test_assets_have_their_content_type(app: Any, name: str, kind: str) -> None:
    status, headers, body = _call(app, f"/ui/{name}")
    assert status == "200 OK"
    assert headers["Content-Type"] == kind
    assert int(headers["Content-Length"]) == len(body) > 0


def test_every_module_the_page_imports_is_shipped() -> None:
    import re

    for name in ("main.js", "overview.js", "tree.js", "ask.js", "aggregate.js", "consumer.js"):
        text = (console.asset(name) or b"").decode()
        assert text, name
        for imported in re.findall(r'from "\./([\w.]+)"', text):
            assert console.asset(imported) is not None, (name, imported)


@pytest.mark.parametrize(
    "path", ["/ui/nope.js", "/ui/../app.py", "/ui/static/main.js", "/ui/.hidden"]
)
def test_unknown_or_escaping_paths_are_404(app: Any, path: str) -> None:
    status, _, _ = _call(app, path)
    assert status == "404 Not Found"


def test_bare_prefix_redirects_to_the_slash(app: Any) -> None:
    status, headers, _ = _call(app, "/ui")
    assert status == "301 Moved Permanently"
    assert headers["Location"] == "/ui/"


def test_writes_are_405_and_head_has_no_body(app: Any) -> None:
    status, headers, _ = _call(app, "/ui/", "POST")
    assert status == "405 Method Not Allowed"
    assert headers["Allow"] == "GET, HEAD"
    status, headers, body = _call(app, "/ui/main.js", "HEAD")
    assert status == "200 OK" and body == b"" and int(headers["Content-Length"]) > 0


def test_other_paths_reach_the_api(app: Any) -> None:
    for path in ("/", "/uix", "/resource_providers"):
        assert _call(app, path)[2] == b"api"


def test_console_off_leaves_the_app_alone() -> None:
    app = console.mount(_fallback, Settings(database_url="sqlite://", console=False))
    assert app is _fallback
    assert _call(app, "/ui/")[2] == b"api"
