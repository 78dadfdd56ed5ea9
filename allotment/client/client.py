"""``PlacementClient``: typed methods for every placement resource.

One method per route (providers, inventories, aggregates, traits, resource
classes, allocations, usages, allocation candidates, reshaper). Each takes an
optional ``microversion`` overriding the client's (default 1.39) and adapts the
request and response shapes that differ between versions. Errors raise the
classes of ``allotment.client.errors``. The compute-service operations built on
these (ensure a tree, set inventory with retries, claim, move, heal) come from
``allotment.client.operations``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from allotment.client import errors
from allotment.client.models import (
    AllocationCandidates,
    AllocationWrite,
    ConsumerAllocations,
    Inventory,
    InventoryLike,
    ProviderAggregates,
    ProviderAllocations,
    ProviderInventories,
    ProviderInventory,
    ProviderTraits,
    ProviderUsages,
    RequestGroup,
    ResourceProvider,
    as_inventory,
    format_resources,
)
from allotment.client.operations import ComputeOperations
from allotment.client.transport import HttpxTransport, KeystoneTransport, Params, Reply, Transport

LATEST = "1.39"
_UNSET: Any = object()


def parse_version(version: str) -> tuple[int, int]:
    """``"1.28"`` -> ``(1, 28)``; ``"latest"`` is the newest we know."""
    if version == "latest":
        version = LATEST
    major, _, minor = version.partition(".")
    return int(major), int(minor)


def _path(*segments: str) -> str:
    return "/" + "/".join(quote(str(s), safe="") for s in segments)


def allocation_body(
    allocations: Mapping[str, Mapping[str, int]],
    project_id: str | None,
    user_id: str | None,
    consumer_generation: int | None,
    consumer_type: str | None,
    mappings: Mapping[str, Sequence[str]] | None,
    version: tuple[int, int],
) -> dict[str, Any]:
    """The body of an allocation write for one consumer at ``version``."""
    body: dict[str, Any]
    if version < (1, 12):
        body = {
            "allocations": [
                {"resource_provider": {"uuid": rp}, "resources": dict(res)}
                for rp, res in allocations.items()
            ]
        }
    else:
        body = {"allocations": {rp: {"resources": dict(res)} for rp, res in allocations.items()}}
    if version >= (1, 8):
        if project_id is None or user_id is None:
            raise ValueError("project_id and user_id are required from microversion 1.8")
        body["project_id"] = project_id
        body["user_id"] = user_id
    if version >= (1, 28):
        body["consumer_generation"] = consumer_generation
    if version >= (1, 34) and mappings:
        body["mappings"] = {k: list(v) for k, v in mappings.items()}
    if version >= (1, 38):
        if not consumer_type:
            raise ValueError("consumer_type is required from microversion 1.38")
        body["consumer_type"] = consumer_type
    return body


def _write_body(write: AllocationWrite, version: tuple[int, int]) -> dict[str, Any]:
    return allocation_body(
        write.allocations,
        write.project_id,
        write.user_id,
        write.consumer_generation,
        write.consumer_type,
        write.mappings,
        version,
    )


def _inventories_json(inventories: Mapping[str, InventoryLike]) -> dict[str, Any]:
    return {rc: as_inventory(inv).to_json() for rc, inv in inventories.items()}


class PlacementClient(ComputeOperations):
    """A placement API client.

    Connect with one of:
        ``PlacementClient("http://placement:8778", token="...")`` - httpx, token header;
        ``PlacementClient(session=ks_session)`` - a keystoneauth1 Session (the endpoint is
        found in the catalog for service type ``placement``) or Adapter;
        ``PlacementClient(http_client=httpx_client)`` - your own ``httpx.Client`` whose
        ``base_url`` is the endpoint (``PlacementService.client()`` does this in tests).

    ``microversion`` is the default for every call (``"1.39"``); every method also takes
    ``microversion=``. ``retries`` bounds the re-read-and-retry loops of the operations.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        token: str | None = None,
        session: Any = None,
        http_client: Any = None,
        microversion: str = LATEST,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        interface: str | None = None,
        region_name: str | None = None,
        retries: int = 4,
    ) -> None:
        self.microversion = microversion
        self.token = token
        self.retries = retries
        self.extra_headers = dict(headers or {})
        self.transport: Transport
        if session is not None:
            self.transport = KeystoneTransport(session, endpoint, interface, region_name)
        elif http_client is not None:
            self.transport = HttpxTransport(http_client, owned=False)
        elif endpoint is not None:
            import httpx

            base = endpoint.rstrip("/") + "/"
            self.transport = HttpxTransport(
                httpx.Client(base_url=base, timeout=timeout), owned=True
            )
        else:
            raise ValueError("give an endpoint, a keystoneauth session or an http_client")

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> PlacementClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------

    def version(self, microversion: str | None = None) -> tuple[int, int]:
        """The microversion a call will use, as a tuple."""
        return parse_version(microversion or self.microversion)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | Mapping[str, str] | None = None,
        body: Any = None,
        microversion: str | None = None,
    ) -> Reply:
        """Send one request; raise the matching ``PlacementError`` on a 4xx/5xx."""
        headers = dict(self.extra_headers)
        if self.token:
            headers["X-Auth-Token"] = self.token
        if isinstance(params, Mapping):
            params = list(params.items())
        reply = self.transport.request(
            method,
            path,
            params=params,
            body=body,
            headers=headers,
            microversion=microversion or self.microversion,
        )
        if reply.status >= 400:
            raise errors.from_response(
                reply.status, reply.content, reply.headers, method, reply.url
            )
        return reply

    def _get(self, path: str, microversion: str | None, params: Params | None = None) -> Any:
        return self.request("GET", path, params=params, microversion=microversion).json()

    # -- root -----------------------------------------------------------------------

    def get_versions(self) -> dict[str, Any]:
        """The root document: ``{"versions": [{"min_version", "max_version", ...}]}``."""
        return self.request("GET", "/").json()

    def max_microversion(self) -> str:
        """The newest microversion the service supports."""
        return self.get_versions()["versions"][0]["max_version"]

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
            self._get(_path("resource_providers", uuid), microversion)
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
            "PUT", _path("resource_providers", uuid), body=body, microversion=microversion
        )
        return ResourceProvider.from_json(reply.json())

    def delete_provider(self, uuid: str, *, microversion: str | None = None) -> None:
        """Raises ``CannotDeleteParent`` (has children) or ``ResourceProviderInUse``."""
        self.request("DELETE", _path("resource_providers", uuid), microversion=microversion)

    # -- inventories ------------------------------------------------------------------

    def get_inventories(self, uuid: str, *, microversion: str | None = None) -> ProviderInventories:
        data = self._get(_path("resource_providers", uuid, "inventories"), microversion)
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
            "inventories": _inventories_json(inventories),
        }
        reply = self.request(
            "PUT",
            _path("resource_providers", uuid, "inventories"),
            body=body,
            microversion=microversion,
        )
        return ProviderInventories.from_json(reply.json())

    def delete_inventories(self, uuid: str, *, microversion: str | None = None) -> None:
        """``DELETE .../inventories`` (1.5+): no generation check; ``InventoryInUse``."""
        self.request(
            "DELETE", _path("resource_providers", uuid, "inventories"), microversion=microversion
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
            _path("resource_providers", uuid, "inventories"),
            body=body,
            microversion=microversion,
        )
        return _single_inventory(resource_class, reply.json())

    def get_inventory(
        self, uuid: str, resource_class: str, *, microversion: str | None = None
    ) -> ProviderInventory:
        data = self._get(
            _path("resource_providers", uuid, "inventories", resource_class), microversion
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
            _path("resource_providers", uuid, "inventories", resource_class),
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
            _path("resource_providers", uuid, "inventories", resource_class),
            microversion=microversion,
        )

    # -- aggregates -------------------------------------------------------------------

    def get_aggregates(self, uuid: str, *, microversion: str | None = None) -> ProviderAggregates:
        data = self._get(_path("resource_providers", uuid, "aggregates"), microversion)
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
            _path("resource_providers", uuid, "aggregates"),
            body=body,
            microversion=microversion,
        )
        data = reply.json()
        return ProviderAggregates(
            data.get("resource_provider_generation"), frozenset(data["aggregates"])
        )

    # -- traits -----------------------------------------------------------------------

    def list_traits(
        self,
        *,
        names: Sequence[str] | None = None,
        startswith: str | None = None,
        associated: bool | None = None,
        microversion: str | None = None,
    ) -> list[str]:
        """``GET /traits`` filtered by exact names, a prefix, and/or association."""
        params: list[tuple[str, str]] = []
        if names is not None:
            params.append(("name", "in:" + ",".join(names)))
        if startswith is not None:
            params.append(("name", f"startswith:{startswith}"))
        if associated is not None:
            params.append(("associated", "true" if associated else "false"))
        return list(self._get("/traits", microversion, params)["traits"])

    def trait_exists(self, name: str, *, microversion: str | None = None) -> bool:
        try:
            self.request("GET", _path("traits", name), microversion=microversion)
        except errors.NotFound:
            return False
        return True

    def create_trait(self, name: str, *, microversion: str | None = None) -> bool:
        """Ensure a ``CUSTOM_`` trait exists; True if it was created now."""
        reply = self.request("PUT", _path("traits", name), microversion=microversion)
        return reply.status == 201

    def delete_trait(self, name: str, *, microversion: str | None = None) -> None:
        """``Conflict`` while a provider has it; ``BadRequest`` for standard traits."""
        self.request("DELETE", _path("traits", name), microversion=microversion)

    def get_provider_traits(self, uuid: str, *, microversion: str | None = None) -> ProviderTraits:
        data = self._get(_path("resource_providers", uuid, "traits"), microversion)
        return ProviderTraits(data["resource_provider_generation"], frozenset(data["traits"]))

    def set_provider_traits(
        self,
        uuid: str,
        traits: Sequence[str],
        generation: int,
        *,
        microversion: str | None = None,
    ) -> ProviderTraits:
        """Replace the provider's traits; ``ConcurrentUpdate`` on a stale generation."""
        body = {"traits": list(dict.fromkeys(traits)), "resource_provider_generation": generation}
        reply = self.request(
            "PUT", _path("resource_providers", uuid, "traits"), body=body, microversion=microversion
        )
        data = reply.json()
        return ProviderTraits(data["resource_provider_generation"], frozenset(data["traits"]))

    def delete_provider_traits(self, uuid: str, *, microversion: str | None = None) -> None:
        self.request(
            "DELETE", _path("resource_providers", uuid, "traits"), microversion=microversion
        )

    # -- resource classes ---------------------------------------------------------------

    def list_resource_classes(self, *, microversion: str | None = None) -> list[str]:
        data = self._get("/resource_classes", microversion)
        return [rc["name"] for rc in data["resource_classes"]]

    def get_resource_class(self, name: str, *, microversion: str | None = None) -> str:
        return self._get(_path("resource_classes", name), microversion)["name"]

    def resource_class_exists(self, name: str, *, microversion: str | None = None) -> bool:
        try:
            self.get_resource_class(name, microversion=microversion)
        except errors.NotFound:
            return False
        return True

    def create_resource_class(self, name: str, *, microversion: str | None = None) -> None:
        """``POST /resource_classes``; ``Conflict`` if it exists (see ``ensure_resource_class``)."""
        self.request("POST", "/resource_classes", body={"name": name}, microversion=microversion)

    def ensure_resource_class(self, name: str, *, microversion: str | None = None) -> bool:
        """Idempotent create (``PUT``, 1.7+); True if it was created now."""
        reply = self.request("PUT", _path("resource_classes", name), microversion=microversion)
        return reply.status == 201

    def rename_resource_class(self, name: str, new_name: str, *, microversion: str = "1.6") -> str:
        """Rename a custom class: only microversions 1.2-1.6 have this meaning of PUT."""
        if self.version(microversion) >= (1, 7):
            raise ValueError("renaming a resource class needs microversion 1.2-1.6")
        reply = self.request(
            "PUT",
            _path("resource_classes", name),
            body={"name": new_name},
            microversion=microversion,
        )
        return reply.json()["name"]

    def delete_resource_class(self, name: str, *, microversion: str | None = None) -> None:
        """``Conflict`` while any inventory uses it; ``BadRequest`` for standard classes."""
        self.request("DELETE", _path("resource_classes", name), microversion=microversion)

    # -- allocations ------------------------------------------------------------------

    def get_allocations(
        self, consumer_uuid: str, *, microversion: str | None = None
    ) -> ConsumerAllocations:
        """A consumer's allocations (``exists`` False and empty for an unknown consumer)."""
        data = self._get(_path("allocations", consumer_uuid), microversion)
        return ConsumerAllocations.from_json(consumer_uuid, data)

    def set_allocations(
        self,
        consumer_uuid: str,
        allocations: Mapping[str, Mapping[str, int]],
        *,
        project_id: str | None = None,
        user_id: str | None = None,
        consumer_generation: int | None = None,
        consumer_type: str | None = None,
        mappings: Mapping[str, Sequence[str]] | None = None,
        microversion: str | None = None,
    ) -> None:
        """``PUT /allocations/{consumer}``: replace everything the consumer holds.

        From 1.28 ``consumer_generation`` must be ``None`` for a new consumer and the
        current generation otherwise (``ConcurrentUpdate`` if not); ``{}`` removes the
        consumer. ``Conflict`` when capacity is exceeded.
        """
        body = allocation_body(
            allocations,
            project_id,
            user_id,
            consumer_generation,
            consumer_type,
            mappings,
            self.version(microversion),
        )
        self.request(
            "PUT", _path("allocations", consumer_uuid), body=body, microversion=microversion
        )

    def post_allocations(
        self, writes: Mapping[str, AllocationWrite], *, microversion: str | None = None
    ) -> None:
        """``POST /allocations`` (1.13+): several consumers in one transaction."""
        version = self.version(microversion)
        body = {consumer: _write_body(write, version) for consumer, write in writes.items()}
        self.request("POST", "/allocations", body=body, microversion=microversion)

    def delete_allocations(self, consumer_uuid: str, *, microversion: str | None = None) -> None:
        """Unconditional delete (``NotFound`` if none); ``remove_allocations`` is safer."""
        self.request("DELETE", _path("allocations", consumer_uuid), microversion=microversion)

    def get_provider_allocations(
        self, uuid: str, *, microversion: str | None = None
    ) -> ProviderAllocations:
        data = self._get(_path("resource_providers", uuid, "allocations"), microversion)
        return ProviderAllocations.from_json(data)

    # -- usages -----------------------------------------------------------------------

    def get_provider_usages(self, uuid: str, *, microversion: str | None = None) -> ProviderUsages:
        data = self._get(_path("resource_providers", uuid, "usages"), microversion)
        return ProviderUsages(data["resource_provider_generation"], dict(data["usages"]))

    def get_usages(
        self,
        project_id: str,
        *,
        user_id: str | None = None,
        consumer_type: str | None = None,
        microversion: str | None = None,
    ) -> dict[str, Any]:
        """``GET /usages``: ``{rc: n}`` below 1.38; from 1.38 grouped by consumer type
        (``{type: {rc: n, "consumer_count": c}}``)."""
        params = [("project_id", project_id)]
        if user_id is not None:
            params.append(("user_id", user_id))
        if consumer_type is not None:
            params.append(("consumer_type", consumer_type))
        return dict(self._get("/usages", microversion, params)["usages"])

    # -- allocation candidates ----------------------------------------------------------

    def get_allocation_candidates(
        self,
        groups: Sequence[RequestGroup] = (),
        *,
        resources: Mapping[str, int] | None = None,
        required: Sequence[str] = (),
        member_of: Sequence[str] = (),
        limit: int | None = None,
        group_policy: str | None = None,
        root_required: Sequence[str] = (),
        same_subtree: Sequence[Sequence[str]] = (),
        microversion: str | None = None,
    ) -> AllocationCandidates:
        """``GET /allocation_candidates``.

        Give the unnumbered group as ``resources``/``required``/``member_of`` or as a
        ``RequestGroup`` with ``suffix=""``; suffixed groups as ``RequestGroup`` objects.
        """
        params: list[tuple[str, str]] = []
        if resources or required or member_of:
            groups = [
                RequestGroup(resources=resources or {}, required=required, member_of=member_of),
                *groups,
            ]
        for group in groups:
            params.extend(group.query())
        if limit is not None:
            params.append(("limit", str(limit)))
        if group_policy is not None:
            params.append(("group_policy", group_policy))
        if root_required:
            params.append(("root_required", ",".join(root_required)))
        params.extend(("same_subtree", ",".join(s)) for s in same_subtree)
        data = self._get("/allocation_candidates", microversion, params)
        return AllocationCandidates.from_json(data)

    # -- reshaper ---------------------------------------------------------------------

    def reshape(
        self,
        inventories: Mapping[str, ProviderInventories],
        allocations: Mapping[str, AllocationWrite],
        *,
        microversion: str | None = None,
    ) -> None:
        """``POST /reshaper`` (1.30+): new inventories of the listed providers and new
        allocations of the listed consumers, atomically. Generations are checked."""
        version = self.version(microversion)
        body = {
            "inventories": {
                rp: {
                    "resource_provider_generation": inv.generation,
                    "inventories": _inventories_json(inv.inventories),
                }
                for rp, inv in inventories.items()
            },
            "allocations": {c: _write_body(w, version) for c, w in allocations.items()},
        }
        self.request("POST", "/reshaper", body=body, microversion=microversion)


def _single_inventory(resource_class: str, data: Mapping[str, Any]) -> ProviderInventory:
    return ProviderInventory(
        resource_class, data["resource_provider_generation"], Inventory.from_json(data)
    )
