"""Handlers for allocations: per consumer (GET/PUT/DELETE), POST /allocations,
and the allocations of one provider."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from allotment import exceptions as exc
from allotment.http import microversion as mv
from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response, empty_response, json_response, newest
from allotment.http.schemas import allocation as schemas
from allotment.http.validation import parse_uuid, validate
from allotment.model import Allocation, Consumer
from allotment.store import allocation as alloc_store
from allotment.store import resource_provider as rp_store

# What GET /allocations/{consumer} reports for consumers without a type (>= 1.38).
UNKNOWN_CONSUMER_TYPE = "unknown"


def _newest(allocations: Iterable[Allocation]) -> Any:
    return newest(*(a.last_modified for a in allocations))


def _consumer_body(
    req: Request, consumer: Consumer | None, allocations: list[Allocation]
) -> dict[str, Any]:
    by_provider: dict[str, dict[str, Any]] = {}
    for alloc in allocations:
        entry = by_provider.setdefault(
            alloc.resource_provider_uuid,
            {"generation": alloc.resource_provider_generation, "resources": {}},
        )
        entry["resources"][alloc.resource_class] = alloc.used
    body: dict[str, Any] = {"allocations": by_provider}
    # The consumer's own keys appear only when it has allocations.
    if not allocations or not req.version.matches(mv.ALLOCATIONS_DICT_FORM):
        return body
    settings = req.state.settings
    body["project_id"] = (
        consumer.project_id if consumer else settings.incomplete_consumer_project_id
    )
    body["user_id"] = consumer.user_id if consumer else settings.incomplete_consumer_user_id
    if req.version.matches(mv.CONSUMER_GENERATION):
        body["consumer_generation"] = consumer.generation if consumer else None
    if req.version.matches(mv.CONSUMER_TYPES):
        body["consumer_type"] = (
            consumer.consumer_type if consumer else None
        ) or UNKNOWN_CONSUMER_TYPE
    return body


def list_allocations(req: Request) -> Response:
    """GET /allocations/{consumer_uuid}: always 200, empty for unknown consumers."""
    raw = req.path_params["consumer_uuid"]
    with req.state.db.read() as conn:
        consumer, allocations = alloc_store.get_for_consumer(conn, parse_uuid(raw) or raw)
    return json_response(
        req, _consumer_body(req, consumer, allocations), last_modified=_newest(allocations)
    )


def list_provider_allocations(req: Request) -> Response:
    """GET /resource_providers/{uuid}/allocations."""
    uuid = req.path_params["uuid"]
    with req.state.db.read() as conn:
        provider = rp_store.find(conn, uuid)
        if provider is None:
            raise HTTPError(
                404,
                f"Resource provider '{uuid}' not found: "
                f"No resource provider with uuid {uuid} found",
            )
        allocations = alloc_store.get_for_provider(conn, provider.id)
    with_generation = req.version.matches(mv.CONSUMER_GENERATION)
    by_consumer: dict[str, dict[str, Any]] = {}
    for alloc in allocations:
        entry = by_consumer.setdefault(alloc.consumer_uuid, {"resources": {}})
        entry["resources"][alloc.resource_class] = alloc.used
        if with_generation:
            entry["consumer_generation"] = alloc.consumer_generation
    body = {"resource_provider_generation": provider.generation, "allocations": by_consumer}
    return json_response(req, body, last_modified=_newest(allocations))


def _merge(target: dict[str, dict[str, int]], provider: str, resources: dict[str, int]) -> None:
    # Two entries for one provider (list form, or uuids differing only in
    # case or dashes) add up rather than silently replacing each other.
    slot = target.setdefault(parse_uuid(provider) or provider, {})
    for name, amount in resources.items():
        slot[name] = slot.get(name, 0) + amount


def _provider_resources(body: dict[str, Any]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    allocations = body["allocations"]
    if isinstance(allocations, list):  # the list form below 1.12
        for item in allocations:
            _merge(found, item["resource_provider"]["uuid"], item["resources"])
    else:
        for provider, item in allocations.items():
            _merge(found, provider, item["resources"])
    return found


def consumer_write(
    req: Request, consumer_uuid: str, body: dict[str, Any]
) -> alloc_store.ConsumerWrite:
    """A validated body (any microversion) as one consumer's allocation write."""
    settings = req.state.settings
    # Below 1.8 the consumer's owner is unknown: use the configured placeholders.
    return alloc_store.ConsumerWrite(
        uuid=consumer_uuid,
        project_id=body.get("project_id") or settings.incomplete_consumer_project_id,
        user_id=body.get("user_id") or settings.incomplete_consumer_user_id,
        allocations=_provider_resources(body),
        consumer_type=body.get("consumer_type"),
        check_generation=req.version.matches(mv.CONSUMER_GENERATION),
        generation=body.get("consumer_generation"),
    )


def set_allocations(req: Request) -> Response:
    """PUT /allocations/{consumer_uuid}: replace one consumer's allocations."""
    raw = req.path_params["consumer_uuid"]
    consumer_uuid = parse_uuid(raw)
    if consumer_uuid is None:
        raise HTTPError(400, f"Malformed consumer_uuid: {raw}")
    body = validate(schemas.put_schema(req.version), req.json_body())
    write = consumer_write(req, consumer_uuid, body)
    try:
        alloc_store.write(
            req.state.db,
            [write],
            req.state.settings.allocation_conflict_retry_count,
            # Upstream settles the consumer (and its generation) first.
            providers_first=False,
        )
    except exc.AllocationClassNotFound as error:
        raise exc.Invalid(
            f"Unable to allocate inventory for consumer {consumer_uuid}: {error}"
        ) from error
    return empty_response(204)


def consumer_writes(req: Request, data: dict[str, Any]) -> list[alloc_store.ConsumerWrite]:
    """Validated POST /allocations data as writes, one per consumer."""
    writes: dict[str, alloc_store.ConsumerWrite] = {}
    for raw, body in data.items():
        consumer_uuid = parse_uuid(raw)
        if consumer_uuid is None:
            raise HTTPError(400, f"Malformed consumer_uuid: {raw}")
        if consumer_uuid in writes:
            raise HTTPError(400, f"Consumer {consumer_uuid} appears more than once.")
        writes[consumer_uuid] = consumer_write(req, consumer_uuid, body)
    # One write transaction's work is bounded: on SQLite it holds the only
    # write lock, so one request must not block every other writer for long.
    limit = req.limits.max_allocations_per_write
    count = sum(len(write.allocations) or 1 for write in writes.values())
    if count > limit:
        raise HTTPError(
            400,
            f"The request writes {count} consumer allocations; at most {limit} are allowed "
            "in one request.",
        )
    return list(writes.values())


def set_allocations_for_consumers(req: Request) -> Response:
    """POST /allocations (1.13): several consumers, all or nothing."""
    data = validate(schemas.post_schema(req.version), req.json_body())
    writes = consumer_writes(req, data)
    try:
        alloc_store.write(
            req.state.db,
            writes,
            req.state.settings.allocation_conflict_retry_count,
            providers_first=False,
        )
    except exc.AllocationClassNotFound as error:
        # Upstream's wording for POST has no colon.
        raise exc.Invalid(f"Unable to allocate inventory {error}") from error
    return empty_response(204)


def delete_allocations(req: Request) -> Response:
    """DELETE /allocations/{consumer_uuid}: no generation check, no provider bump."""
    raw = req.path_params["consumer_uuid"]
    consumer_uuid = parse_uuid(raw) or raw
    deleted = req.state.db.run_write(
        lambda conn: alloc_store.delete_for_consumer(conn, consumer_uuid)
    )
    if not deleted:
        raise HTTPError(404, f"No allocations for consumer '{raw}'")
    return empty_response(204)
