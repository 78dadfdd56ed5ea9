"""[oslo_middleware] enable_proxy_headers_parsing."""

from __future__ import annotations

from typing import Any

from allotment.http import proxy


def _seen(headers: dict[str, str], enabled: bool = True) -> dict[str, Any]:
    captured: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        captured.update(environ)
        return []

    environ = {"wsgi.url_scheme": "http", "HTTP_HOST": "10.0.0.1", "SCRIPT_NAME": "", **headers}
    proxy.wrap(app, enabled)(environ, lambda *a: None)
    return captured


def test_x_forwarded_headers_set_scheme_host_and_prefix():
    seen = _seen(
        {
            "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_X_FORWARDED_HOST": "api.example",
            "HTTP_X_FORWARDED_PREFIX": "/placement/",
        }
    )
    assert seen["wsgi.url_scheme"] == "https"
    assert seen["HTTP_HOST"] == "api.example"
    assert seen["SCRIPT_NAME"] == "/placement"


def test_forwarded_header_wins_and_is_off_by_default():
    assert (
        _seen({"HTTP_FORWARDED": 'for=1.2.3.4;proto=https;host="a.example"'})["HTTP_HOST"]
        == "a.example"
    )
    off = _seen({"HTTP_X_FORWARDED_PROTO": "https"}, enabled=False)
    assert off["wsgi.url_scheme"] == "http"
