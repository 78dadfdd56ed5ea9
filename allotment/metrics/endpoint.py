"""``GET /metrics``: the Prometheus text exposition of this process or of all workers."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

StartResponse = Callable[..., Any]
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _registry() -> Any:
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
    from prometheus_client.gc_collector import GCCollector
    from prometheus_client.platform_collector import PlatformCollector
    from prometheus_client.process_collector import ProcessCollector

    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    # Every worker's samples, summed; gauges over live workers only. The
    # process and Python collectors describe the worker that answers.
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def metrics_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """The WSGI app mounted at ``/metrics`` (no authentication, no microversion)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        start_response(
            "405 Method Not Allowed",
            [("allow", "GET, HEAD"), ("content-type", "text/plain"), ("content-length", "0")],
        )
        return [b""]
    body = generate_latest(_registry())
    headers = [
        ("content-type", CONTENT_TYPE_LATEST),
        ("content-length", str(len(body))),
        ("cache-control", "no-cache"),
    ]
    start_response("200 OK", headers)
    return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]
