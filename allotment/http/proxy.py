"""``[oslo_middleware] enable_proxy_headers_parsing``: trust a reverse proxy's
``Forwarded`` (RFC 7239) or ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` /
``X-Forwarded-Prefix`` headers for the scheme, host and path prefix the
client used, as oslo.middleware's HTTPProxyToWSGI does. Off by default: a
client could otherwise claim any host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


def _forwarded(value: str) -> dict[str, str]:
    """The first element of a Forwarded header, as a dict of its pairs."""
    first = value.split(",", 1)[0]
    found: dict[str, str] = {}
    for pair in first.split(";"):
        key, sep, item = pair.partition("=")
        if sep:
            found[key.strip().lower()] = item.strip().strip('"')
    return found


class ProxyHeaders:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        forwarded = _forwarded(environ.get("HTTP_FORWARDED", ""))
        proto = forwarded.get("proto") or environ.get("HTTP_X_FORWARDED_PROTO")
        host = forwarded.get("host") or environ.get("HTTP_X_FORWARDED_HOST")
        prefix = environ.get("HTTP_X_FORWARDED_PREFIX")
        if proto:
            environ["wsgi.url_scheme"] = proto.split(",")[0].strip().lower()
        if host:
            environ["HTTP_HOST"] = host.split(",")[0].strip()
        if prefix:
            environ["SCRIPT_NAME"] = "/" + prefix.strip("/") + environ.get("SCRIPT_NAME", "")
        return self.app(environ, start_response)


def wrap(app: WSGIApp, enabled: bool) -> WSGIApp:
    return ProxyHeaders(app) if enabled else app
