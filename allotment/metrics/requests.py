"""The WSGI middleware that counts and times every API request."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from allotment.metrics.recorder import Metrics

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class RequestMetrics:
    """Wraps the API: one counter increment and one latency sample per request.

    The handler's answer is a complete list of bytes, so the time measured
    when the wrapped app returns is the time to produce the whole response.
    """

    def __init__(self, app: WSGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        started = time.perf_counter()
        status = [500]

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            self.metrics.observe_request(environ, status[0], time.perf_counter() - started)
