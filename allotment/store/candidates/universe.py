"""The providers a candidate search works on, as plain Python data.

``research`` loads them from the database; tests build them by hand. The
assembler never touches SQL: it only reads a ``Universe``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

SHARING_TRAIT = "MISC_SHARES_VIA_AGGREGATE"


@dataclass(frozen=True, slots=True)
class Inventory:
    """One inventory record plus the current usage of that class on the provider."""

    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = 2147483647
    step_size: int = 1
    allocation_ratio: float = 1.0
    used: int = 0
    # Un-truncated capacity: what fit checks compare with. Stored,
    # not a property: fit checks are the assembler's innermost loop.
    capacity: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "capacity", (self.total - self.reserved) * self.allocation_ratio)

    @property
    def summary_capacity(self) -> int:
        """The truncated capacity that provider summaries report."""
        return int((self.total - self.reserved) * self.allocation_ratio)

    def fits(self, amount: int) -> bool:
        """One group's amount on its own: capacity, min/max unit and step size."""
        return (
            self.used + amount <= self.capacity
            and self.min_unit <= amount <= self.max_unit
            and amount % self.step_size == 0
        )

    def fits_total(self, amount: int) -> bool:
        """Amounts of several groups summed on one provider (J5: capacity and max_unit only)."""
        return self.used + amount <= self.capacity and amount <= self.max_unit


@dataclass(frozen=True, slots=True)
class Provider:
    id: int
    uuid: str
    root_id: int
    parent_id: int | None = None
    traits: frozenset[str] = frozenset()
    aggregates: frozenset[str] = frozenset()
    inventories: Mapping[str, Inventory] = field(default_factory=dict)
    # The traits in trait id order (standard traits, then custom ones as they
    # were created): the order upstream's provider summaries list them in.
    trait_order: tuple[str, ...] = ()

    @property
    def sharing(self) -> bool:
        return SHARING_TRAIT in self.traits


class Universe:
    """Providers by id, grouped in trees, with the trees each sharing provider serves.

    ``anchors`` are the root ids the assembler tries, in order; by default every
    root present. A sharing provider S is linked to every tree holding a provider
    that shares an aggregate with S.
    """

    def __init__(
        self,
        providers: Iterable[Provider],
        anchors: Iterable[int] | None = None,
        links: dict[int, frozenset[int]] | None = None,
    ):
        """``links`` (optional) is what ``links`` would compute, known by the caller."""
        if links is not None:
            self.__dict__["links"] = links
        self.providers: dict[int, Provider] = {p.id: p for p in sorted(providers, key=_pid)}
        self.trees: dict[int, list[int]] = {}
        for provider in self.providers.values():
            self.trees.setdefault(provider.root_id, []).append(provider.id)
        roots = [r for r in self.trees if r in self.providers]
        self.anchors: list[int] = list(anchors) if anchors is not None else roots

    @cached_property
    def links(self) -> dict[int, frozenset[int]]:
        """Sharing provider id -> root ids of the trees it may serve."""
        roots_by_agg: dict[str, set[int]] = {}
        for provider in self.providers.values():
            for agg in provider.aggregates:
                roots_by_agg.setdefault(agg, set()).add(provider.root_id)
        out = {}
        for provider in self.providers.values():
            if provider.sharing:
                linked: set[int] = set()
                for agg in provider.aggregates:
                    linked |= roots_by_agg[agg]
                out[provider.id] = frozenset(linked)
        return out

    @cached_property
    def sharing_by_anchor(self) -> dict[int, list[int]]:
        """Root id -> sharing providers of *other* trees linked to it, by id."""
        return sharing_by_anchor(self.links, self.providers)

    @cached_property
    def sharing_ids(self) -> set[int]:
        """The sharing providers' ids. Read-only."""
        return {pid for pid, provider in self.providers.items() if provider.sharing}

    @cached_property
    def _eligible(self) -> dict[int, list[int]]:
        """Anchor -> ``eligible(anchor)``, filled as anchors are asked about."""
        return {}

    def eligible(self, anchor: int) -> list[int]:
        """Providers that may serve a candidate anchored at ``anchor``: tree first.

        Kept per anchor: planning one asks once per request group. Read-only.
        """
        found = self._eligible.get(anchor)
        if found is None:
            found = self._eligible[anchor] = self.trees.get(anchor, []) + (
                self.sharing_by_anchor.get(anchor, [])
            )
        return found

    def is_ancestor_or_self(self, ancestor: int, provider: int) -> bool:
        current: int | None = provider
        while current is not None:
            if current == ancestor:
                return True
            current = self.providers[current].parent_id
        return False


def sharing_by_anchor(
    links: Mapping[int, frozenset[int]], providers: Mapping[int, Provider]
) -> dict[int, list[int]]:
    """Root id -> the sharing providers of *other* trees linked to it, by id."""
    out: dict[int, list[int]] = {}
    for sharing_id in sorted(links):
        own_root = providers[sharing_id].root_id
        for root in links[sharing_id]:
            if root != own_root:
                out.setdefault(root, []).append(sharing_id)
    return out


def _pid(provider: Provider) -> int:
    return provider.id
