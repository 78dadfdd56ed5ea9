"""Cross-origin resource sharing, configured like upstream's ``[cors]`` section.

Only in the stack when ``[cors] allowed_origin`` is set (``*`` allows any
origin). Requests without an ``Origin`` header pass through untouched. A
preflight (``OPTIONS`` with ``Origin``) is answered here with 200, before
authentication, carrying the allow headers when the origin, the requested
method and every requested header are permitted (and none otherwise, so the
browser refuses). An actual request from a permitted origin gets
``Access-Control-Allow-Origin``, ``-Allow-Credentials`` and
``-Expose-Headers`` added to whatever the API answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from allotment.config import Settings

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# Headers a browser may always send (CORS "simple" headers), as oslo.middleware.
SIMPLE_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "Content-Language",
    "Expires",
    "Last-Modified",
    "Pragma",
)
WILDCARD = "*"


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class CORS:
    """The CORS middleware for one set of ``[cors]`` options."""

    def __init__(self, app: WSGIApp, settings: Settings):
        self.app = app
        self.origins = frozenset(settings.cors_allowed_origin)
        self.allow_credentials = settings.cors_allow_credentials
        self.max_age = settings.cors_max_age
        self.allow_methods = frozenset(m.upper() for m in settings.cors_allow_methods)
        self.allow_headers = frozenset(
            h.lower() for h in (*settings.cors_allow_headers, *SIMPLE_HEADERS)
        )
        self.expose_headers = ",".join(settings.cors_expose_headers)

    def _allowed_origin(self, origin: str) -> str | None:
        if origin in self.origins:
            return origin
        if WILDCARD in self.origins:
            return WILDCARD
        return None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        origin = environ.get("HTTP_ORIGIN")
        if not origin:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            return self._preflight(environ, origin, start_response)
        allowed = self._allowed_origin(origin)
        if allowed is None:
            return self.app(environ, start_response)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = self._origin_headers(headers, allowed)
            if self.expose_headers:
                headers.append(("Access-Control-Expose-Headers", self.expose_headers))
            return start_response(status, headers, exc_info)

        return self.app(environ, start)

    def _origin_headers(
        self, headers: list[tuple[str, str]], allowed: str
    ) -> list[tuple[str, str]]:
        vary = [v for k, v in headers if k.lower() == "vary"]
        out = [(k, v) for k, v in headers if k.lower() != "vary"]
        out.append(("Vary", ",".join([*vary, "Origin"])))
        out.append(("Access-Control-Allow-Origin", allowed))
        if self.allow_credentials:
            out.append(("Access-Control-Allow-Credentials", "true"))
        return out

    def _preflight(
        self, environ: dict[str, Any], origin: str, start_response: StartResponse
    ) -> list[bytes]:
        headers: list[tuple[str, str]] = [("Content-Length", "0")]
        allowed = self._allowed_origin(origin)
        method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        requested = _split(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"))
        if (
            allowed is not None
            and method is not None
            and method.upper() in self.allow_methods
            and all(h.lower() in self.allow_headers for h in requested)
        ):
            headers = self._origin_headers(headers, allowed)
            if self.max_age:
                headers.append(("Access-Control-Max-Age", str(self.max_age)))
            headers.append(("Access-Control-Allow-Methods", method))
            if requested:
                headers.append(("Access-Control-Allow-Headers", ",".join(requested)))
        start_response("200 OK", headers)
        return [b""]


def wrap(app: WSGIApp, settings: Settings) -> WSGIApp:
    """``app`` behind CORS when an origin is allowed, else ``app`` itself."""
    if not settings.cors_allowed_origin:
        return app
    return CORS(app, settings)
