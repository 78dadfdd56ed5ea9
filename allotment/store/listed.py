"""``column IN (a list bound at execution)``, written the cheaper way for each database.

An expanding ``IN`` is rewritten by SQLAlchemy on every execution: one
parameter per element spliced into the statement text. On PostgreSQL the
list goes instead as one array parameter, ``column = ANY(:name)``: nothing
to splice, and one statement text whatever the list's length, which psycopg
prepares once. MySQL and SQLite have no array parameter and keep the
expanding ``IN``. Statements are built once per kind (``by_dialect``), so a
hot statement still costs no building per request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

T = TypeVar("T")


def one_of(column: sa.ColumnElement, name: str, as_array: bool) -> sa.ColumnElement[bool]:
    """``column`` is one of the list bound as ``name``."""
    if as_array:
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(_unbounded(column))))
    return column.in_(sa.bindparam(name, expanding=True))


def _unbounded(column: sa.ColumnElement) -> sa.types.TypeEngine:
    # The array is cast explicitly, and an explicit cast to VARCHAR(n) cuts a
    # longer value silently: a value too long for the column must match
    # nothing, not its first n characters.
    if isinstance(column.type, sa.String) and column.type.length:
        return sa.String()
    return column.type


def uses_arrays(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


class ByDialect(Generic[T]):
    """A statement built once with arrays (PostgreSQL) and once without."""

    def __init__(self, build: Callable[[bool], T]) -> None:
        self._built = (build(False), build(True))

    def __call__(self, conn: Connection) -> T:
        return self._built[uses_arrays(conn)]
