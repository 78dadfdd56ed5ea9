"""``PlacementClient`` calls on allocations, usages, allocation candidates and
the reshaper, and the allocation body every write shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from allotment.client.base import ClientBase, resource_path
from allotment.client.models import (
    AllocationCandidates,
    AllocationWrite,
    ConsumerAllocations,
    ProviderAllocations,
    ProviderInventories,
    ProviderUsages,
    RequestGroup,
)
from allotment.client.providers import inventories_json


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


class AllocationCalls(ClientBase):
    """Allocations, usages, candidates and reshapes; mixed into ``PlacementClient``."""

    # -- allocations ------------------------------------------------------------------

    def get_allocations(
        self, consumer_uuid: str, *, microversion: str | None = None
    ) -> ConsumerAllocations:
        """A consumer's allocations (``exists`` False and empty for an unknown consumer)."""
        data = self._get(resource_path("allocations", consumer_uuid), microversion)
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
            "PUT", resource_path("allocations", consumer_uuid), body=body, microversion=microversion
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
        self.request(
            "DELETE", resource_path("allocations", consumer_uuid), microversion=microversion
        )

    def get_provider_allocations(
        self, uuid: str, *, microversion: str | None = None
    ) -> ProviderAllocations:
        data = self._get(resource_path("resource_providers", uuid, "allocations"), microversion)
        return ProviderAllocations.from_json(data)

    # -- usages -----------------------------------------------------------------------

    def get_provider_usages(self, uuid: str, *, microversion: str | None = None) -> ProviderUsages:
        data = self._get(resource_path("resource_providers", uuid, "usages"), microversion)
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
                    "inventories": inventories_json(inv.inventories),
                }
                for rp, inv in inventories.items()
            },
            "allocations": {c: _write_body(w, version) for c, w in allocations.items()},
        }
        self.request("POST", "/reshaper", body=body, microversion=microversion)
