"""WSGI plumbing for the fixture: a mount-prefix wrapper and a loopback HTTP server.

``Mount`` makes an app answer under a prefix (``/placement``) the way a
real deployment behind a web server does: the prefix moves from
``PATH_INFO`` to ``SCRIPT_NAME`` so links in bodies carry it. ``LoopbackServer``
serves an app on ``127.0.0.1`` at an ephemeral port from a background
thread, one thread per request, for code that must cross a real socket.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_NOT_FOUND = (
    b'{"errors": [{"status": 404, "title": "Not Found", '
    b'"detail": "The resource could not be found.", "code": "placement.undefined_code"}]}'
)


class Mount:
    """Serve ``app`` under ``prefix``; anything outside the prefix is a 404."""

    def __init__(self, app: WSGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        prefix = self.prefix
        if prefix and not (path == prefix or path.startswith(prefix + "/")):
            start_response(
                "404 Not Found",
                [("content-type", "application/json"), ("content-length", str(len(_NOT_FOUND)))],
            )
            return [_NOT_FOUND]
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + prefix
        environ["PATH_INFO"] = path[len(prefix) :]
        return self.app(environ, start_response)


class _QuietHandler(WSGIRequestHandler):
    """No stderr line per request: the app keeps its own access log."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return None


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class LoopbackServer:
    """A threaded WSGI server on 127.0.0.1 with an ephemeral port."""

    def __init__(self, app: WSGIApp, host: str = "127.0.0.1") -> None:
        self._server = _ThreadingWSGIServer((host, 0), _QuietHandler)
        self._server.set_app(app)
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"allotment-loopback-{self.port}",
            daemon=True,
        )

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"
