"""Handlers for /resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

import datetime
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

from allotment import exceptions as exc
from allotment.http import microversion as mv
from allotment.http import query
from allotment.http.errors import HTTPError
from allotment.http.request import (
    Request,
    Response,
    empty_response,
    json_response,
    newest,
)
from allotment.http.schemas import resource_provider as schemas
from allotment.http.validation import parse_uuid, validate
from allotment.model import ResourceProvider
from allotment.store import resource_provider as rp_store

# Sub-resource links after self/inventories/usages, with their first microversion.
_EXTRA_LINKS = (
    ("aggregates", mv.AGGREGATES),
    ("traits", mv.TRAITS),
    ("allocations", mv.PROVIDER_ALLOCATIONS_LINK),
)


def provider_renderer(req: Request) -> Callable[[ResourceProvider], dict[str, Any]]:
    """A function rendering providers at the request's microversion (C1).

    The version checks and link prefixes are worked out once per request, so
    long lists cost one dict per provider and nothing more.
    """
    prefix = req.link("/resource_providers/")
    rels = ("inventories", "usages") + tuple(
        rel for rel, first in _EXTRA_LINKS if req.version.matches(first)
    )
    nested = req.version.matches(mv.NESTED_PROVIDERS)

    def render(provider: ResourceProvider) -> dict[str, Any]:
        base = prefix + provider.uuid
        links = [{"rel": "self", "href": base}]
        links.extend({"rel": rel, "href": f"{base}/{rel}"} for rel in rels)
        body: dict[str, Any] = {
            "uuid": provider.uuid,
            "name": provider.name,
            "generation": provider.generation,
        }
        if nested:
            body["parent_provider_uuid"] = provider.parent_provider_uuid
            body["root_provider_uuid"] = provider.root_provider_uuid
        body["links"] = links
        return body

    return render


def provider_body(req: Request, provider: ResourceProvider) -> dict[str, Any]:
    """The JSON representation of one provider at the request's microversion (C1)."""
    return provider_renderer(req)(provider)


def _uuid_value(value: Any, what: str, in_query: bool = False) -> str:
    """A lenient uuid from a body or query, normalised; 400 if it is not one.

    The message is the one upstream's JSON-schema "format" check gives.
    """
    canonical = parse_uuid(value)
    if canonical is None:
        prefix = "Invalid query string parameters" if in_query else "JSON does not validate"
        raise HTTPError(
            400,
            f"{prefix}: {value!r} is not a 'uuid'\n\nFailed validating "
            f"'format' in schema['properties']['{what}']",
        )
    return canonical


def _parent_value(data: dict[str, Any]) -> str | None:
    value = data.get("parent_provider_uuid")
    return None if value is None else _uuid_value(value, "parent_provider_uuid")


def _tree_error(error: exc.Invalid, message: str) -> exc.Invalid:
    return exc.Invalid(f"{message}: {error}")


def create_resource_provider(req: Request) -> Response:
    data = validate(schemas.create_schema(req.version), req.json_body())
    new_uuid = _uuid_value(data["uuid"], "uuid") if "uuid" in data else str(uuidlib.uuid4())
    parent = _parent_value(data)
    with req.state.db.write() as conn:
        try:
            provider = rp_store.create(conn, new_uuid, data["name"], parent)
        except exc.Invalid as error:
            raise _tree_error(
                error, f'Unable to create resource provider "{data["name"]}", {new_uuid}'
            ) from error
    location = [("location", req.absolute_url(f"/resource_providers/{provider.uuid}"))]
    if req.version.matches(mv.CREATE_RETURNS_PROVIDER):
        return json_response(
            req,
            provider_body(req, provider),
            200,
            last_modified=provider.last_modified,
            headers=location,
        )
    return empty_response(201, headers=location)


def get_resource_provider(req: Request) -> Response:
    with req.state.db.read() as conn:
        provider = rp_store.get(conn, req.path_params["uuid"])
    return json_response(req, provider_body(req, provider), last_modified=provider.last_modified)


def update_resource_provider(req: Request) -> Response:
    with req.state.db.write() as conn:
        provider = rp_store.get(conn, req.path_params["uuid"])
        before = _previous_update(provider)
        data = validate(schemas.update_schema(req.version), req.json_body())
        try:
            provider = rp_store.update(
                conn,
                provider,
                data["name"],
                set_parent="parent_provider_uuid" in data,
                parent_uuid=_parent_value(data),
                allow_reparent=req.version.matches(mv.REPARENT_PROVIDERS),
            )
        except exc.Invalid as error:
            raise _tree_error(error, f"Unable to save resource provider {provider.uuid}") from error
    # Upstream answers with the provider's update time as read BEFORE this
    # update; a provider never updated has none, so no Last-Modified.
    return json_response(
        req, provider_body(req, provider), last_modified=before, omit_last_modified=before is None
    )


def _previous_update(provider: ResourceProvider) -> datetime.datetime | None:
    """The provider's update time as upstream stores it: a root provider is
    updated once while it is created (to point at itself as root)."""
    if provider.updated_at is not None:
        return provider.updated_at
    return provider.created_at if provider.parent_provider_uuid is None else None


def delete_resource_provider(req: Request) -> Response:
    uuid = req.path_params["uuid"]
    with req.state.db.write() as conn:
        try:
            provider = rp_store.get(conn, uuid)
        except exc.ResourceProviderNotFound as error:
            raise HTTPError(
                404, f"No resource provider with uuid {uuid} found for delete"
            ) from error
        rp_store.delete(conn, provider)
    return empty_response(204)


def _list_filter(req: Request) -> rp_store.ProviderFilter:
    """Parse and check the query string of GET /resource_providers (C2)."""
    params = req.query
    query.reject_unknown(params, schemas.list_params(req.version))
    uuid_value = query.single(params, "uuid")
    in_tree = query.single(params, "in_tree")
    resources = query.single(params, "resources")
    aggregates = query.parse_member_of(params.get("member_of", []), req.version)
    traits = query.parse_required(params.get("required", []), req.version)
    return rp_store.ProviderFilter(
        name=query.single(params, "name"),
        uuid=None if uuid_value is None else _uuid_value(uuid_value, "uuid", True),
        in_tree=None if in_tree is None else _uuid_value(in_tree, "in_tree", True),
        aggregates_any_of=aggregates.any_of,
        aggregates_none_of=aggregates.none_of,
        traits_any_of=traits.any_of,
        traits_forbidden=traits.forbidden,
        resources={} if resources is None else query.parse_resources(resources),
    )


def list_resource_providers(req: Request) -> Response:
    flt = _list_filter(req)
    with req.state.db.read() as conn:
        try:
            providers = rp_store.find_filtered(conn, flt)
        except exc.ResourceClassNotFound as error:
            raise HTTPError(
                400, f"Invalid resource class in resources parameter: {error}"
            ) from None
        except exc.TraitNotFound as error:
            raise HTTPError(400, f'Invalid trait(s) in "required" parameter: {error}') from None
    render = provider_renderer(req)
    body = {"resource_providers": [render(p) for p in providers]}
    return json_response(req, body, last_modified=newest(*(p.last_modified for p in providers)))
