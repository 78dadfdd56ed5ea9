"""The operator console: static assets served at ``/ui/``, nothing else.

The console is plain HTML, CSS and JavaScript shipped inside the package
(``static/``): no CDN, no build step, no server-side API of its own. The
browser calls the public placement API (and the explain endpoint) with the
token the operator types in, so policy applies exactly as for any client.

``mount(app, settings)`` wraps the application when ``[allotment] console``
is true; every path outside ``/ui`` goes to the wrapped application untouched.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

from allotment.config import Settings

PREFIX = "/ui"
METHODS = ("GET", "HEAD")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# The page loads only its own scripts and styles and talks only to its own origin.
SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
]
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


@lru_cache(maxsize=64)
def asset(name: str) -> bytes | None:
    """The bytes of ``static/<name>``, or None when there is no such file."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = resources.files(__package__).joinpath("static", name)
    return path.read_bytes() if path.is_file() else None


def content_type(name: str) -> str:
    suffix = name[name.rfind(".") :] if "." in name else ""
    kind = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") else kind


def index_page(auth_strategy: str) -> bytes:
    """index.html, told which authentication the server uses (noauth2 prefills a token)."""
    page = asset("index.html") or b""
    return page.replace(b"{{auth_strategy}}", auth_strategy.encode())


class Console:
    """Serves ``/ui/`` and its assets; every other path goes to ``app``."""

    def __init__(self, app: WSGIApp, settings: Settings) -> None:
        self.app = app
        self.auth_strategy = settings.auth_strategy

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        path = environ.get("PATH_INFO", "")
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in METHODS:
            return _send(start_response, "405 Method Not Allowed", b"", "text/plain", method)
        if path == PREFIX:
            location = environ.get("SCRIPT_NAME", "") + PREFIX + "/"
            start_response("301 Moved Permanently", [("Location", location)])
            return [b""]
        name = path[len(PREFIX) + 1 :] or "index.html"
        body = index_page(self.auth_strategy) if name == "index.html" else asset(name)
        if body is None:
            return _send(start_response, "404 Not Found", b"not found\n", "text/plain", method)
        return _send(start_response, "200 OK", body, content_type(name), method)


def _send(
    start_response: StartResponse, status: str, body: bytes, kind: str, method: str
) -> list[bytes]:
    headers = [
        ("Content-Type", kind),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-cache"),
        *SECURITY_HEADERS,
    ]
    if status.startswith("405"):
        headers.append(("Allow", ", ".join(METHODS)))
    start_response(status, headers)
    return [b""] if method == "HEAD" else [body]


def mount(app: WSGIApp, settings: Settings) -> WSGIApp:
    """The console in front of ``app`` when ``[allotment] console`` is on."""
    return Console(app, settings) if settings.console else app
