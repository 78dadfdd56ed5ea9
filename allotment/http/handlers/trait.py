"""Handlers for /traits and /resource_providers/{uuid}/traits (microversion 1.6+)."""

from __future__ import annotations

import datetime

from allotment import exceptions as exc
from allotment.http import microversion as mv
from allotment.http.errors import HTTPError
from allotment.http.query import reject_unknown, single
from allotment.http.request import (
    Request,
    Response,
    empty_response,
    http_date,
    json_response,
    newest,
)
from allotment.http.schemas import trait as schema
from allotment.http.validation import is_custom_name, is_uuid, validate
from allotment.model import ResourceProvider, Trait
from allotment.store import resource_provider as rp_store
from allotment.store import trait as store

LIST_PARAMS = {"name", "associated"}
INVALID_TRAIT = (
    "The trait is invalid. A valid trait must be no longer than 255 characters, start with "
    'the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"'
)
GENERATION_CONFLICT = (
    "Resource provider's generation already changed. Please update the generation and try again."
)


def _provider(conn, uuid: str) -> ResourceProvider:  # noqa: ANN001 - a Connection
    """The provider in the path; a non-UUID cannot name one, so skip the query."""
    if not is_uuid(uuid):
        raise exc.ResourceProviderNotFound(f"No resource provider with uuid {uuid} found")
    return rp_store.get(conn, uuid)


def _cache_headers(req: Request, stamp: datetime.datetime | None) -> list[tuple[str, str]]:
    """Last-Modified/Cache-Control for bodiless answers (json_response adds its own)."""
    if not req.version.matches(mv.LAST_MODIFIED):
        return []
    return [("last-modified", http_date(stamp)), ("cache-control", "no-cache")]


def _traits_body(traits: list[Trait]) -> tuple[list[str], datetime.datetime | None]:
    """Names and the newest change among them (None: nothing modified, so "now")."""
    return [t.name for t in traits], newest(*(t.last_modified for t in traits))


def _name_filter(value: str) -> dict:
    """``in:A,B`` or ``startswith:PREFIX``; anything else is a 400."""
    operator, sep, operand = value.partition(":")
    if sep and operator == "in":
        return {"names": operand.split(",")}
    if sep and operator == "startswith":
        return {"prefix": operand}
    raise HTTPError(
        400,
        "Badly formatted name parameter. Expected name query string parameter "
        f'in form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "{value}"',
    )


def list_traits(req: Request) -> Response:
    """GET /traits[?name=in:..|startswith:..][&associated=true|false]"""
    reject_unknown(req.query, LIST_PARAMS)
    filters: dict = {}
    name = single(req.query, "name")
    if name is not None:
        filters = _name_filter(name)
    associated = single(req.query, "associated")
    if associated is not None:
        if associated.lower() not in ("true", "false"):
            raise HTTPError(400, 'The query parameter "associated" only accepts "true" or "false"')
        filters["associated"] = associated.lower() == "true"
    with req.state.db.read() as conn:
        traits = store.list_traits(conn, **filters)
    names, stamp = _traits_body(traits)
    return json_response(req, {"traits": names}, last_modified=stamp)


def get_trait(req: Request) -> Response:
    """GET /traits/{name}: 204 when it exists."""
    with req.state.db.read() as conn:
        try:
            trait = store.get(conn, req.path_params["name"])
        except exc.TraitNotFound as error:
            raise HTTPError(404, str(error)) from error  # upstream's handler answers it
    return empty_response(204, _cache_headers(req, trait.last_modified))


def put_trait(req: Request) -> Response:
    """PUT /traits/{name}: create a custom trait; 201 created, 204 existed."""
    name = req.path_params["name"]
    if not is_custom_name(name):
        raise HTTPError(400, INVALID_TRAIT)
    with req.state.db.write() as conn:
        trait, created = store.ensure(conn, name)
    headers = [("location", req.absolute_url(f"/traits/{name}"))]
    headers += _cache_headers(req, trait.last_modified)
    return empty_response(201 if created else 204, headers)


def delete_trait(req: Request) -> Response:
    """DELETE /traits/{name}: 404 unknown, 400 standard, 409 in use."""
    with req.state.db.write() as conn:
        try:
            store.delete(conn, req.path_params["name"])
        except exc.TraitNotFound as error:
            raise HTTPError(404, str(error)) from error  # upstream's handler answers it
    return empty_response(204)


def get_provider_traits(req: Request) -> Response:
    """GET /resource_providers/{uuid}/traits"""
    uuid = req.path_params["uuid"]
    with req.state.db.read() as conn:
        try:
            provider = _provider(conn, uuid)
        except exc.ResourceProviderNotFound as error:
            raise HTTPError(404, f"No resource provider with uuid {uuid} found: {error}") from error
        traits = store.provider_traits(conn, provider.id)
    names, stamp = _traits_body(traits)
    body = {"traits": names, "resource_provider_generation": provider.generation}
    return json_response(req, body, last_modified=stamp)


def set_provider_traits(req: Request) -> Response:
    """PUT /resource_providers/{uuid}/traits: replace the set (generation checked)."""
    data = validate(schema.SET_PROVIDER_TRAITS, req.json_body())
    with req.state.db.write() as conn:
        provider = _provider(conn, req.path_params["uuid"])
        if provider.generation != data["resource_provider_generation"]:
            raise exc.ConcurrentUpdate(GENERATION_CONFLICT)
        try:
            generation = store.set_provider_traits(conn, provider, data["traits"])
        except exc.TraitNotFound:
            unknown = _unknown_traits(conn, data["traits"])
            raise HTTPError(400, f"No such trait {', '.join(unknown)}") from None
        traits = store.provider_traits(conn, provider.id)
    names, stamp = _traits_body(traits)
    body = {"traits": names, "resource_provider_generation": generation}
    return json_response(req, body, last_modified=stamp)


def _unknown_traits(conn, names: list[str]) -> list[str]:  # noqa: ANN001 - a Connection
    known = {t.name for t in store.list_traits(conn, names=names)}
    return sorted(set(names) - known)


def delete_provider_traits(req: Request) -> Response:
    """DELETE /resource_providers/{uuid}/traits: remove all, no generation check."""
    with req.state.db.write() as conn:
        provider = _provider(conn, req.path_params["uuid"])
        store.delete_provider_traits(conn, provider)
    return empty_response(204)
