"""``Metrics``: the one object that records; the app state holds it (or None)."""

from __future__ import annotations

import contextvars
import time
from types import TracebackType
from typing import Any

from allotment import exceptions as exc
from allotment.http import errors
from allotment.http.request import ENV_ERROR, ENV_ROUTE, ENV_VERSION
from allotment.metrics.instruments import Instruments, instruments
from allotment.store import hooks

METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"})
UNMATCHED = "unmatched"

# Seconds spent in SQL by the current request's candidate search (None: not timing).
SQL_SECONDS: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "allotment_sql_seconds", default=None
)


class Metrics:
    """Records requests, candidate searches, write retries and database activity."""

    def __init__(self) -> None:
        self.instruments: Instruments = instruments()
        hooks.on_write_retry(_count_retry)

    # --- requests ------------------------------------------------------------
    def observe_request(self, environ: dict[str, Any], status: int, seconds: float) -> None:
        """One answered request; labels come from what dispatch recorded in ``environ``."""
        route = environ.get(ENV_ROUTE, UNMATCHED)
        method = environ.get("REQUEST_METHOD", "")
        method = method if method in METHODS else "other"
        version = environ.get(ENV_VERSION)
        labels = (route, method, f"{status // 100}xx", str(version) if version else "none")
        found = self.instruments
        found.requests.labels(*labels).inc()
        found.request_seconds.labels(*labels).observe(seconds)
        error = environ.get(ENV_ERROR)
        if error is None:
            return
        if status == 409:
            found.conflicts.labels(route, method, _error_code(error)).inc()
        if _is_capacity_error(error):
            found.capacity_rejections.labels(route).inc()

    # --- allocation candidates -------------------------------------------------
    def candidate_search(self) -> CandidateSearch:
        return CandidateSearch(self.instruments)


class CandidateSearch:
    """Times one candidate search (wall and SQL) and records its outcome::

    with metrics.candidate_search() as search:
        result = find_candidates(...)
        search.found(len(result.candidates), providers, limit, cap)
    """

    __slots__ = ("_instruments", "_started", "_sql", "_token", "_outcome")

    def __init__(self, found: Instruments) -> None:
        self._instruments = found
        self._sql = [0.0]
        self._started = 0.0
        self._outcome: tuple[int, int, int | None, int] | None = None

    def __enter__(self) -> CandidateSearch:
        self._token = SQL_SECONDS.set(self._sql)
        self._started = time.perf_counter()
        return self

    def found(self, returned: int, providers: int, limit: int | None, cap: int) -> None:
        """The answer had ``returned`` candidates built from ``providers`` providers;
        ``limit`` is the request's, ``cap`` the ``max_allocation_candidates`` (-1: none)."""
        self._outcome = (returned, providers, limit, cap)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._started
        SQL_SECONDS.reset(self._token)
        if self._outcome is None:
            return
        found = self._instruments
        returned, providers, limit, cap = self._outcome
        found.candidates_search_seconds.observe(elapsed)
        found.candidates_sql_seconds.observe(self._sql[0])
        found.candidates_returned.observe(returned)
        found.candidates_providers.observe(providers)
        if limit is not None and returned >= limit:
            found.candidates_cut.labels("limit").inc()
        elif cap > 0 and returned >= cap:
            found.candidates_cut.labels("max_allocation_candidates").inc()


class _NoSearch:
    """What ``candidate_search`` gives when metrics are off: records nothing."""

    def __enter__(self) -> _NoSearch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def found(self, returned: int, providers: int, limit: int | None, cap: int) -> None:
        return None


_NO_SEARCH = _NoSearch()


def candidate_search(metrics: Metrics | None) -> CandidateSearch | _NoSearch:
    """A timer for one candidate search (a no-op one when metrics are off)."""
    return metrics.candidate_search() if metrics is not None else _NO_SEARCH


def _count_retry(reason: str) -> None:
    instruments().write_retries.labels(reason).inc()


def _error_code(error: BaseException) -> str:
    if isinstance(error, errors.HTTPError):
        return error.code
    if isinstance(error, exc.PlacementError):
        return errors.from_domain(error).code
    return "none"


def _is_capacity_error(error: BaseException | None) -> bool:
    """The error, or what it was raised from, is an inventory capacity refusal."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, exc.CapacityExceeded):
            return True
        error = error.__cause__
        seen += 1
    return False
