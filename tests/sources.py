"""Databases to import from: a nova_api-shaped one and an upstream-head-shaped one.

``build_source(url, shape, trees)`` creates the placement tables the way the
named deployment has them and fills them with a realistic cloud: compute
trees (root, two NUMA nodes, an SR-IOV PF), sharing storage providers in
aggregates, standard and custom traits, custom resource classes, projects,
users and instances with allocations spread over each tree and the shared
disk. Used by the import tests and by ``benchmarks/import_rate.py``.

The ``nova_api`` shape is the pre-extraction schema: ``resource_providers``
still has ``can_host``, ``consumers`` has neither ``generation`` nor
``consumer_type_id``, there is no ``consumer_types`` table, standard resource
classes are not stored (ids are list positions), some providers have a NULL
``root_provider_id`` and some allocations have no ``consumers`` row. The
``upstream`` shape is placement at alembic head ``a082b8bb98d0``, with the
standard classes and traits stored under ids that differ from ours.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import os_traits
import sqlalchemy as sa

from allotment.store import tables as ours
from allotment.store.standard import STANDARD_RESOURCE_CLASSES

UPSTREAM_HEAD = "a082b8bb98d0"
CREATED = datetime.datetime(2019, 3, 1, 12, 0, 0)
NAMESPACE = uuid.UUID("6f1c9c1e-8d0b-4c43-9c57-5a3c2f6e0a11")
CUSTOM_CLASSES = {10000: "CUSTOM_GOLD", 10001: "CUSTOM_FPGA_XL"}
# Standard classes in an upstream-shaped source are stored at these ids (ours are 0..20).
UPSTREAM_CLASS_ID_OFFSET = 100
INCOMPLETE = "00000000-0000-0000-0000-000000000000"


def uid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def source_metadata(shape: str) -> sa.MetaData:
    """The placement tables as a ``shape`` deployment has them."""
    metadata = sa.MetaData()
    dropped = {
        "nova_api": {("consumers", "generation"), ("consumers", "consumer_type_id")},
        "upstream": set(),
    }[shape]
    for table in ours.metadata.sorted_tables:
        if shape == "nova_api" and table.name == "consumer_types":
            continue
        # No foreign keys: a source is written in bulk, out of dependency order.
        columns = [
            sa.Column(
                c.name,
                c.type,
                primary_key=c.primary_key,
                nullable=c.nullable,
                autoincrement=c.autoincrement,
                server_default=c.server_default,
            )
            for c in table.columns
            if (table.name, c.name) not in dropped
        ]
        if shape == "nova_api" and table.name == "resource_providers":
            columns.append(sa.Column("can_host", sa.Integer, nullable=False, server_default="0"))
        sa.Table(table.name, metadata, *columns)
    if shape == "nova_api":
        sa.Table(
            "cell_mappings",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("uuid", sa.String(36)),
        )
    else:
        sa.Table(
            "alembic_version", metadata, sa.Column("version_num", sa.String(32), primary_key=True)
        )
    return metadata


@dataclass
class Rows:
    """Rows to insert, per table, with ids handed out in order."""

    tables: dict[str, list[dict]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, **values: object) -> int:
        if "id" not in values and table not in (
            "resource_provider_traits",
            "resource_provider_aggregates",
        ):
            values["id"] = self.next_ids.get(table, 1)
            self.next_ids[table] = values["id"] + 1  # type: ignore[operator]
        values.setdefault("created_at", CREATED)
        self.tables.setdefault(table, []).append(values)
        return values.get("id", 0)  # type: ignore[return-value]


def build_source(url: str, shape: str, trees: int, instances_per_tree: int = 3) -> None:
    """Create the ``shape`` schema at ``url`` and fill it with ``trees`` compute trees."""
    engine = sa.create_engine(url)
    metadata = source_metadata(shape)
    metadata.create_all(engine)
    rows = _generate(shape, trees, instances_per_tree)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            for chunk in _chunks(rows.tables.get(table.name, []), 5000):
                conn.execute(table.insert(), chunk)
    engine.dispose()


def _chunks(items: list[dict], size: int) -> Iterator[list[dict]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _class_ids(shape: str, rows: Rows) -> dict[str, int]:
    ids = {name: index for index, name in enumerate(STANDARD_RESOURCE_CLASSES)}
    if shape == "upstream":
        ids = {name: index + UPSTREAM_CLASS_ID_OFFSET for name, index in ids.items()}
        for name, class_id in ids.items():
            rows.add("resource_classes", id=class_id, name=name)
    for class_id, name in CUSTOM_CLASSES.items():
        rows.add("resource_classes", id=class_id, name=name)
        ids[name] = class_id
    return ids


def _trait_ids(rows: Rows) -> dict[str, int]:
    # Reverse order, so that these ids differ from the ones our sync hands out.
    names = sorted(os_traits.get_traits(), reverse=True) + ["CUSTOM_RACK1", "CUSTOM_UNUSED"]
    return {name: rows.add("traits", name=name) for name in names}


def _generate(shape: str, trees: int, instances_per_tree: int) -> Rows:
    rows = Rows()
    if shape == "upstream":
        rows.tables["alembic_version"] = [{"version_num": UPSTREAM_HEAD}]
        types = {
            "INSTANCE": rows.add("consumer_types", name="INSTANCE"),
            "MIGRATION": rows.add("consumer_types", name="MIGRATION"),
        }
    classes = _class_ids(shape, rows)
    traits = _trait_ids(rows)
    aggs = [
        rows.add("placement_aggregates", uuid=uid("agg", i)) for i in range(max(1, trees // 20))
    ]
    projects = [rows.add("projects", external_id=uid("project", i)) for i in range(5)]
    users = [rows.add("users", external_id=uid("user", i)) for i in range(3)]
    shared = []
    for s in range(max(1, trees // 50)):
        sid = _provider(rows, shape, f"shared-{s}", None, None)
        shared.append(sid)
        _inventory(rows, sid, classes["DISK_GB"], total=1_000_000)
        rows.add(
            "resource_provider_traits",
            trait_id=traits["MISC_SHARES_VIA_AGGREGATE"],
            resource_provider_id=sid,
        )
        rows.add(
            "resource_provider_aggregates",
            resource_provider_id=sid,
            aggregate_id=aggs[s % len(aggs)],
        )
    n = 0
    for tree in range(trees):
        root, numas, pf = _tree(rows, shape, tree, classes, traits, aggs)
        for k in range(instances_per_tree):
            consumer = uid("instance", tree, k)
            numa = numas[k % 2]
            allocs = [
                (numa, "VCPU", 1 + k % 2),
                (numa, "MEMORY_MB", 512),
                (shared[tree % len(shared)] if k % 2 else root, "DISK_GB", 10),
            ]
            if k % 3 == 0:
                allocs.append((pf, "CUSTOM_GOLD", 1))
            for rp, cls, used in allocs:
                rows.add(
                    "allocations",
                    resource_provider_id=rp,
                    consumer_id=consumer,
                    resource_class_id=classes[cls],
                    used=used,
                )
            n += 1
            if shape == "nova_api" and n % 7 == 0:
                continue  # an allocation whose consumer row was never written
            consumer_row = {
                "uuid": consumer,
                "project_id": projects[n % len(projects)],
                "user_id": users[n % len(users)],
            }
            if shape == "upstream":
                consumer_row["generation"] = 1 + n % 4
                consumer_row["consumer_type_id"] = (
                    None if n % 5 == 0 else types["INSTANCE" if n % 2 else "MIGRATION"]
                )
            rows.add("consumers", **consumer_row)
    _late_parent(rows, shape, classes)
    return rows


def _provider(rows: Rows, shape: str, name: str, parent: int | None, root: int | None) -> int:
    values: dict = {
        "uuid": uid("rp", name),
        "name": name,
        "generation": 3,
        "parent_provider_id": parent,
    }
    pid = rows.next_ids.get("resource_providers", 1)
    values["root_provider_id"] = root if root is not None else pid
    if shape == "nova_api" and parent is None and pid % 3 == 0:
        values["root_provider_id"] = None  # before the set_root_provider_ids migration
    return rows.add("resource_providers", **values)


def _inventory(rows: Rows, rp: int, class_id: int, total: int, **extra: object) -> None:
    values = {
        "reserved": 0,
        "min_unit": 1,
        "max_unit": total,
        "step_size": 1,
        "allocation_ratio": 1.0,
        **extra,
    }
    rows.add(
        "inventories", resource_provider_id=rp, resource_class_id=class_id, total=total, **values
    )


def _tree(
    rows: Rows,
    shape: str,
    tree: int,
    classes: dict[str, int],
    traits: dict[str, int],
    aggs: list[int],
) -> tuple[int, list[int], int]:
    root = _provider(rows, shape, f"compute-{tree}", None, None)
    _inventory(rows, root, classes["DISK_GB"], total=2000, reserved=100)
    rows.add(
        "resource_provider_traits", trait_id=traits["HW_CPU_X86_AVX2"], resource_provider_id=root
    )
    if tree % 2:
        rows.add(
            "resource_provider_traits", trait_id=traits["CUSTOM_RACK1"], resource_provider_id=root
        )
    rows.add(
        "resource_provider_aggregates",
        resource_provider_id=root,
        aggregate_id=aggs[tree % len(aggs)],
    )
    numas = []
    for k in range(2):
        numa = _provider(rows, shape, f"compute-{tree}-numa{k}", root, root)
        _inventory(rows, numa, classes["VCPU"], total=16, allocation_ratio=4.0, max_unit=16)
        _inventory(
            rows,
            numa,
            classes["MEMORY_MB"],
            total=65536,
            reserved=512,
            allocation_ratio=1.5,
            step_size=256,
        )
        numas.append(numa)
    pf = _provider(rows, shape, f"compute-{tree}-pf", numas[0], root)
    _inventory(rows, pf, classes["SRIOV_NET_VF"], total=8)
    _inventory(rows, pf, classes["CUSTOM_GOLD"], total=4)
    rows.add("resource_provider_traits", trait_id=traits["HW_NIC_SRIOV"], resource_provider_id=pf)
    return root, numas, pf


def _late_parent(rows: Rows, shape: str, classes: dict[str, int]) -> None:
    """Re-parent the first PF under a provider created after it (microversion 1.37)."""
    late = _provider(rows, shape, "late-parent", None, None)
    _inventory(rows, late, classes["CUSTOM_FPGA_XL"], total=2)
    for row in rows.tables["resource_providers"]:
        if row["name"] == "compute-0-pf":
            row["parent_provider_id"] = late
            row["root_provider_id"] = late
