"""A source database to import from, read strictly read-only.

The source may be a ``nova_api`` database (placement tables as of the Stein
extraction, possibly older) or an upstream placement database at any alembic
revision, on SQLite, PostgreSQL or MySQL/MariaDB. ``read_only()`` opens one
consistent read-only snapshot (no table locks); ``inspect()`` works out which
of the placement tables and columns the source has; ``pages()`` streams a
table in primary-key order, one bounded batch at a time (keyset pagination,
so no table is ever loaded whole and no server-side cursor stays open while
the importer writes elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from allotment.store import tables as t
from allotment.store.engine import normalize_url

# Tables the importer copies, with the columns it wants from each. A source
# missing one of the optional tables is treated as having it empty.
WANTED: dict[str, sa.Table] = {
    table.name: table
    for table in (
        t.resource_classes,
        t.traits,
        t.resource_providers,
        t.placement_aggregates,
        t.projects,
        t.users,
        t.consumer_types,
        t.consumers,
        t.inventories,
        t.allocations,
        t.resource_provider_traits,
        t.resource_provider_aggregates,
    )
}
REQUIRED_TABLES = ("resource_providers", "inventories", "allocations")
# Columns without which a row cannot be copied (anything else gets a default).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "resource_providers": ("id", "uuid"),
    "inventories": ("id", "resource_provider_id", "resource_class_id", "total"),
    "allocations": ("id", "resource_provider_id", "consumer_id", "resource_class_id", "used"),
    "resource_classes": ("id", "name"),
    "traits": ("id", "name"),
    "placement_aggregates": ("id", "uuid"),
    "projects": ("id", "external_id"),
    "users": ("id", "external_id"),
    "consumer_types": ("id", "name"),
    "consumers": ("id", "uuid", "project_id", "user_id"),
    "resource_provider_traits": ("trait_id", "resource_provider_id"),
    "resource_provider_aggregates": ("resource_provider_id", "aggregate_id"),
}
# Tables that only exist in a nova_api database.
NOVA_API_MARKERS = ("cell_mappings", "host_mappings", "build_requests", "instance_mappings")


class SourceError(Exception):
    """The source cannot be read or does not hold placement data."""


@dataclass
class SourceSchema:
    """Which placement tables and columns a source has, and what that implies."""

    columns: dict[str, list[str]]
    revision: str | None
    kind: str
    notes: list[str] = field(default_factory=list)

    def has(self, table: str, column: str | None = None) -> bool:
        if table not in self.columns:
            return False
        return column is None or column in self.columns[table]

    def table(self, name: str) -> sa.TableClause:
        """A typed table clause naming only the columns this source has."""
        target = WANTED[name]
        return sa.table(name, *(sa.column(c, target.c[c].type) for c in self.columns[name]))


def open_engine(url: str) -> Engine:
    """An engine for the source; SQLite files are opened read-only."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise SourceError("an SQLite source must be a file")
        parsed = parsed.set(database=f"file:{parsed.database}?mode=ro").update_query_dict(
            {"uri": "true"}
        )
        engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            dbapi_conn.execute("PRAGMA query_only = ON")

        return engine
    return sa.create_engine(parsed, poolclass=sa.pool.NullPool)


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction over a consistent snapshot; always rolled back."""
    backend = engine.dialect.name
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as error:
        raise SourceError(f"cannot connect to the source: {error.orig}") from error
    try:
        if backend == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        elif backend == "mysql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            conn.exec_driver_sql("START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT")
        else:
            conn.exec_driver_sql("BEGIN")
        yield conn
    finally:
        # Nothing was written; for SQLite the DBAPI rollback also ends our BEGIN.
        try:
            conn.rollback()
        except sa.exc.DBAPIError:
            pass
        conn.close()


def inspect(conn: Connection) -> SourceSchema:
    """The placement tables and columns present in the source, and notes on them."""
    inspector = sa.inspect(conn)
    names = set(inspector.get_table_names())
    missing = [name for name in REQUIRED_TABLES if name not in names]
    if missing:
        raise SourceError(
            f"the source has no {', '.join(missing)} table: it is not a nova_api or "
            f"placement database"
        )
    columns: dict[str, list[str]] = {}
    notes: list[str] = []
    for name, target in WANTED.items():
        if name not in names:
            notes.append(f"no {name} table: treated as empty")
            continue
        have = [c["name"] for c in inspector.get_columns(name)]
        absent = [c for c in REQUIRED_COLUMNS[name] if c not in have]
        if absent:
            raise SourceError(f"source table {name} lacks column(s) {', '.join(absent)}")
        columns[name] = [c.name for c in target.columns if c.name in have]
        extra = sorted(set(have) - set(target.c.keys()))
        if extra:
            notes.append(f"ignoring extra column(s) {name}.{', '.join(extra)}")
        for col in target.c.keys():
            if col not in have:
                notes.append(f"no column {name}.{col}: {_default_note(name, col)}")
    revision = _revision(conn, names)
    kind = _kind(names, revision)
    return SourceSchema(columns=columns, revision=revision, kind=kind, notes=notes)


def _default_note(table: str, column: str) -> str:
    if (table, column) == ("consumers", "generation"):
        return "imported as 0"
    if (table, column) == ("resource_providers", "root_provider_id"):
        return "each provider becomes its own root"
    return "imported as NULL/default"


def _revision(conn: Connection, names: set[str]) -> str | None:
    if "alembic_version" not in names:
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _kind(names: set[str], revision: str | None) -> str:
    if any(marker in names for marker in NOVA_API_MARKERS):
        return "nova_api"
    if revision:
        return f"placement at {revision}"
    return "placement (no alembic revision)"


def count(conn: Connection, schema: SourceSchema, name: str) -> int:
    if name not in schema.columns:
        return 0
    return conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()


def max_id(conn: Connection, schema: SourceSchema, name: str) -> int:
    if name not in schema.columns:
        return 0
    table = sa.table(name, sa.column("id"))
    return conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0


def pages(
    conn: Connection, schema: SourceSchema, name: str, key: Sequence[str], batch_size: int
) -> Iterator[Sequence[Row]]:
    """Every row of ``name`` in ``key`` order, ``batch_size`` rows at a time."""
    if name not in schema.columns:
        return
    table = schema.table(name)
    cols = [table.c[k] for k in key]
    base = sa.select(table).order_by(*cols).limit(batch_size)
    last: tuple | None = None
    while True:
        stmt = base if last is None else base.where(_after(cols, last))
        rows = conn.execute(stmt).all()
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        last = tuple(getattr(rows[-1], k) for k in key)


def _after(cols: list[sa.ColumnClause], last: tuple) -> sa.ColumnElement[bool]:
    """Keyset condition ``(c1, c2, ...) > last`` written portably."""
    first, value = cols[0], last[0]
    if len(cols) == 1:
        return first > value
    return sa.or_(first > value, sa.and_(first == value, _after(cols[1:], last[1:])))
