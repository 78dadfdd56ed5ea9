"""Build provider trees for candidate tests by inserting rows directly.

``TreeBuilder(conn).provider(...)`` inserts a provider with its inventories,
traits, aggregates and (as allocations of a synthetic consumer) its usage, and
records the same data as ``universe.Provider`` objects so that tests can
compare the SQL path with a pure-Python reference.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.store import changes
from allotment.store import tables as t
from allotment.store.candidates.universe import Inventory, Provider
from allotment.store.engine import utcnow
from allotment.store.standard import FIRST_CUSTOM_RESOURCE_CLASS_ID, STANDARD_RESOURCE_CLASS_IDS


@dataclass(frozen=True)
class Ref:
    id: int
    uuid: str
    root_id: int


def make_uuid(name: str) -> str:
    """A stable uuid per name, so tests can refer to providers and aggregates by name."""
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_DNS, name + ".allotment.test"))


class TreeBuilder:
    """Insert providers, inventories, traits, aggregates and usages with plain SQL."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.now = utcnow()
        self.refs: dict[str, Ref] = {}
        self.providers: dict[int, Provider] = {}
        self._trait_ids: dict[str, int] = {}
        self._agg_ids: dict[str, int] = {}
        self._rc_ids: dict[str, int] = dict(STANDARD_RESOURCE_CLASS_IDS)
        for row in conn.execute(sa.select(t.resource_classes.c.name, t.resource_classes.c.id)):
            self._rc_ids[row.name] = row.id

    def provider(
        self,
        name: str,
        parent: str | None = None,
        inventory: Mapping[str, int | Mapping[str, float]] | None = None,
        used: Mapping[str, int] | None = None,
        traits: Iterable[str] = (),
        aggregates: Iterable[str] = (),
        uuid: str | None = None,
        aggregate_uuids: Iterable[str] = (),
    ) -> Ref:
        """Add a provider; ``inventory`` values are a total or a dict of inventory fields.

        ``aggregates`` are aggregate names (their uuids come from ``make_uuid``);
        ``aggregate_uuids`` are used as they are.
        """
        uuid = uuid or make_uuid(name)
        parent_ref = self.refs[parent] if parent else None
        rp_table = t.resource_providers
        pid = self.conn.execute(
            rp_table.insert().values(
                uuid=uuid,
                name=name,
                generation=0,
                created_at=self.now,
                parent_provider_id=parent_ref.id if parent_ref else None,
            )
        ).inserted_primary_key[0]
        root_id = parent_ref.root_id if parent_ref else pid
        self.conn.execute(
            rp_table.update().where(rp_table.c.id == pid).values(root_provider_id=root_id)
        )
        ref = Ref(pid, uuid, root_id)
        self.refs[name] = ref
        # Like every writer: in-memory candidate models learn of it from the feed.
        changes.record(self.conn, [pid])
        inventories = self._inventories(pid, inventory or {}, used or {})
        trait_names = frozenset(traits)
        for trait in sorted(trait_names):
            self.conn.execute(
                t.resource_provider_traits.insert().values(
                    trait_id=self._trait_id(trait), resource_provider_id=pid, created_at=self.now
                )
            )
        agg_uuids = frozenset(make_uuid(a) for a in aggregates) | frozenset(aggregate_uuids)
        for agg in sorted(agg_uuids):
            self.conn.execute(
                t.resource_provider_aggregates.insert().values(
                    resource_provider_id=pid, aggregate_id=self._agg_id(agg), created_at=self.now
                )
            )
        self.providers[pid] = Provider(
            id=pid,
            uuid=uuid,
            root_id=root_id,
            parent_id=parent_ref.id if parent_ref else None,
            traits=trait_names,
            aggregates=agg_uuids,
            inventories=inventories,
        )
        return ref

    def _inventories(
        self, pid: int, inventory: Mapping[str, int | Mapping[str, float]], used: Mapping[str, int]
    ) -> dict[str, Inventory]:
        out = {}
        for rc, spec in sorted(inventory.items()):
            fields = {"total": spec} if isinstance(spec, int) else dict(spec)
            record = Inventory(**fields, used=used.get(rc, 0))  # type: ignore[arg-type]
            self.conn.execute(
                t.inventories.insert().values(
                    resource_provider_id=pid,
                    resource_class_id=self._rc_id(rc),
                    total=record.total,
                    reserved=record.reserved,
                    min_unit=record.min_unit,
                    max_unit=record.max_unit,
                    step_size=record.step_size,
                    allocation_ratio=record.allocation_ratio,
                    created_at=self.now,
                )
            )
            if record.used:
                # Split usage across two consumers: usage is a sum, not a row.
                first = record.used // 2
                for consumer, amount in ((f"{pid}-a", first), (f"{pid}-b", record.used - first)):
                    if amount:
                        self.conn.execute(
                            t.allocations.insert().values(
                                resource_provider_id=pid,
                                resource_class_id=self._rc_id(rc),
                                consumer_id=make_uuid(consumer + rc),
                                used=amount,
                                created_at=self.now,
                            )
                        )
            out[rc] = record
        return out

    def _rc_id(self, name: str) -> int:
        if name not in self._rc_ids:
            next_id = max([FIRST_CUSTOM_RESOURCE_CLASS_ID - 1, *self._rc_ids.values()]) + 1
            self.conn.execute(
                t.resource_classes.insert().values(id=next_id, name=name, created_at=self.now)
            )
            self._rc_ids[name] = next_id
        return self._rc_ids[name]

    def _trait_id(self, name: str) -> int:
        if name not in self._trait_ids:
            found = self.conn.execute(
                sa.select(t.traits.c.id).where(t.traits.c.name == name)
            ).scalar()
            if found is None:
                found = self.conn.execute(
                    t.traits.insert().values(name=name, created_at=self.now)
                ).inserted_primary_key[0]
            self._trait_ids[name] = found
        return self._trait_ids[name]

    def _agg_id(self, agg_uuid: str) -> int:
        if agg_uuid not in self._agg_ids:
            self._agg_ids[agg_uuid] = self.conn.execute(
                t.placement_aggregates.insert().values(uuid=agg_uuid, created_at=self.now)
            ).inserted_primary_key[0]
        return self._agg_ids[agg_uuid]

    def add_world(self, providers: Iterable[Provider]) -> None:
        """Insert hand-made ``Provider`` objects (parents before children), keeping uuids."""
        names = {}
        for provider in sorted(providers, key=lambda p: p.id):
            names[provider.id] = f"p{provider.id}"
            self.provider(
                names[provider.id],
                parent=names[provider.parent_id] if provider.parent_id else None,
                inventory={
                    rc: {
                        "total": i.total,
                        "reserved": i.reserved,
                        "min_unit": i.min_unit,
                        "max_unit": i.max_unit,
                        "step_size": i.step_size,
                        "allocation_ratio": i.allocation_ratio,
                    }
                    for rc, i in provider.inventories.items()
                },
                used={rc: i.used for rc, i in provider.inventories.items()},
                traits=provider.traits,
                aggregate_uuids=provider.aggregates,
                uuid=provider.uuid,
            )

    def uuid(self, name: str) -> str:
        return self.refs[name].uuid

    def name_of(self, provider_id: int) -> str:
        for name, ref in self.refs.items():
            if ref.id == provider_id:
                return name
        raise KeyError(provider_id)
