"""Handlers for /resource_classes (microversion 1.2+)."""

from __future__ import annotations

from typing import Any

from allotment import exceptions as exc
from allotment.http import microversion as mv
from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response, empty_response, json_response, newest
from allotment.http.schemas import resource_class as schema
from allotment.http.validation import validate
from allotment.model import ResourceClass
from allotment.store import resource_class as store


def _render(req: Request, rc: ResourceClass) -> dict[str, Any]:
    return {
        "name": rc.name,
        "links": [{"rel": "self", "href": req.link(f"/resource_classes/{rc.name}")}],
    }


def _location(req: Request, name: str) -> list[tuple[str, str]]:
    return [("location", req.absolute_url(f"/resource_classes/{name}"))]


def list_resource_classes(req: Request) -> Response:
    """GET /resource_classes: standard classes first, then custom ones by creation."""
    with req.state.db.read() as conn:
        classes = store.list_all(conn)
    body = {"resource_classes": [_render(req, rc) for rc in classes]}
    return json_response(req, body, last_modified=newest(*(rc.last_modified for rc in classes)))


def get_resource_class(req: Request) -> Response:
    """GET /resource_classes/{name}"""
    with req.state.db.read() as conn:
        rc = store.get(conn, req.path_params["name"])
    return json_response(req, _render(req, rc), last_modified=rc.last_modified)


def create_resource_class(req: Request) -> Response:
    """POST /resource_classes: 201, empty body, Location; 409 if it exists."""
    name = validate(schema.RESOURCE_CLASS_BODY, req.json_body())["name"]
    with req.state.db.write() as conn:
        store.create(conn, name)
    return empty_response(201, _location(req, name))


def update_resource_class(req: Request) -> Response:
    """PUT /resource_classes/{name}: rename below 1.7, create-if-missing from 1.7."""
    if req.version.matches(mv.RESOURCE_CLASS_PUT_CREATES):
        return _ensure_resource_class(req)
    return _rename_resource_class(req)


def _rename_resource_class(req: Request) -> Response:
    new_name = validate(schema.RESOURCE_CLASS_BODY, req.json_body())["name"]
    with req.state.db.write() as conn:
        rc = store.rename(conn, req.path_params["name"], new_name)
    return json_response(req, _render(req, rc), last_modified=rc.last_modified)


def _ensure_resource_class(req: Request) -> Response:
    name = req.path_params["name"]
    # The path name must have the shape a POST body would need.
    validate(schema.RESOURCE_CLASS_BODY, {"name": name})
    with req.state.db.write() as conn:
        _rc, created = store.ensure(conn, name)
    return empty_response(201 if created else 204, _location(req, name))


def delete_resource_class(req: Request) -> Response:
    """DELETE /resource_classes/{name}: 404 unknown, 400 standard, 409 in use."""
    with req.state.db.write() as conn:
        try:
            store.delete(conn, req.path_params["name"])
        except (exc.Invalid, exc.Conflict) as error:
            raise HTTPError(
                400 if isinstance(error, exc.Invalid) else 409,
                f"Error in delete resource class: {error}",
            ) from None
    return empty_response(204)
