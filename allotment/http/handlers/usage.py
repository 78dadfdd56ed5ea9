"""Handlers for provider usages and GET /usages."""

from __future__ import annotations

from typing import Any

from allotment import exceptions as exc
from allotment.http import microversion as mv
from allotment.http import query
from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response, json_response
from allotment.http.schemas import usage as schemas
from allotment.http.validation import validate_query
from allotment.store import resource_provider as rp_store
from allotment.store import usage as usage_store


def get_provider_usages(req: Request) -> Response:
    uuid = req.path_params["uuid"]
    with req.state.db.read() as conn:
        try:
            provider = rp_store.get(conn, uuid)
        except exc.ResourceProviderNotFound as error:
            raise HTTPError(404, f"No resource provider with uuid {uuid} found: {error}") from error
        usages = usage_store.provider_usages(conn, provider.id)
    body = {"resource_provider_generation": provider.generation, "usages": usages}
    # Usages are computed, not stored: Last-Modified is "now".
    return json_response(req, body)


def get_total_usages(req: Request) -> Response:
    params = req.query
    validate_query(schemas.query_schema(req.version), params)
    project_id = query.single(params, "project_id")
    user_id = query.single(params, "user_id")
    assert project_id is not None
    usages: dict[str, Any]
    with req.state.db.read() as conn:
        if req.version.matches(mv.CONSUMER_TYPES):
            groups = usage_store.project_usages_by_type(
                conn, project_id, user_id, query.single(params, "consumer_type")
            )
            usages = {
                name: {**group.usages, "consumer_count": group.consumer_count}
                for name, group in groups.items()
            }
        else:
            usages = dict(usage_store.project_usages(conn, project_id, user_id))
    return json_response(req, {"usages": usages})


def usages_policy_target(req: Request) -> dict:
    """``/usages`` is authorized against the project being asked about."""
    values = req.query.get("project_id")
    return {"project_id": values[-1] if values else None, "user_id": req.context.user_id}
