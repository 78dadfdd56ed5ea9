"""A database's placement data by name and uuid, so that source and target compare.

Ids differ between a source and its import (standard classes and traits are
renumbered), so everything is keyed by what the API shows: provider uuids,
class and trait names, aggregate uuids, consumer uuids. The source rules of
upstream's online migrations are applied when reading a source: a NULL root
means the provider is its own root; an allocation without a consumers row
belongs to a consumer of the incomplete project and user.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from allotment.store.standard import STANDARD_RESOURCE_CLASSES
from tests.sources import INCOMPLETE


@dataclass
class Logical:
    providers: dict[str, tuple]
    inventories: dict[tuple[str, str], tuple]
    allocations: dict[tuple[str, str, str], int]
    usages: dict[tuple[str, str], int]
    traits: dict[str, frozenset[str]]
    aggregates: dict[str, frozenset[str]]
    consumers: dict[str, tuple]
    custom_classes: frozenset[str]


def _rows(conn: sa.Connection, table: str, tables: set[str]) -> list[dict]:
    if table not in tables:
        return []
    return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]


def read(url: str) -> Logical:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return _read(conn, set(sa.inspect(conn).get_table_names()))
    finally:
        engine.dispose()


def _read(conn: sa.Connection, tables: set[str]) -> Logical:
    classes = dict(enumerate(STANDARD_RESOURCE_CLASSES))
    classes.update({r["id"]: r["name"] for r in _rows(conn, "resource_classes", tables)})
    rps = {r["id"]: r for r in _rows(conn, "resource_providers", tables)}
    uuid_of = {i: r["uuid"] for i, r in rps.items()}
    providers = {
        r["uuid"]: (
            r["name"],
            r["generation"],
            uuid_of.get(r["parent_provider_id"]),
            uuid_of[r["root_provider_id"] or r["id"]],
        )
        for r in rps.values()
    }
    inventories = {
        (uuid_of[r["resource_provider_id"]], classes[r["resource_class_id"]]): (
            r["total"],
            r["reserved"],
            r["min_unit"],
            r["max_unit"],
            r["step_size"],
            round(r["allocation_ratio"], 4),
        )
        for r in _rows(conn, "inventories", tables)
    }
    allocations: dict[tuple[str, str, str], int] = defaultdict(int)
    usages: dict[tuple[str, str], int] = defaultdict(int)
    for r in _rows(conn, "allocations", tables):
        rp, rc = uuid_of[r["resource_provider_id"]], classes[r["resource_class_id"]]
        allocations[(r["consumer_id"], rp, rc)] += r["used"]
        usages[(rp, rc)] += r["used"]
    trait_names = {r["id"]: r["name"] for r in _rows(conn, "traits", tables)}
    traits: dict[str, set[str]] = defaultdict(set)
    for r in _rows(conn, "resource_provider_traits", tables):
        traits[uuid_of[r["resource_provider_id"]]].add(trait_names[r["trait_id"]])
    agg_uuids = {r["id"]: r["uuid"] for r in _rows(conn, "placement_aggregates", tables)}
    aggregates: dict[str, set[str]] = defaultdict(set)
    for r in _rows(conn, "resource_provider_aggregates", tables):
        aggregates[uuid_of[r["resource_provider_id"]]].add(agg_uuids[r["aggregate_id"]])
    return Logical(
        providers=providers,
        inventories=inventories,
        allocations=dict(allocations),
        usages=dict(usages),
        traits={k: frozenset(v) for k, v in traits.items()},
        aggregates={k: frozenset(v) for k, v in aggregates.items()},
        consumers=_consumers(conn, tables, {c for c, _, _ in allocations}),
        custom_classes=frozenset(n for n in classes.values() if n.startswith("CUSTOM_")),
    )


def _consumers(conn: sa.Connection, tables: set[str], allocated: set[str]) -> dict[str, tuple]:
    projects = {r["id"]: r["external_id"] for r in _rows(conn, "projects", tables)}
    users = {r["id"]: r["external_id"] for r in _rows(conn, "users", tables)}
    types = {r["id"]: r["name"] for r in _rows(conn, "consumer_types", tables)}
    consumers = {
        r["uuid"]: (
            projects[r["project_id"]],
            users[r["user_id"]],
            r.get("generation", 0),
            types.get(r.get("consumer_type_id")),
        )
        for r in _rows(conn, "consumers", tables)
    }
    for uuid in allocated - consumers.keys():
        consumers[uuid] = (INCOMPLETE, INCOMPLETE, 0, None)
    return consumers
