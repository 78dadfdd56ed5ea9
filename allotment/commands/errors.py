"""One line for each failure an operator can cause; None for a bug.

Used by the command line (``allotment``, ``placement-manage``,
``placement-status``) and by the WSGI entry point, so a bad URL, an
unreachable or missing database, an upstream database not yet adopted or a
malformed option is one sentence, never a traceback (``--debug`` shows it).
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from allotment.config import ConfigError
from allotment.store.connect import BadDatabaseURL, DatabaseMissing, is_missing_database
from allotment.store.schema import SchemaNotReady


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def describe(error: BaseException) -> str | None:
    """A one-line description of an operator-caused failure, or None."""
    if isinstance(error, ConfigError):
        return f"configuration error: {_first_line(error)}"
    if isinstance(error, BadDatabaseURL | DatabaseMissing | SchemaNotReady):
        return _first_line(error)
    if isinstance(error, sa_exc.NoSuchModuleError):
        return f"unsupported database URL: {_first_line(error)}"
    if isinstance(error, sa_exc.ArgumentError):
        return f"cannot use the database URL: {_first_line(error)}"
    if isinstance(error, sa_exc.DBAPIError):
        return _describe_dbapi(error)
    if isinstance(error, TimeoutError):
        return _first_line(error) or "timed out"
    try:
        from alembic.util import CommandError
    except ImportError:  # pragma: no cover - alembic is a dependency
        CommandError = ()  # type: ignore[assignment,misc]  # noqa: N806
    if isinstance(error, CommandError):
        return f"schema: {_first_line(error)}"
    if isinstance(error, PermissionError | FileNotFoundError | IsADirectoryError):
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror or _first_line(error)}{where}"
    return None


def _describe_dbapi(error: sa_exc.DBAPIError) -> str:
    detail = _first_line(error.orig)
    if is_missing_database(error):
        return f"the database does not exist: {detail}"
    if isinstance(error, sa_exc.ProgrammingError) and (
        "does not exist" in detail or "doesn't exist" in detail or "no such table" in detail
    ):
        return f"the database has no schema ({detail}): run `allotment db upgrade`"
    if isinstance(error, sa_exc.OperationalError) and "no such table" in detail:
        return f"the database has no schema ({detail}): run `allotment db upgrade`"
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
        return f"cannot reach the database: {detail}"
    return f"database error: {detail}"
