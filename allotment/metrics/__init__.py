"""Prometheus metrics: what is counted, where, and how ``/metrics`` serves it.

``Metrics`` is built by ``make_app`` when ``[allotment] metrics`` is on (the
default) and lives in the app state; code that records something asks the
state for it and does nothing when it is None, so switching metrics off
costs nothing. Under gunicorn every worker writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) and
``/metrics`` answers with the sum over all workers, live and dead.

The modules: ``instruments`` declares every metric (names, labels,
buckets), ``requests`` is the WSGI middleware counting requests,
``database`` listens to SQLAlchemy's engine and pool events, ``endpoint``
renders the exposition, ``multiprocess`` prepares and cleans the shared
directory for ``allotment serve``.
"""

from __future__ import annotations

from allotment.metrics.recorder import CandidateSearch, Metrics, candidate_search

__all__ = ["CandidateSearch", "Metrics", "candidate_search"]
