"""Every metric allotment exports: names, help texts, labels and buckets.

Label values are all bounded: route templates (never raw paths), HTTP
methods, status classes, microversions of the supported range, error codes
of ``allotment.http.error_codes``, database backend names and a few fixed
reasons. No uuid, project id or query string ever becomes a label.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

# 1 ms to 10 s: a placement request is a few ms, a huge candidate search seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Database queries are shorter: 100 us to 10 s.
QUERY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1) + (
    0.25,
    0.5,
    1.0,
    2.5,
    10.0,
)
COUNT_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000)


@dataclass(frozen=True)
class Instruments:
    requests: Any
    request_seconds: Any
    candidates_returned: Any
    candidates_providers: Any
    candidates_search_seconds: Any
    candidates_sql_seconds: Any
    candidates_cut: Any
    write_retries: Any
    conflicts: Any
    capacity_rejections: Any
    pool_size: Any
    pool_checked_out: Any
    pool_connections: Any
    connection_errors: Any
    query_seconds: Any


@functools.cache
def instruments() -> Instruments:
    """The metrics of this process, created once (prometheus-client is imported here,
    after ``allotment serve`` has pointed it at the multiprocess directory)."""
    from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

    # The *_created series double every counter for little use.
    disable_created_metrics()

    http = ("route", "method", "status", "microversion")
    return Instruments(
        requests=Counter(
            "allotment_http_requests", "HTTP requests answered by the placement API.", http
        ),
        request_seconds=Histogram(
            "allotment_http_request_duration_seconds",
            "Time to answer a placement API request.",
            http,
            buckets=LATENCY_BUCKETS,
        ),
        candidates_returned=Histogram(
            "allotment_allocation_candidates_returned",
            "Allocation requests returned per GET /allocation_candidates.",
            buckets=COUNT_BUCKETS,
        ),
        candidates_providers=Histogram(
            "allotment_allocation_candidates_providers_considered",
            "Providers loaded to build the answer of GET /allocation_candidates.",
            buckets=COUNT_BUCKETS,
        ),
        candidates_search_seconds=Histogram(
            "allotment_allocation_candidates_search_seconds",
            "Time spent searching allocation candidates (SQL and assembly).",
            buckets=LATENCY_BUCKETS,
        ),
        candidates_sql_seconds=Histogram(
            "allotment_allocation_candidates_sql_seconds",
            "Time spent in SQL queries during an allocation candidate search.",
            buckets=LATENCY_BUCKETS,
        ),
        candidates_cut=Counter(
            "allotment_allocation_candidates_truncated",
            "Answers that reached the request's limit or max_allocation_candidates.",
            ("reason",),
        ),
        write_retries=Counter(
            "allotment_allocation_write_retries",
            "Allocation write transactions run again by the server.",
            ("reason",),
        ),
        conflicts=Counter(
            "allotment_http_conflicts",
            "409 Conflict answers, by route and placement error code.",
            ("route", "method", "code"),
        ),
        capacity_rejections=Counter(
            "allotment_allocation_capacity_rejections",
            "Allocation writes refused because an inventory lacks capacity.",
            ("route",),
        ),
        pool_size=Gauge(
            "allotment_db_pool_size",
            "Configured size of the database connection pools (sum over workers).",
            ("backend",),
            multiprocess_mode="livesum",
        ),
        pool_checked_out=Gauge(
            "allotment_db_pool_checked_out",
            "Database connections in use (sum over live workers).",
            ("backend",),
            multiprocess_mode="livesum",
        ),
        pool_connections=Gauge(
            "allotment_db_pool_connections",
            "Open database connections, idle or in use (sum over live workers).",
            ("backend",),
            multiprocess_mode="livesum",
        ),
        connection_errors=Counter(
            "allotment_db_connection_errors",
            "Failures to connect to the database, or connections lost.",
            ("backend",),
        ),
        query_seconds=Histogram(
            "allotment_db_query_duration_seconds",
            "Time of one SQL statement, by database backend.",
            ("backend",),
            buckets=QUERY_BUCKETS,
        ),
    )
