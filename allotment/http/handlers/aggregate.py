"""Handlers for /resource_providers/{uuid}/aggregates (microversion 1.1+)."""

from __future__ import annotations

from typing import Any

from allotment import exceptions as exc
from allotment.http import microversion as mv
from allotment.http.request import Request, Response, json_response
from allotment.http.schemas import aggregate as schema
from allotment.http.validation import is_uuid, validate
from allotment.model import ResourceProvider
from allotment.store import aggregate as store
from allotment.store import resource_provider as rp_store

GENERATION_CONFLICT = (
    "Resource provider's generation already changed. Please update the generation and try again."
)


def _provider(conn, uuid: str) -> ResourceProvider:  # noqa: ANN001 - a Connection
    """The provider in the path; a non-UUID cannot name one, so skip the query."""
    if not is_uuid(uuid):
        raise exc.ResourceProviderNotFound(f"No resource provider with uuid {uuid} found")
    return rp_store.get(conn, uuid)


def _render(req: Request, aggregates: list[str], generation: int) -> Response:
    body: dict[str, Any] = {"aggregates": aggregates}
    if req.version.matches(mv.AGGREGATE_GENERATION):
        body["resource_provider_generation"] = generation
    # Associations carry no meaningful timestamp: Last-Modified is "now".
    return json_response(req, body)


def get_aggregates(req: Request) -> Response:
    """GET /resource_providers/{uuid}/aggregates"""
    with req.state.db.read() as conn:
        provider = _provider(conn, req.path_params["uuid"])
        aggregates = store.provider_aggregates(conn, provider.id)
    return _render(req, aggregates, provider.generation)


def set_aggregates(req: Request) -> Response:
    """PUT /resource_providers/{uuid}/aggregates: replace the set.

    1.1-1.18: bare list, the generation is neither checked nor bumped.
    1.19+: generation compared, then always bumped (even for the same set).
    """
    with_generation = req.version.matches(mv.AGGREGATE_GENERATION)
    with req.state.db.write() as conn:
        provider = _provider(conn, req.path_params["uuid"])  # 404 before the body
        data = validate(schema.put_aggregates(req.version), req.json_body())
        generation = provider.generation
        if with_generation:
            if data["resource_provider_generation"] != provider.generation:
                raise exc.ConcurrentUpdate(GENERATION_CONFLICT)
            generation = rp_store.increment_generation(conn, provider.id, provider.generation)
            aggregates = data["aggregates"]
        else:
            aggregates = data
        store.set_provider_aggregates(conn, provider.id, aggregates)
    return _render(req, aggregates, generation)
