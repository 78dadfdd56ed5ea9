"""Database metrics from SQLAlchemy's engine and pool events.

Query latency by backend, pool size, checked-out and open connections,
connection errors; the SQL time of a candidate search is summed here too
(see ``recorder.SQL_SECONDS``).
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from sqlalchemy import event

from allotment.metrics.instruments import instruments
from allotment.metrics.recorder import SQL_SECONDS
from allotment.store.engine import Database

_START = "_allotment_query_started"
_INSTRUMENTED: weakref.WeakSet[Any] = weakref.WeakSet()


def instrument(db: Database) -> None:
    """Attach the listeners to ``db``'s engines (primary, replica) and pools."""
    for engine in (db.engine, getattr(db, "replica", None)):
        if engine is not None:
            _instrument_engine(engine, db.backend)


def _instrument_engine(engine: Any, backend: str) -> None:
    """Listeners on one engine and its pool (once per engine)."""
    if engine in _INSTRUMENTED:
        return
    _INSTRUMENTED.add(engine)
    found = instruments()
    query_seconds = found.query_seconds.labels(backend)
    checked_out = found.pool_checked_out.labels(backend)
    connections = found.pool_connections.labels(backend)
    errors = found.connection_errors.labels(backend)
    size = getattr(engine.pool, "size", None)
    found.pool_size.labels(backend).inc(size() if callable(size) else 1)

    # The start time rides on the statement's own execution context: no
    # per-connection stack to push and pop on every statement.
    def before(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if context is not None:
            setattr(context, _START, time.perf_counter())

    def after(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        started = getattr(context, _START, None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        query_seconds.observe(elapsed)
        total = SQL_SECONDS.get()
        if total is not None:
            total[0] += elapsed

    def failed(context: Any) -> None:
        if context.is_disconnect or context.connection is None:
            errors.inc()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
    event.listen(engine.pool, "connect", lambda *_: connections.inc())
    event.listen(engine.pool, "close", lambda *_: connections.dec())
    event.listen(engine.pool, "close_detached", lambda *_: connections.dec())
    event.listen(engine.pool, "checkout", lambda *_: checked_out.inc())
    event.listen(engine.pool, "checkin", lambda *_: checked_out.dec())
