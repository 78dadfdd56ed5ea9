"""``PlacementClient`` calls on resource providers, their inventories and aggregates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from allotment.client import errors
from allotment.client.base import ClientBase, resource_path
from allotment.client.models import (
    Inventory,
    InventoryLike,
    ProviderAggregates,
    ProviderInventories,
    ProviderInventory,
    ResourceProvider,
    as_inventory,
    format_resources,
)

_UNSET: Any = object()


def inventories_json(inventories: Mapping[str, InventoryLike]) -> dict[str, Any]:
    return {rc: as_inventory(inv).to_json() for rc, inv in inventories.items()}


class ProviderCalls(ClientBase):
    """Resource providers, inventories and aggregates; mixed into ``PlacementClient``."""

    # -- resource providers -----------------------------------------------------------

    def list_providers(
        self,
        *,
        name: str | None = None,
        uuid: str | None = None,
        member_of: Sequence[str] = (),
        resources: Mapping[str, int] | None = None,
        in_tree: str | None = None,
        required: Sequence[str] = (),
        microversion: str | None = None,
    ) -> list[ResourceProvider]:
        """``GET /resource_providers`` with the given filters (combined with AND).

        Each ``member_of`` entry is one query value (``agg``, ``in:a,b``, ``!agg``);
        ``required`` is a list of trait names (``!NAME`` forbids one).
        """
        params: list[tuple[str, str]] = []
        for key, value in (("name", name), ("uuid", uuid), ("in_tree", in_tree)):
            if value is not None:
                params.append((key, value))
        params.extend(("member_of", value) for value in member_of)
        if resources:
            params.append(("resources", format_resources(resources)))
        if required:
            params.append(("required", ",".join(required)))
        data = self._get("/resource_providers", microversion, params)
        return [ResourceProvider.from_json(rp) for rp in data["resource_providers"]]

    def get_provider(self, uuid: str, *, microversion: str | None = None) -> ResourceProvider:
        return ResourceProvider.from_json(
            self._get(resource_path("resource_providers", uuid), microversion)
        )

    def find_provider(
        self, uuid: str, *, microversion: str | None = None
    ) -> ResourceProvider | None:
        """The provider, or ``None`` when it does not exist."""
        try:
            return self.get_provider(uuid, microversion=microversion)
        except errors.NotFound:
            return None

    def get_provider_tree(
        self, uuid: str, *, microversion: str | None = None
    ) -> list[ResourceProvider]:
        """Every provider in the tree containing ``uuid`` (1.14+)."""
        return self.list_providers(in_tree=uuid, microversion=microversion)

    def create_provider(
        self,
        name: str,
        *,
        uuid: str | None = None,
        parent_provider_uuid: str | None = None,
        microversion: str | None = None,
    ) -> ResourceProvider:
        """``POST /resource_providers``. Below 1.20 the answer has no body, so the new
        provider is read back. Raises ``DuplicateName`` if the name or uuid is taken."""
        body: dict[str, Any] = {"name": name}
        if uuid is not None:
            body["uuid"] = uuid
        if parent_provider_uuid is not None:
            body["parent_provider_uuid"] = parent_provider_uuid
        reply = self.request("POST", "/resource_providers", body=body, microversion=microversion)
        if reply.content:
            return ResourceProvider.from_json(reply.json())
        created = urlsplit(reply.headers["location"]).path.rstrip("/").rsplit("/", 1)[-1]
        return self.get_provider(created, microversion=microversion)

    def update_provider(
        self,
        uuid: str,
        name: str,
        *,
        parent_provider_uuid: str | None = _UNSET,
        microversion: str | None = None,
    ) -> ResourceProvider:
        """``PUT /resource_providers/{uuid}``: rename and/or (re)parent.

        Leave ``parent_provider_uuid`` out to keep the parent; ``None`` un-parents (1.37+).
        """
        body: dict[str, Any] = {"name": name}
        if parent_provider_uuid is not _UNSET:
            body["parent_provider_uuid"] = parent_provider_uuid
        reply = self.request(
            "PUT", resource_path("resource_providers", uuid), body=body, microversion=microversion
        )
        return ResourceProvider.from_json(reply.json())

    def delete_provider(self, uuid: str, *, microversion: str | None = None) -> None:
        """Raises ``CannotDeleteParent`` (has children) or ``ResourceProviderInUse``."""
        self.request("DELETE", resource_path("resource_providers", uuid), microversion=microversion)

    # -- inventories ------------------------------------------------------------------

    def get_inventories(self, uuid: str, *, microversion: str | None = None) -> ProviderInventories:
        data = self._get(resource_path("resource_providers", uuid, "inventories"), microversion)
        return ProviderInventories.from_json(data)

    def set_inventories(
        self,
        uuid: str,
        inventories: Mapping[str, InventoryLike],
        generation: int,
        *,
        microversion: str | None = None,
    ) -> ProviderInventories:
        """``PUT .../inventories``: replace the whole set (``{}`` removes everything).

        Raises ``ConcurrentUpdate`` if ``generation`` is stale and ``InventoryInUse`` if a
        removed class still has allocations. See ``set_inventory`` for the retrying form.
        """
        body = {
            "resource_provider_generation": generation,
            "inventories": inventories_json(inventories),
        }
        reply = self.request(
            "PUT",
            resource_path("resource_providers", uuid, "inventories"),
            body=body,
            microversion=microversion,
        )
        return ProviderInventories.from_json(reply.json())

    def delete_inventories(self, uuid: str, *, microversion: str | None = None) -> None:
        """``DELETE .../inventories`` (1.5+): no generation check; ``InventoryInUse``."""
        self.request(
            "DELETE",
            resource_path("resource_providers", uuid, "inventories"),
            microversion=microversion,
        )

    def add_inventory(
        self,
        uuid: str,
        resource_class: str,
        inventory: InventoryLike,
        *,
        microversion: str | None = None,
    ) -> ProviderInventory:
        """``POST .../inventories``: add one class (``ConcurrentUpdate`` if present)."""
        body = {"resource_class": resource_class, **as_inventory(inventory).to_json()}
        reply = self.request(
            "POST",
            resource_path("resource_providers", uuid, "inventories"),
            body=body,
            microversion=microversion,
        )
        return _single_inventory(resource_class, reply.json())

    def get_inventory(
        self, uuid: str, resource_class: str, *, microversion: str | None = None
    ) -> ProviderInventory:
        data = self._get(
            resource_path("resource_providers", uuid, "inventories", resource_class), microversion
        )
        return _single_inventory(resource_class, data)

    def update_inventory(
        self,
        uuid: str,
        resource_class: str,
        inventory: InventoryLike,
        generation: int,
        *,
        microversion: str | None = None,
    ) -> ProviderInventory:
        """``PUT .../inventories/{rc}``: replace one record (omitted fields revert to
        defaults); ``ConcurrentUpdate`` on a stale generation."""
        body = {"resource_provider_generation": generation, **as_inventory(inventory).to_json()}
        reply = self.request(
            "PUT",
            resource_path("resource_providers", uuid, "inventories", resource_class),
            body=body,
            microversion=microversion,
        )
        return _single_inventory(resource_class, reply.json())

    def delete_inventory(
        self, uuid: str, resource_class: str, *, microversion: str | None = None
    ) -> None:
        """``DELETE .../inventories/{rc}``. In use -> 409 with code
        ``placement.concurrent_update`` (an upstream quirk), so ``ConcurrentUpdate``."""
        self.request(
            "DELETE",
            resource_path("resource_providers", uuid, "inventories", resource_class),
            microversion=microversion,
        )

    # -- aggregates -------------------------------------------------------------------

    def get_aggregates(self, uuid: str, *, microversion: str | None = None) -> ProviderAggregates:
        data = self._get(resource_path("resource_providers", uuid, "aggregates"), microversion)
        return ProviderAggregates(
            data.get("resource_provider_generation"), frozenset(data["aggregates"])
        )

    def set_aggregates(
        self,
        uuid: str,
        aggregates: Sequence[str],
        generation: int | None = None,
        *,
        microversion: str | None = None,
    ) -> ProviderAggregates:
        """``PUT .../aggregates``. From 1.19 ``generation`` is required and checked."""
        version = self.version(microversion)
        body: Any = list(dict.fromkeys(aggregates))
        if version >= (1, 19):
            if generation is None:
                raise ValueError("generation is required from microversion 1.19")
            body = {"aggregates": body, "resource_provider_generation": generation}
        reply = self.request(
            "PUT",
            resource_path("resource_providers", uuid, "aggregates"),
            body=body,
            microversion=microversion,
        )
        data = reply.json()
        return ProviderAggregates(
            data.get("resource_provider_generation"), frozenset(data["aggregates"])
        )


def _single_inventory(resource_class: str, data: Mapping[str, Any]) -> ProviderInventory:
    return ProviderInventory(
        resource_class, data["resource_provider_generation"], Inventory.from_json(data)
    )
