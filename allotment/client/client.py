"""``PlacementClient``: typed methods for every placement resource.

One method per route (providers, inventories, aggregates, traits, resource
classes, allocations, usages, allocation candidates, reshaper). Each takes an
optional ``microversion`` overriding the client's (default: the newest) and adapts
the request and response shapes that differ between versions. Errors raise the
classes of ``allotment.client.errors``. The calls live in groups
(``allotment.client.providers``, ``allotment.client.allocations``; traits and
resource classes here); the compute-service operations built on them (ensure a
tree, set inventory with retries, claim, move, heal) come from
``allotment.client.operations``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from allotment.client import errors
from allotment.client.allocations import AllocationCalls
from allotment.client.allocations import allocation_body as allocation_body
from allotment.client.base import LATEST, resource_path
from allotment.client.base import parse_version as parse_version
from allotment.client.models import ProviderTraits
from allotment.client.operations import ComputeOperations
from allotment.client.providers import ProviderCalls
from allotment.client.transport import HttpxTransport, KeystoneTransport, Transport


class PlacementClient(ProviderCalls, AllocationCalls, ComputeOperations):
    """A placement API client.

    Connect with one of:
        ``PlacementClient("http://placement:8778", token="...")`` - httpx, token header;
        ``PlacementClient(session=ks_session)`` - a keystoneauth1 Session (the endpoint is
        found in the catalog for service type ``placement``) or Adapter;
        ``PlacementClient(http_client=httpx_client)`` - your own ``httpx.Client`` whose
        ``base_url`` is the endpoint (``PlacementService.client()`` does this in tests).

    ``microversion`` is the default for every call (the newest); every method also takes
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

    # -- root -----------------------------------------------------------------------

    def get_versions(self) -> dict[str, Any]:
        """The root document: ``{"versions": [{"min_version", "max_version", ...}]}``."""
        return self.request("GET", "/").json()

    def max_microversion(self) -> str:
        """The newest microversion the service supports."""
        return self.get_versions()["versions"][0]["max_version"]

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
            self.request("GET", resource_path("traits", name), microversion=microversion)
        except errors.NotFound:
            return False
        return True

    def create_trait(self, name: str, *, microversion: str | None = None) -> bool:
        """Ensure a ``CUSTOM_`` trait exists; True if it was created now."""
        reply = self.request("PUT", resource_path("traits", name), microversion=microversion)
        return reply.status == 201

    def delete_trait(self, name: str, *, microversion: str | None = None) -> None:
        """``Conflict`` while a provider has it; ``BadRequest`` for standard traits."""
        self.request("DELETE", resource_path("traits", name), microversion=microversion)

    def get_provider_traits(self, uuid: str, *, microversion: str | None = None) -> ProviderTraits:
        data = self._get(resource_path("resource_providers", uuid, "traits"), microversion)
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
            "PUT",
            resource_path("resource_providers", uuid, "traits"),
            body=body,
            microversion=microversion,
        )
        data = reply.json()
        return ProviderTraits(data["resource_provider_generation"], frozenset(data["traits"]))

    def delete_provider_traits(self, uuid: str, *, microversion: str | None = None) -> None:
        self.request(
            "DELETE", resource_path("resource_providers", uuid, "traits"), microversion=microversion
        )

    # -- resource classes ---------------------------------------------------------------

    def list_resource_classes(self, *, microversion: str | None = None) -> list[str]:
        data = self._get("/resource_classes", microversion)
        return [rc["name"] for rc in data["resource_classes"]]

    def get_resource_class(self, name: str, *, microversion: str | None = None) -> str:
        return self._get(resource_path("resource_classes", name), microversion)["name"]

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
        reply = self.request(
            "PUT", resource_path("resource_classes", name), microversion=microversion
        )
        return reply.status == 201

    def rename_resource_class(self, name: str, new_name: str, *, microversion: str = "1.6") -> str:
        """Rename a custom class: only microversions 1.2-1.6 have this meaning of PUT."""
        if self.version(microversion) >= (1, 7):
            raise ValueError("renaming a resource class needs microversion 1.2-1.6")
        reply = self.request(
            "PUT",
            resource_path("resource_classes", name),
            body={"name": new_name},
            microversion=microversion,
        )
        return reply.json()["name"]

    def delete_resource_class(self, name: str, *, microversion: str | None = None) -> None:
        """``Conflict`` while any inventory uses it; ``BadRequest`` for standard classes."""
        self.request("DELETE", resource_path("resource_classes", name), microversion=microversion)
