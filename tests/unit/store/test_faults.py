"""Which errors are "database unavailable" (503) and which stay unexpected (500)."""

from __future__ import annotations

import sqlalchemy as sa

from allotment import exceptions as exc
from allotment.store import faults


def _dbapi(cls: type[sa.exc.DBAPIError], invalidated: bool = False) -> sa.exc.DBAPIError:
    return cls(
        "SELECT 1", {}, Exception("connection refused\nmore"), connection_invalidated=invalidated
    )


def test_connection_errors_are_unavailable() -> None:
    for error in (
        _dbapi(sa.exc.OperationalError),
        _dbapi(sa.exc.InterfaceError),
        _dbapi(sa.exc.DatabaseError, invalidated=True),
        sa.exc.TimeoutError("pool exhausted"),
    ):
        unavailable = faults.unavailable(error)
        assert isinstance(unavailable, exc.DatabaseUnavailable), error
        assert unavailable.__cause__ is error
        assert faults.describe(unavailable) == "Exception: connection refused" or isinstance(
            error, sa.exc.TimeoutError
        )


def test_raised_unavailable_is_kept() -> None:
    error = exc.DatabaseUnavailable("failover exhausted")
    assert faults.unavailable(error) is error


def test_other_errors_are_not_unavailable() -> None:
    for error in (_dbapi(sa.exc.DataError), _dbapi(sa.exc.IntegrityError), ValueError("x")):
        assert faults.unavailable(error) is None
