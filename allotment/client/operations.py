"""What a compute service does with placement, done right: the ``ComputeOperations`` mixin.

Retry rules (``PlacementClient(retries=N)``, default 4 extra attempts):

* Operations that write an *absolute* desired state (``set_inventory``, ``set_traits``,
  ``replace_aggregates``, ``heal_allocations``, ``remove_allocations``,
  ``move_allocations``) re-read the provider or consumer and try again on
  ``ConcurrentUpdate``: a generation conflict only means someone else wrote first,
  and the next attempt is computed from the fresh state, so nothing is lost.
* ``claim`` is never retried: a ``ConcurrentUpdate`` there means the consumer already
  holds allocations (a claim uses ``consumer_generation: null``), and a plain
  ``Conflict`` means the candidate no longer fits - pick another candidate. Provider
  generation races during an allocation write are already retried by the server.
* ``InventoryInUse``, ``Conflict`` (capacity) and 4xx errors are never retried.
* Nothing retries on transport errors or 5xx: the caller decides.

The allocation operations need microversion 1.28 or later (consumer generations).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from allotment.client import errors
from allotment.client.models import (
    AllocationRequest,
    AllocationWrite,
    ConsumerAllocations,
    InventoryLike,
    ProviderAggregates,
    ProviderInventories,
    ProviderSpec,
    ProviderTraits,
    ResourceProvider,
    as_inventory,
)

T = TypeVar("T")
CONSUMER_GENERATIONS = (1, 28)
CONSUMER_TYPES = (1, 38)


def _known_type(consumer: ConsumerAllocations) -> str | None:
    # "unknown" is how the server reports an untyped consumer; it cannot be sent back.
    if consumer.consumer_type and consumer.consumer_type != "unknown":
        return consumer.consumer_type
    return None


class ComputeOperations:
    """Higher-level, retrying operations; mixed into ``PlacementClient``."""

    retries: int

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` again (it must re-read state) after ``ConcurrentUpdate``."""
        for tries_left in range(self.retries, -1, -1):
            try:
                return attempt()
            except errors.ConcurrentUpdate:
                if tries_left == 0:
                    raise
        raise AssertionError("unreachable")

    def _require(
        self: Any, microversion: str | None, minimum: tuple[int, int], what: str
    ) -> tuple[int, int]:
        version = self.version(microversion)
        if version < minimum:
            raise ValueError(f"{what} needs microversion {minimum[0]}.{minimum[1]} or later")
        return version

    # -- providers ------------------------------------------------------------------

    def ensure_provider_tree(
        self: Any,
        root: ProviderSpec,
        *,
        parent_provider_uuid: str | None = None,
        microversion: str | None = None,
    ) -> dict[str, ResourceProvider]:
        """Make the providers of ``root`` (and its children) exist, top-down; idempotent.

        Providers are found by uuid when the spec has one, else by name. A missing one is
        created under its parent (a concurrent creator's ``DuplicateName`` is treated as
        success); one with another name or parent is renamed/re-parented (re-parenting
        needs 1.37). Inventories, traits and aggregates given in a spec are set with
        ``set_inventory``/``set_traits``/``replace_aggregates``. Returns name -> provider
        (read after the changes, so generations are current).
        """
        found: dict[str, ResourceProvider] = {}
        self._ensure_node(root, parent_provider_uuid, found, microversion)
        return found

    def _ensure_node(
        self: Any,
        spec: ProviderSpec,
        parent: str | None,
        found: dict[str, ResourceProvider],
        microversion: str | None,
    ) -> None:
        provider = self._ensure_provider(spec, parent, microversion)
        changed = False
        if spec.inventories is not None:
            self.set_inventory(provider.uuid, spec.inventories, microversion=microversion)
            changed = True
        if spec.traits is not None:
            self.set_traits(provider.uuid, spec.traits, microversion=microversion)
            changed = True
        if spec.aggregates is not None:
            self.replace_aggregates(provider.uuid, spec.aggregates, microversion=microversion)
            changed = True
        if changed:
            provider = self.get_provider(provider.uuid, microversion=microversion)
        found[spec.name] = provider
        for child in spec.children:
            self._ensure_node(child, provider.uuid, found, microversion)

    def _lookup(self: Any, spec: ProviderSpec, microversion: str | None) -> ResourceProvider | None:
        if spec.uuid is not None:
            return self.find_provider(spec.uuid, microversion=microversion)
        matches = self.list_providers(name=spec.name, microversion=microversion)
        return matches[0] if matches else None

    def _ensure_provider(
        self: Any, spec: ProviderSpec, parent: str | None, microversion: str | None
    ) -> ResourceProvider:
        existing = self._lookup(spec, microversion)
        if existing is None:
            try:
                return self.create_provider(
                    spec.name,
                    uuid=spec.uuid,
                    parent_provider_uuid=parent,
                    microversion=microversion,
                )
            except errors.DuplicateName:
                existing = self._lookup(spec, microversion)
                if existing is None:  # the name belongs to a provider with another uuid
                    raise
        if existing.name == spec.name and existing.parent_provider_uuid == parent:
            return existing
        if existing.parent_provider_uuid == parent:
            return self.update_provider(existing.uuid, spec.name, microversion=microversion)
        return self.update_provider(
            existing.uuid, spec.name, parent_provider_uuid=parent, microversion=microversion
        )

    def set_inventory(
        self: Any,
        uuid: str,
        inventories: Mapping[str, InventoryLike],
        *,
        microversion: str | None = None,
    ) -> ProviderInventories:
        """Make the provider's inventory exactly ``inventories`` (retried on conflicts).

        Reads the current inventory and generation, writes only if something differs,
        and on ``ConcurrentUpdate`` reads again and retries. ``InventoryInUse`` (a
        removed class still allocated) is raised, not retried: move the allocations
        first (e.g. with ``reshape``).
        """
        desired = {rc: as_inventory(inv) for rc, inv in inventories.items()}

        def attempt() -> ProviderInventories:
            current = self.get_inventories(uuid, microversion=microversion)
            if current.inventories == desired:
                return current
            return self.set_inventories(
                uuid, desired, current.generation, microversion=microversion
            )

        return self._retrying(attempt)

    def set_traits(
        self: Any, uuid: str, traits: Sequence[str], *, microversion: str | None = None
    ) -> ProviderTraits:
        """Make the provider's traits exactly ``traits`` (retried on conflicts)."""
        desired = frozenset(traits)

        def attempt() -> ProviderTraits:
            current = self.get_provider_traits(uuid, microversion=microversion)
            if current.traits == desired:
                return current
            return self.set_provider_traits(
                uuid, sorted(desired), current.generation, microversion=microversion
            )

        return self._retrying(attempt)

    def replace_aggregates(
        self: Any, uuid: str, aggregates: Sequence[str], *, microversion: str | None = None
    ) -> ProviderAggregates:
        """Make the provider's aggregates exactly ``aggregates`` (retried on conflicts)."""
        desired = frozenset(aggregates)

        def attempt() -> ProviderAggregates:
            current = self.get_aggregates(uuid, microversion=microversion)
            if current.aggregates == desired:
                return current
            return self.set_aggregates(
                uuid, sorted(desired), current.generation, microversion=microversion
            )

        return self._retrying(attempt)

    # -- allocations ------------------------------------------------------------------

    def claim(
        self: Any,
        consumer_uuid: str,
        candidate: AllocationRequest | Mapping[str, Mapping[str, int]],
        *,
        project_id: str,
        user_id: str,
        consumer_type: str = "INSTANCE",
        microversion: str | None = None,
    ) -> ConsumerAllocations:
        """Claim a candidate for a new consumer (``consumer_generation: null``).

        Not retried: ``ConcurrentUpdate`` means the consumer already has allocations;
        ``Conflict`` means the resources are gone - ask for candidates again.
        Returns the consumer's allocations as written (with its generation).
        """
        self._require(microversion, CONSUMER_GENERATIONS, "claim")
        if isinstance(candidate, AllocationRequest):
            allocations: Mapping[str, Mapping[str, int]] = candidate.allocations
            mappings = candidate.mappings or None
        else:
            allocations, mappings = candidate, None
        self.set_allocations(
            consumer_uuid,
            allocations,
            project_id=project_id,
            user_id=user_id,
            consumer_generation=None,
            consumer_type=consumer_type,
            mappings=mappings,
            microversion=microversion,
        )
        return self.get_allocations(consumer_uuid, microversion=microversion)

    def move_allocations(
        self: Any,
        source_uuid: str,
        target_uuid: str,
        *,
        consumer_type: str | None = None,
        microversion: str | None = None,
    ) -> bool:
        """Move everything ``source`` holds to ``target`` in one ``POST /allocations``.

        Used for migrations (instance -> migration record and back). The target's own
        allocations, if any, are replaced; it keeps the source's project and user and
        gets ``consumer_type`` (default: its current type, else the source's). Both
        consumers' generations are checked; on ``ConcurrentUpdate`` both are re-read and
        the move is computed again. Returns False when the source holds nothing.
        """
        version = self._require(microversion, CONSUMER_GENERATIONS, "move_allocations")

        def attempt() -> bool:
            source = self.get_allocations(source_uuid, microversion=microversion)
            if not source.exists:
                return False
            target = self.get_allocations(target_uuid, microversion=microversion)
            target_type = consumer_type or _known_type(target) or _known_type(source)
            if version >= CONSUMER_TYPES and target_type is None:
                raise ValueError("consumer_type is needed: neither consumer has a type")
            writes = {
                source_uuid: AllocationWrite(
                    {},
                    source.project_id,
                    source.user_id,
                    source.consumer_generation,
                    _known_type(source) or target_type,
                ),
                target_uuid: AllocationWrite(
                    source.allocations,
                    source.project_id,
                    source.user_id,
                    target.consumer_generation if target.exists else None,
                    target_type,
                ),
            }
            self.post_allocations(writes, microversion=microversion)
            return True

        return self._retrying(attempt)

    def heal_allocations(
        self: Any,
        consumer_uuid: str,
        allocations: Mapping[str, Mapping[str, int]] | None,
        *,
        project_id: str,
        user_id: str,
        consumer_type: str = "INSTANCE",
        microversion: str | None = None,
    ) -> bool:
        """Make a consumer hold exactly ``allocations`` with this project, user and type.

        ``allocations=None`` keeps what it holds and only fixes the owner and type.
        Writes only when something differs (True if it wrote); retried on
        ``ConcurrentUpdate`` from a fresh read, since the desired state is absolute.
        """
        version = self._require(microversion, CONSUMER_GENERATIONS, "heal_allocations")

        def attempt() -> bool:
            current = self.get_allocations(consumer_uuid, microversion=microversion)
            desired = current.allocations if allocations is None else dict(allocations)
            if not desired:
                raise ValueError(f"consumer {consumer_uuid} has no allocations to heal")
            same = (
                current.exists
                and current.allocations == desired
                and current.project_id == project_id
                and current.user_id == user_id
                and (version < CONSUMER_TYPES or current.consumer_type == consumer_type)
            )
            if same:
                return False
            self.set_allocations(
                consumer_uuid,
                desired,
                project_id=project_id,
                user_id=user_id,
                consumer_generation=current.consumer_generation if current.exists else None,
                consumer_type=consumer_type,
                microversion=microversion,
            )
            return True

        return self._retrying(attempt)

    def remove_allocations(
        self: Any, consumer_uuid: str, *, microversion: str | None = None
    ) -> bool:
        """Safely delete a consumer's allocations (empty write with its generation).

        Unlike ``delete_allocations`` this bumps provider generations and cannot
        erase a concurrent writer's update unseen. False if it held nothing.
        """
        self._require(microversion, CONSUMER_GENERATIONS, "remove_allocations")

        def attempt() -> bool:
            current = self.get_allocations(consumer_uuid, microversion=microversion)
            if not current.exists:
                return False
            self.set_allocations(
                consumer_uuid,
                {},
                project_id=current.project_id,
                user_id=current.user_id,
                consumer_generation=current.consumer_generation,
                consumer_type=_known_type(current) or "INSTANCE",
                microversion=microversion,
            )
            return True

        return self._retrying(attempt)
