"""allotment's own options: the ``[allotment]`` section of placement.conf."""

from __future__ import annotations

from allotment.options.option import DEFAULT_BIND, Option, allotment_option

OUR_OPTIONS: tuple[Option, ...] = (
    allotment_option("bind", "str", DEFAULT_BIND, "HOST:PORT `allotment serve` listens on."),
    allotment_option("workers", "int", 2, "Worker processes of `allotment serve`.", min=1),
    allotment_option(
        "access_log", "bool", True, "One INFO line per request (logger allotment.access)."
    ),
    allotment_option(
        "log_format",
        "str",
        "plain",
        "plain, or json: one JSON object per line (same as [DEFAULT] use_json).",
        choices=("plain", "json"),
    ),
    # Request limits and the slow-client front of `allotment serve` (docs/security.md).
    allotment_option(
        "max_body_size", "int", 1048576, "Largest request body in bytes (413 above).", min=1
    ),
    allotment_option(
        "max_list_items",
        "int",
        1000,
        "Most items in one JSON array or object of a body (traits, aggregates, consumers).",
        min=1,
    ),
    allotment_option("max_json_depth", "int", 32, "Deepest nesting of a JSON request body.", min=1),
    allotment_option(
        "max_request_line", "int", 16384, "Longest request line in bytes (414).", min=1
    ),
    allotment_option("max_header_size", "int", 32768, "Largest request header block (431).", min=1),
    allotment_option(
        "header_timeout", "float", 30.0, "Seconds a client may take to send a head (408)."
    ),
    allotment_option(
        "body_timeout", "float", 60.0, "Seconds a client may take to send a body (408)."
    ),
    allotment_option(
        "keepalive_timeout", "float", 5.0, "Idle seconds a kept-alive connection is held."
    ),
    allotment_option(
        "keepalive_requests", "int", 1000, "Requests served on one connection.", min=1
    ),
    allotment_option(
        "max_connections", "int", 1000, "Open connections per worker (503 above).", min=1
    ),
    allotment_option(
        "max_allocations_per_write",
        "int",
        1000,
        "(consumer, provider) pairs one POST /allocations or /reshaper may write: "
        "bounds how long one request holds the write lock.",
        min=1,
    ),
    # New capabilities, each with its own off switch.
    allotment_option(
        "console", "bool", True, "Serve the operator console at /ui/ (docs/console.md)."
    ),
    allotment_option(
        "metrics", "bool", True, "Serve GET /metrics and record the metrics behind it."
    ),
    allotment_option(
        "in_memory_candidates",
        "bool",
        True,
        "Search candidates in a per-worker in-memory model kept fresh by the change feed "
        "(false: research by SQL on every request).",
    ),
)
