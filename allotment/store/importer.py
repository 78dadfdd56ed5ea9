"""Copy placement data from a nova_api or upstream placement database into ours.

All or nothing: every row is written inside one transaction on the target,
and the copy is verified (row counts, per-provider usage, per-consumer
allocation sums) before that transaction commits; a failure anywhere, a
mismatch included, rolls it back and leaves the target as it was.

Ids are kept: providers, inventories, allocations, consumers, custom
resource classes, traits, aggregates, projects, users and consumer types are
inserted with their source ids, so nothing that remembered an id is
surprised. Standard resource classes and traits are matched by name (our
standard class ids are fixed) and the ids that refer to them are remapped;
a name the target already has is matched too. Only when a source id is
taken in the target by a different row does the row get a fresh id.

Upstream's online data migrations are applied on the way: a provider
without ``root_provider_id`` becomes its own root, and a consumer that has
allocations but no ``consumers`` row is created with the configured
incomplete-consumer project and user.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from allotment.config import INCOMPLETE_CONSUMER_ID
from allotment.store import changes, schema, source
from allotment.store import tables as t
from allotment.store.engine import Database, utcnow
from allotment.store.import_check import (
    ImportReport,
    SumCheck,
    TableCount,
    VerificationFailed,
    compare_groups,
    fold_groups,
    grouped_sums,
)
from allotment.store.source import SourceSchema
from allotment.store.standard import (
    FIRST_CUSTOM_RESOURCE_CLASS_ID,
    STANDARD_RESOURCE_CLASS_IDS,
    STANDARD_RESOURCE_CLASSES,
)

# (table, rows done, rows in the source): called after every batch written.
BatchHook = Callable[[str, int, int], None]

# Lookup tables matched by a natural key, in copy order.
NAMED_TABLES: tuple[tuple[sa.Table, str], ...] = (
    (t.resource_classes, "name"),
    (t.traits, "name"),
    (t.placement_aggregates, "uuid"),
    (t.projects, "external_id"),
    (t.users, "external_id"),
    (t.consumer_types, "name"),
)
# Every copied table, in the order rows are written (foreign keys first).
COPY_ORDER = (
    "resource_classes",
    "traits",
    "placement_aggregates",
    "projects",
    "users",
    "consumer_types",
    "resource_providers",
    "consumers",
    "inventories",
    "allocations",
    "resource_provider_traits",
    "resource_provider_aggregates",
)
# Tables whose rows mean "this database is in use".
IN_USE_TABLES = (t.resource_providers, t.allocations, t.consumers)
# Tables whose id comes from a sequence/AUTO_INCREMENT that must move past our ids.
SEQUENCED = (
    t.resource_providers,
    t.inventories,
    t.allocations,
    t.placement_aggregates,
    t.traits,
    t.projects,
    t.users,
    t.consumer_types,
    t.consumers,
)


class TargetNotEmpty(Exception):
    """The target holds providers, allocations or consumers and --force was not given."""

    def __init__(self, counts: dict[str, int]) -> None:
        listed = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
        super().__init__(
            f"the target database is not empty ({listed}); use --force to replace its data"
        )
        self.counts = counts


@dataclass
class ImportOptions:
    batch_size: int = 5000
    force: bool = False
    incomplete_project_id: str = INCOMPLETE_CONSUMER_ID
    incomplete_user_id: str = INCOMPLETE_CONSUMER_ID
    on_batch: BatchHook | None = None


def run_import(source_url: str, target: Database, options: ImportOptions) -> ImportReport:
    """Copy everything from ``source_url`` into ``target``, verified, in one transaction."""
    started = time.monotonic()
    engine = source.open_engine(source_url)
    try:
        with source.read_only(engine) as src:
            schema = source.inspect(src)
            with target.write() as tgt:
                report = _Copier(src, tgt, schema, options, target.backend).run()
                report.seconds = time.monotonic() - started
                if not report.ok:
                    raise VerificationFailed(report)
    finally:
        engine.dispose()
    if target.backend == "mysql":
        # ALTER TABLE commits implicitly on MySQL, so it must come after ours.
        _reset_mysql_auto_increment(target)
    report.seconds = time.monotonic() - started
    return report


class _Copier:
    """The state of one import: id maps from source to target, and counters."""

    def __init__(
        self,
        src: Connection,
        tgt: Connection,
        schema: SourceSchema,
        options: ImportOptions,
        backend: str,
    ) -> None:
        self.src, self.tgt, self.schema, self.options = src, tgt, schema, options
        self.backend = backend
        self.report = ImportReport(schema=schema)
        self.maps: dict[str, dict[int, int]] = {}
        self.totals = {name: source.count(src, schema, name) for name in COPY_ORDER}
        self.pre: dict[str, int] = {}
        self.merged: dict[str, int] = dict.fromkeys(COPY_ORDER, 0)
        self.synthesized: dict[str, int] = dict.fromkeys(COPY_ORDER, 0)
        self.deferred_links: list[dict[str, Any]] = []
        self.done: dict[str, int] = dict.fromkeys(COPY_ORDER, 0)

    # -- the whole run -----------------------------------------------------

    def run(self) -> ImportReport:
        self._make_room()
        self.pre = {name: _count(self.tgt, t.metadata.tables[name]) for name in COPY_ORDER}
        # Before copying: nova_api never stored the standard classes; ids were list positions.
        self.maps["resource_classes"] = {i: i for i in range(len(STANDARD_RESOURCE_CLASSES))}
        for table, key in NAMED_TABLES:
            self._copy_named(table, key)
        self._copy_providers()
        self._copy_rows("consumers", ("id",), self._consumer_row)
        self._copy_rows("inventories", ("id",), self._inventory_row)
        self._copy_rows("allocations", ("id",), self._allocation_row)
        self._copy_rows(
            "resource_provider_traits",
            ("trait_id", "resource_provider_id"),
            self._provider_trait_row,
        )
        self._copy_rows(
            "resource_provider_aggregates",
            ("resource_provider_id", "aggregate_id"),
            self._provider_aggregate_row,
        )
        self._create_incomplete_consumers()
        # Running servers' candidate models reload everything.
        changes.record_all(self.tgt)
        if self.backend == "postgresql":
            _reset_postgresql_sequences(self.tgt)
        self._verify()
        return self.report

    def _make_room(self) -> None:
        in_use = {table.name: _count(self.tgt, table) for table in IN_USE_TABLES}
        if not any(in_use.values()):
            return
        if not self.options.force:
            raise TargetNotEmpty(in_use)
        self.report.wiped = {
            table.name: _count(self.tgt, table) for table in t.DATA_TABLES_DELETE_ORDER
        }
        wipe(self.tgt)

    def _batch_done(self, name: str, rows: int) -> None:
        self.report.rows += rows
        self.done[name] += rows
        if self.options.on_batch:
            self.options.on_batch(name, self.done[name], self.totals[name])

    def _pages(self, name: str, key: Sequence[str]) -> Iterator[Sequence[Row]]:
        return source.pages(self.src, self.schema, name, key, self.options.batch_size)

    # -- lookup tables, matched by name ----------------------------------

    def _copy_named(self, table: sa.Table, key: str) -> None:
        name = table.name
        existing = {row[0]: row[1] for row in self.tgt.execute(sa.select(table.c[key], table.c.id))}
        if name == "resource_classes":
            existing.update(STANDARD_RESOURCE_CLASS_IDS)
        taken = set(existing.values())
        mapping = self.maps.setdefault(name, {})
        floor = FIRST_CUSTOM_RESOURCE_CLASS_ID if name == "resource_classes" else 1
        fresh = _id_source(
            max(source.max_id(self.src, self.schema, name), max(taken, default=0), floor - 1) + 1
        )
        for rows in self._pages(name, ("id",)):
            values = []
            for row in rows:
                natural = getattr(row, key)
                if natural in existing:
                    mapping[row.id] = existing[natural]
                    self.merged[name] += 1
                    continue
                new_id = row.id if row.id not in taken else next(fresh)
                taken.add(new_id)
                existing[natural] = mapping[row.id] = new_id
                values.append({"id": new_id, key: natural, **_timestamps(row)})
            if values:
                self.tgt.execute(table.insert(), values)
            self._batch_done(name, len(rows))

    # -- providers: self-references may point forward ----------------------

    def _copy_providers(self) -> None:
        for rows in self._pages("resource_providers", ("id",)):
            self._insert(t.resource_providers, [self._provider_row(row) for row in rows])
            self._batch_done("resource_providers", len(rows))
        if self.deferred_links:
            stmt = (
                sa.update(t.resource_providers)
                .where(t.resource_providers.c.id == sa.bindparam("b_id"))
                .values(
                    root_provider_id=sa.bindparam("b_root"),
                    parent_provider_id=sa.bindparam("b_parent"),
                )
            )
            for chunk in _chunks(self.deferred_links, self.options.batch_size):
                self.tgt.execute(stmt, chunk)

    def _provider_row(self, row: Row) -> dict[str, Any]:
        data = row._mapping
        root = data.get("root_provider_id")
        parent = data.get("parent_provider_id")
        if root is None:
            root = row.id
            self.report.roots_set += 1
        if root > row.id or (parent is not None and parent > row.id):
            # A provider re-parented under a newer one: link it once all rows exist.
            self.deferred_links.append({"b_id": row.id, "b_root": root, "b_parent": parent})
            root = parent = None
        return {
            "id": row.id,
            "uuid": row.uuid,
            "name": data.get("name"),
            "generation": data.get("generation", 0),
            "root_provider_id": root,
            "parent_provider_id": parent,
            **_timestamps(row),
        }

    # -- the big tables: ids kept, foreign ids remapped --------------------

    def _copy_rows(
        self, name: str, key: Sequence[str], convert: Callable[[Row], dict[str, Any]]
    ) -> None:
        table = t.metadata.tables[name]
        for rows in self._pages(name, key):
            self._insert(table, [convert(row) for row in rows])
            self._batch_done(name, len(rows))

    def _insert(self, table: sa.Table, values: list[dict[str, Any]]) -> None:
        if self.backend == "postgresql":
            copy_rows(self.tgt, table, values)
        else:
            self.tgt.execute(table.insert(), values)

    def _remap(self, name: str, value: Any) -> Any:
        return self.maps[name].get(value, value)

    def _consumer_row(self, row: Row) -> dict[str, Any]:
        data = row._mapping
        type_id = data.get("consumer_type_id")
        return {
            "id": row.id,
            "uuid": row.uuid,
            "project_id": self._remap("projects", row.project_id),
            "user_id": self._remap("users", row.user_id),
            "generation": data.get("generation") or 0,
            "consumer_type_id": None if type_id is None else self._remap("consumer_types", type_id),
            **_timestamps(row),
        }

    def _inventory_row(self, row: Row) -> dict[str, Any]:
        data = dict(row._mapping)
        data["resource_class_id"] = self._remap("resource_classes", row.resource_class_id)
        return data

    def _allocation_row(self, row: Row) -> dict[str, Any]:
        data = dict(row._mapping)
        data["resource_class_id"] = self._remap("resource_classes", row.resource_class_id)
        return data

    def _provider_trait_row(self, row: Row) -> dict[str, Any]:
        return {
            "trait_id": self._remap("traits", row.trait_id),
            "resource_provider_id": row.resource_provider_id,
            **_timestamps(row),
        }

    def _provider_aggregate_row(self, row: Row) -> dict[str, Any]:
        return {
            "resource_provider_id": row.resource_provider_id,
            "aggregate_id": self._remap("placement_aggregates", row.aggregate_id),
            **_timestamps(row),
        }

    # -- upstream's online migration: consumers for orphan allocations -----

    def _create_incomplete_consumers(self) -> None:
        a, c = t.allocations, t.consumers
        missing = (
            sa.select(a.c.consumer_id)
            .distinct()
            .select_from(a.outerjoin(c, c.c.uuid == a.c.consumer_id))
            .where(c.c.id.is_(None))
            .order_by(a.c.consumer_id)
            .limit(self.options.batch_size)
        )
        last: str | None = None
        project_id = user_id = None
        fresh: Iterator[int] | None = None
        while True:
            stmt = missing if last is None else missing.where(a.c.consumer_id > last)
            uuids = self.tgt.execute(stmt).scalars().all()
            if not uuids:
                return
            if fresh is None:
                project_id = self._get_or_create(t.projects, self.options.incomplete_project_id)
                user_id = self._get_or_create(t.users, self.options.incomplete_user_id)
                fresh = _id_source(_max_id(self.tgt, c) + 1)
            now = utcnow()
            self.tgt.execute(
                c.insert(),
                [
                    {
                        "id": next(fresh),
                        "uuid": uuid,
                        "project_id": project_id,
                        "user_id": user_id,
                        "generation": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for uuid in uuids
                ],
            )
            self.report.incomplete_consumers += len(uuids)
            self.synthesized["consumers"] += len(uuids)
            last = uuids[-1]

    def _get_or_create(self, table: sa.Table, external_id: str) -> int:
        """The id of a project/user row, inserted (and counted as made up) if absent."""
        found = self.tgt.execute(
            sa.select(table.c.id).where(table.c.external_id == external_id)
        ).scalar()
        if found is not None:
            return found
        new_id = _max_id(self.tgt, table) + 1
        self.tgt.execute(
            table.insert().values(id=new_id, external_id=external_id, created_at=utcnow())
        )
        self.synthesized[table.name] += 1
        return new_id

    def _expected(self, name: str) -> int:
        return (
            self.pre[name] + self.totals[name] - self.merged[name] + self.synthesized.get(name, 0)
        )

    # -- verification --------------------------------------------------------

    def _verify(self) -> None:
        self.report.counts = [
            TableCount(
                name,
                self.totals[name],
                _count(self.tgt, t.metadata.tables[name]),
                self._expected(name),
            )
            for name in COPY_ORDER
        ]
        self.report.sums = [
            self._compare_sums("usage per provider", "resource_provider_id", binary=False),
            self._compare_sums("allocations per consumer", "consumer_id", binary=True),
        ]

    def _compare_sums(self, label: str, key: str, binary: bool) -> SumCheck:
        remap = self.maps["resource_classes"]
        src_rows = grouped_sums(
            self.src,
            self.schema.table("allocations"),
            key,
            binary,
            self.src.dialect.name,
            self.options.batch_size,
        )
        tgt_rows = grouped_sums(
            self.tgt, t.allocations, key, binary, self.backend, self.options.batch_size
        )
        groups, mismatches, examples = compare_groups(
            fold_groups(src_rows, lambda cls: remap.get(cls, cls)),
            fold_groups(tgt_rows, lambda c: c),
        )
        return SumCheck(label, groups, mismatches, tuple(examples))


# -- helpers (no state) -------------------------------------------------------


def wipe(conn: Connection) -> None:
    """Delete every row but the standard classes and traits (for --force)."""
    schema.delete_data(conn)


def copy_rows(conn: Connection, table: sa.Table, values: list[dict[str, Any]]) -> None:
    """Bulk insert on PostgreSQL with COPY, inside the connection's transaction.

    Two to three times faster than psycopg's pipelined executemany; the rows
    become visible to later statements of the same transaction as usual.
    """
    if not values:
        return
    columns = list(values[0])
    raw = conn.connection.driver_connection
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        for row in values:
            copy.write_row([row[c] for c in columns])


def _timestamps(row: Row) -> dict[str, Any]:
    data = row._mapping
    return {"created_at": data.get("created_at"), "updated_at": data.get("updated_at")}


def _count(conn: Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _max_id(conn: Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0


def _id_source(start: int) -> Iterator[int]:
    value = start
    while True:
        yield value
        value += 1


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reset_postgresql_sequences(conn: Connection) -> None:
    for table in SEQUENCED:
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            )
        )


def _reset_mysql_auto_increment(db: Database) -> None:
    with db.engine.connect() as conn:
        for table in SEQUENCED:
            next_id = _max_id(conn, table) + 1
            conn.exec_driver_sql(f"ALTER TABLE {table.name} AUTO_INCREMENT = {next_id}")
        conn.commit()
