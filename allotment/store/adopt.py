"""Take over an upstream placement database in place (``allotment db adopt``).

Our schema is upstream's at alembic head ``a082b8bb98d0``, so adopting is:
check that the tables, columns and unique constraints are what we expect,
then, in one transaction, add the standard resource classes and traits the
installed os-resource-classes/os-traits know and the database lacks, and
replace upstream's revision in ``alembic_version`` by our baseline. Nothing
is dropped or rewritten. Older upstream revisions are refused: their data
may still need upstream's online migrations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.store import schema, standard
from allotment.store import tables as t
from allotment.store.engine import Database

UPSTREAM_HEAD = "a082b8bb98d0"
# Our first revision: the very schema of upstream's head, so it can be stamped.
BASELINE = "0001_initial"
# Upstream's revisions, oldest first.
UPSTREAM_OLDER = ("b4ed3a175331", "611cd6dffd7b", "b5c396305c25", "422ece571366")


class AdoptRefused(Exception):
    """The database cannot be adopted as it is; the message says what to do."""


@dataclass
class SchemaCheck:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class AdoptResult:
    revision_before: str | None
    revision_after: str
    baseline: str = BASELINE
    classes_added: list[str] = field(default_factory=list)
    traits_added: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    already_adopted: bool = False
    dry_run: bool = False


def check_revision(current: str | None) -> None:
    """Refuse anything but upstream's head (our own head is handled by the caller)."""
    if current is None:
        raise AdoptRefused(
            "the database has no alembic_version: it is not an upstream placement database. "
            "For a nova_api database (or any other source) use `allotment db import --from URL`."
        )
    if current in UPSTREAM_OLDER:
        raise AdoptRefused(
            f"the database is at upstream placement revision {current}, older than "
            f"{UPSTREAM_HEAD}. Run `placement-manage db online_data_migrations` and "
            f"`placement-manage db sync` with openstack-placement first, or use "
            f"`allotment db import --from URL` into a new database."
        )
    if current != UPSTREAM_HEAD:
        raise AdoptRefused(
            f"unknown alembic revision {current}: this is neither upstream placement at "
            f"{UPSTREAM_HEAD} nor an allotment database; use `allotment db import --from URL`."
        )


def check_schema(conn: Connection) -> SchemaCheck:
    """Compare the tables, columns and unique constraints with ours."""
    result = SchemaCheck()
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    for table in t.metadata.sorted_tables:
        if table.name not in present:
            result.problems.append(f"table {table.name} is missing")
            continue
        _check_columns(inspector, table, result)
        _check_uniques(inspector, table, result)
        _check_indexes(inspector, table, result)
    return result


def _check_columns(inspector: sa.Inspector, table: sa.Table, result: SchemaCheck) -> None:
    columns = {c["name"]: c for c in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name not in columns:
            result.problems.append(f"column {table.name}.{column.name} is missing")
    for name, info in columns.items():
        if name in table.c:
            continue
        if not info["nullable"] and info.get("default") is None:
            # We would not know what to write there (nova bug 1978549: can_host).
            result.problems.append(
                f"extra column {table.name}.{name} is NOT NULL without a default; drop it "
                f"(ALTER TABLE {table.name} DROP COLUMN {name}) and run adopt again"
            )
        else:
            result.notes.append(f"extra column {table.name}.{name} left alone")
    pk = set(inspector.get_pk_constraint(table.name)["constrained_columns"])
    if pk != {c.name for c in table.primary_key.columns}:
        result.problems.append(f"table {table.name} has primary key {sorted(pk)}")


def _check_uniques(inspector: sa.Inspector, table: sa.Table, result: SchemaCheck) -> None:
    have = {frozenset(u["column_names"]) for u in inspector.get_unique_constraints(table.name)}
    have |= {
        frozenset(name for name in i["column_names"] if name is not None)
        for i in inspector.get_indexes(table.name)
        if i.get("unique")
    }
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            columns = frozenset(c.name for c in constraint.columns)
            if columns not in have:
                result.problems.append(
                    f"unique constraint {constraint.name} ({', '.join(sorted(columns))}) is missing"
                )


def _check_indexes(inspector: sa.Inspector, table: sa.Table, result: SchemaCheck) -> None:
    have = {tuple(i["column_names"]) for i in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if tuple(c.name for c in index.columns) not in have:
            # Only slower, never wrong: reported, not fatal.
            result.notes.append(f"index {index.name} is missing (queries will be slower)")


def adopt(db: Database, dry_run: bool = False) -> AdoptResult:
    """Check, sync the standard data and stamp our baseline, all in one transaction."""
    current = schema.current_revision(db)
    head = schema.head_revision()
    if current == head:
        return AdoptResult(current, head, already_adopted=True)
    check_revision(current)
    result = AdoptResult(current, head, dry_run=dry_run)
    try:
        with db.write() as conn:
            found = check_schema(conn)
            if found.problems:
                raise AdoptRefused(
                    "the schema differs from upstream placement at "
                    f"{UPSTREAM_HEAD}:\n  " + "\n  ".join(found.problems)
                )
            result.notes = found.notes
            _sync_standard(conn, result)
            conn.execute(
                sa.text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
                {"new": BASELINE, "old": current},
            )
            if dry_run:
                raise _RollBack
    except _RollBack:
        return result
    if head != BASELINE:
        # Our own later revisions; they only ever add.
        schema.upgrade(db)
    return result


class _RollBack(Exception):
    """Leave the transaction without committing (--dry-run)."""


def _sync_standard(conn: Connection, result: AdoptResult) -> None:
    rc, traits = t.resource_classes, t.traits
    classes = {row.name: row.id for row in conn.execute(sa.select(rc.c.name, rc.c.id))}
    clashes = [
        f"{name} has id {classes[name]}, expected {i}"
        for name, i in standard.STANDARD_RESOURCE_CLASS_IDS.items()
        if name in classes and classes[name] != i
    ]
    if clashes:
        raise AdoptRefused("standard resource classes have unexpected ids: " + "; ".join(clashes))
    have_traits = {row.name for row in conn.execute(sa.select(traits.c.name))}
    result.classes_added = [n for n in standard.STANDARD_RESOURCE_CLASSES if n not in classes]
    result.traits_added = sorted(standard.STANDARD_TRAITS - have_traits)
    standard.sync(conn)
