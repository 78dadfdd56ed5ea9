"""Typed values the client returns and accepts: frozen dataclasses over placement JSON.

Amounts are ``dict[resource class, int]``; allocations are
``dict[provider uuid, dict[resource class, int]]``. Each ``from_json`` accepts
the shapes of every microversion (missing keys become ``None``/empty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_INT = 2147483647

# provider uuid -> resource class -> amount
Allocations = dict[str, dict[str, int]]


@dataclass(frozen=True)
class ResourceProvider:
    uuid: str
    name: str
    generation: int
    parent_provider_uuid: str | None = None
    root_provider_uuid: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResourceProvider:
        return cls(
            uuid=data["uuid"],
            name=data["name"],
            generation=data["generation"],
            parent_provider_uuid=data.get("parent_provider_uuid"),
            root_provider_uuid=data.get("root_provider_uuid"),
        )


@dataclass(frozen=True)
class Inventory:
    """One resource class's inventory record; omitted fields take the server defaults."""

    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = MAX_INT
    step_size: int = 1
    allocation_ratio: float = 1.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inventory:
        return cls(
            total=data["total"],
            reserved=data.get("reserved", 0),
            min_unit=data.get("min_unit", 1),
            max_unit=data.get("max_unit", MAX_INT),
            step_size=data.get("step_size", 1),
            allocation_ratio=float(data.get("allocation_ratio", 1.0)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "reserved": self.reserved,
            "min_unit": self.min_unit,
            "max_unit": self.max_unit,
            "step_size": self.step_size,
            "allocation_ratio": self.allocation_ratio,
        }

    @property
    def capacity(self) -> int:
        """What allocations may use: (total - reserved) * allocation_ratio, truncated."""
        return int((self.total - self.reserved) * self.allocation_ratio)


InventoryLike = Inventory | Mapping[str, Any] | int


def as_inventory(value: InventoryLike) -> Inventory:
    """An ``Inventory`` from an Inventory, a JSON-like dict, or a bare total."""
    if isinstance(value, Inventory):
        return value
    if isinstance(value, int):
        return Inventory(total=value)
    return Inventory.from_json(value)


@dataclass(frozen=True)
class ProviderInventories:
    """A provider's whole inventory and the generation it was read at."""

    generation: int
    inventories: dict[str, Inventory]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProviderInventories:
        return cls(
            generation=data["resource_provider_generation"],
            inventories={rc: Inventory.from_json(inv) for rc, inv in data["inventories"].items()},
        )


@dataclass(frozen=True)
class ProviderInventory:
    """One class's inventory on a provider, with the provider generation."""

    resource_class: str
    generation: int
    inventory: Inventory


@dataclass(frozen=True)
class ProviderTraits:
    generation: int
    traits: frozenset[str]


@dataclass(frozen=True)
class ProviderAggregates:
    """Aggregates of a provider; ``generation`` is ``None`` below microversion 1.19."""

    generation: int | None
    aggregates: frozenset[str]


@dataclass(frozen=True)
class ProviderUsages:
    generation: int
    usages: dict[str, int]


@dataclass(frozen=True)
class ConsumerAllocations:
    """``GET /allocations/{consumer}``; ``exists`` is False for an unknown consumer."""

    consumer_uuid: str
    allocations: Allocations
    provider_generations: dict[str, int] = field(default_factory=dict)
    project_id: str | None = None
    user_id: str | None = None
    consumer_generation: int | None = None
    consumer_type: str | None = None

    @property
    def exists(self) -> bool:
        return bool(self.allocations)

    @classmethod
    def from_json(cls, consumer_uuid: str, data: Mapping[str, Any]) -> ConsumerAllocations:
        raw = data.get("allocations") or {}
        return cls(
            consumer_uuid=consumer_uuid,
            allocations={rp: dict(entry["resources"]) for rp, entry in raw.items()},
            provider_generations={
                rp: entry["generation"] for rp, entry in raw.items() if "generation" in entry
            },
            project_id=data.get("project_id"),
            user_id=data.get("user_id"),
            consumer_generation=data.get("consumer_generation"),
            consumer_type=data.get("consumer_type"),
        )


@dataclass(frozen=True)
class ProviderAllocations:
    """``GET /resource_providers/{uuid}/allocations``: consumer -> class -> amount."""

    generation: int
    allocations: dict[str, dict[str, int]]
    consumer_generations: dict[str, int | None] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProviderAllocations:
        raw = data.get("allocations") or {}
        return cls(
            generation=data["resource_provider_generation"],
            allocations={c: dict(entry["resources"]) for c, entry in raw.items()},
            consumer_generations={
                c: entry.get("consumer_generation")
                for c, entry in raw.items()
                if "consumer_generation" in entry
            },
        )


@dataclass(frozen=True)
class AllocationWrite:
    """One consumer's new allocations, for ``POST /allocations`` and the reshaper.

    ``consumer_generation`` is ``None`` for a consumer that must not exist yet.
    An empty ``allocations`` removes the consumer.
    """

    allocations: Mapping[str, Mapping[str, int]]
    project_id: str
    user_id: str
    consumer_generation: int | None = None
    consumer_type: str | None = None
    mappings: Mapping[str, Sequence[str]] | None = None


@dataclass(frozen=True)
class AllocationRequest:
    """One allocation candidate: what to send back in an allocation write."""

    allocations: Allocations
    mappings: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AllocationRequest:
        raw = data["allocations"]
        if isinstance(raw, list):  # microversions below 1.12
            allocations = {e["resource_provider"]["uuid"]: dict(e["resources"]) for e in raw}
        else:
            allocations = {rp: dict(entry["resources"]) for rp, entry in raw.items()}
        return cls(allocations=allocations, mappings=dict(data.get("mappings") or {}))


@dataclass(frozen=True)
class ResourceSummary:
    capacity: int
    used: int


@dataclass(frozen=True)
class ProviderSummary:
    resources: dict[str, ResourceSummary]
    traits: frozenset[str] | None = None
    parent_provider_uuid: str | None = None
    root_provider_uuid: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProviderSummary:
        traits = data.get("traits")
        return cls(
            resources={
                rc: ResourceSummary(capacity=r["capacity"], used=r["used"])
                for rc, r in (data.get("resources") or {}).items()
            },
            traits=frozenset(traits) if traits is not None else None,
            parent_provider_uuid=data.get("parent_provider_uuid"),
            root_provider_uuid=data.get("root_provider_uuid"),
        )


@dataclass(frozen=True)
class AllocationCandidates:
    allocation_requests: list[AllocationRequest]
    provider_summaries: dict[str, ProviderSummary]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AllocationCandidates:
        return cls(
            allocation_requests=[
                AllocationRequest.from_json(r) for r in data.get("allocation_requests", [])
            ],
            provider_summaries={
                rp: ProviderSummary.from_json(s)
                for rp, s in (data.get("provider_summaries") or {}).items()
            },
        )


@dataclass(frozen=True)
class RequestGroup:
    """One group of an allocation-candidates request (``suffix`` "" is the unnumbered one).

    ``required`` traits must all be present (``"!NAME"`` forbids one);
    each entry of ``required_any`` is a set of which one is enough (1.39).
    Each ``member_of`` entry is one query value: ``"agg"``, ``"in:a,b"``, ``"!agg"``.
    """

    resources: Mapping[str, int] = field(default_factory=dict)
    required: Sequence[str] = ()
    required_any: Sequence[Sequence[str]] = ()
    member_of: Sequence[str] = ()
    in_tree: str | None = None
    suffix: str = ""

    def query(self) -> list[tuple[str, str]]:
        s = self.suffix
        params: list[tuple[str, str]] = []
        if self.resources:
            params.append((f"resources{s}", format_resources(self.resources)))
        if self.required:
            params.append((f"required{s}", ",".join(self.required)))
        params.extend((f"required{s}", "in:" + ",".join(any_of)) for any_of in self.required_any)
        params.extend((f"member_of{s}", value) for value in self.member_of)
        if self.in_tree:
            params.append((f"in_tree{s}", self.in_tree))
        return params


def format_resources(resources: Mapping[str, int]) -> str:
    """``{"VCPU": 1, "MEMORY_MB": 512}`` -> ``"VCPU:1,MEMORY_MB:512"``."""
    return ",".join(f"{rc}:{amount}" for rc, amount in resources.items())


@dataclass(frozen=True)
class ProviderSpec:
    """A provider that ``ensure_provider_tree`` should make exist, with its subtree.

    ``inventories``/``traits``/``aggregates`` left as ``None`` are not touched.
    """

    name: str
    uuid: str | None = None
    inventories: Mapping[str, InventoryLike] | None = None
    traits: Sequence[str] | None = None
    aggregates: Sequence[str] | None = None
    children: Sequence[ProviderSpec] = ()
