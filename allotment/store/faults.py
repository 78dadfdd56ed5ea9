"""Which database errors mean "the database is unavailable" rather than a bug.

The HTTP fault path asks ``unavailable(error)`` about any exception that
escaped a handler: a refused or lost connection, a pool timeout or a lock
that could not be taken becomes ``DatabaseUnavailable`` (a 503 the client may
retry), anything else stays an unexpected error.
"""

from __future__ import annotations

import sqlalchemy as sa

from allotment import exceptions as exc

# Connection refused or lost, server gone away, "database is locked" on
# SQLite, a lock wait timeout: all OperationalError in the DB-API taxonomy.
_UNAVAILABLE = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
)


def unavailable(error: BaseException) -> exc.DatabaseUnavailable | None:
    """``error`` as a DatabaseUnavailable, or None if it is something else."""
    if isinstance(error, exc.DatabaseUnavailable):
        return error
    invalidated = isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated
    if invalidated or isinstance(error, _UNAVAILABLE):
        unavailable = exc.DatabaseUnavailable("The database is unavailable; try again later.")
        unavailable.__cause__ = error
        return unavailable
    return None


def describe(error: BaseException) -> str:
    """One short line naming the driver's error, for the operator's log."""
    cause = error.__cause__ or error
    original = getattr(cause, "orig", None) or cause
    first_line = (str(original).splitlines() or [""])[0][:300]
    return f"{type(original).__name__}: {first_line}"
