"""``store.listed``: one array parameter on PostgreSQL, an expanding IN elsewhere."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from allotment.store import listed
from allotment.store.tables import resource_providers as rp


def _sql(statement: sa.ClauseElement, dialect: sa.Dialect) -> str:
    return str(statement.compile(dialect=dialect))


def test_postgresql_binds_the_list_as_one_array() -> None:
    query = sa.select(rp.c.id).where(listed.one_of(rp.c.uuid, "uuids", as_array=True))
    text = _sql(query, postgresql.dialect())
    # Unbounded: a cast to VARCHAR(36)[] would cut a longer value to a match.
    assert "= ANY (%(uuids)s::VARCHAR[])" in text
    assert " IN " not in text


def test_other_databases_keep_an_expanding_in() -> None:
    query = sa.select(rp.c.id).where(listed.one_of(rp.c.id, "ids", as_array=False))
    for dialect in (mysql.dialect(), sqlite.dialect()):
        assert "IN (__[POSTCOMPILE_ids])" in _sql(query, dialect)


def test_by_dialect_picks_the_statement_of_the_connection() -> None:
    built = listed.ByDialect(lambda arrays: "array" if arrays else "in")

    class Conn:
        def __init__(self, name: str) -> None:
            self.dialect = type("D", (), {"name": name})()

    assert built(Conn("postgresql")) == "array"  # type: ignore[arg-type]
    assert built(Conn("mysql")) == "in"  # type: ignore[arg-type]
    assert built(Conn("sqlite")) == "in"  # type: ignore[arg-type]
