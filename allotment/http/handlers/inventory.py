"""Handlers for /resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from allotment import exceptions as exc
from allotment.http import microversion as mv
from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response, empty_response, json_response
from allotment.http.schemas import inventory as schemas
from allotment.http.validation import validate
from allotment.model import Inventory, ResourceProvider
from allotment.store import inventory as inv_store
from allotment.store import resource_provider as rp_store

_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")


def inventory_body(inv: Inventory) -> dict[str, Any]:
    """One inventory record as the API shows it (D1)."""
    return {name: getattr(inv, name) for name in _FIELDS}


def to_inventory(resource_class: str, data: dict[str, Any]) -> Inventory:
    """A record from a validated body; omitted fields take their defaults."""
    return Inventory(
        resource_class=resource_class, **{name: data[name] for name in _FIELDS if name in data}
    )


@contextmanager
def _capacity_context(action: str, provider: ResourceProvider) -> Iterator[None]:
    """Prefix a capacity error with what was being done, as upstream words it."""
    try:
        yield
    except exc.InvalidInventoryCapacity as error:
        raise exc.InvalidInventoryCapacity(
            f"Unable to {action} inventory for resource provider {provider.uuid}: {error}"
        ) from error


def _reserved_may_equal_total(req: Request) -> bool:
    return req.version.matches(mv.RESERVED_EQUALS_TOTAL)


def _provider(conn: Any, req: Request) -> ResourceProvider:
    return rp_store.get(conn, req.path_params["uuid"])


def _provider_for_read(conn: Any, req: Request) -> ResourceProvider:
    """The provider of a GET: its 404 is worded (and answered) by the handler."""
    uuid = req.path_params["uuid"]
    try:
        return rp_store.get(conn, uuid)
    except exc.ResourceProviderNotFound as error:
        raise HTTPError(404, f"No resource provider with uuid {uuid} found : {error}") from error


def _collection_response(
    req: Request,
    generation: int,
    inventories: dict[str, Inventory],
    last_modified: datetime.datetime | None,
) -> Response:
    body = {
        "resource_provider_generation": generation,
        "inventories": {name: inventory_body(inv) for name, inv in inventories.items()},
    }
    # Upstream takes the newest record's timestamp: none without records.
    return json_response(req, body, last_modified=last_modified, omit_last_modified=not inventories)


def _single_response(
    req: Request,
    generation: int,
    inv: Inventory,
    last_modified: datetime.datetime | None,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    body = inventory_body(inv)
    body["resource_provider_generation"] = generation
    return json_response(req, body, status, last_modified=last_modified, headers=headers)


def get_inventories(req: Request) -> Response:
    with req.state.db.read() as conn:
        provider = _provider_for_read(conn, req)
        inventories, stamp = inv_store.read(conn, provider.id)
    return _collection_response(req, provider.generation, inventories, stamp)


def set_inventories(req: Request) -> Response:
    with req.state.db.write() as conn:
        provider = _provider(conn, req)
        data = validate(schemas.REPLACE_ALL, req.json_body())
        new = {name: to_inventory(name, record) for name, record in data["inventories"].items()}
        with _capacity_context("update", provider):
            try:
                generation = inv_store.replace_all(
                    conn,
                    provider,
                    new,
                    data["resource_provider_generation"],
                    _reserved_may_equal_total(req),
                )
            except exc.InventoryInUse as error:
                # Upstream's wording (nova's tests match it).
                raise exc.InventoryInUse(f"update conflict: {error}") from error
        inventories, stamp = inv_store.read(conn, provider.id)
    return _collection_response(req, generation, inventories, stamp)


def delete_inventories(req: Request) -> Response:
    with req.state.db.write() as conn:
        provider = _provider(conn, req)
        inv_store.replace_all(conn, provider, {}, None)
    return empty_response(204)


def create_inventory(req: Request) -> Response:
    with req.state.db.write() as conn:
        provider = _provider(conn, req)
        data = validate(schemas.CREATE, req.json_body())
        inv = to_inventory(data["resource_class"], data)
        with _capacity_context("create", provider):
            generation = inv_store.add(conn, provider, inv, _reserved_may_equal_total(req))
        stored, stamp = inv_store.read_one(conn, provider.id, inv.resource_class)
    path = f"/resource_providers/{provider.uuid}/inventories/{inv.resource_class}"
    return _single_response(
        req, generation, stored, stamp, 201, headers=[("location", req.absolute_url(path))]
    )


def get_inventory(req: Request) -> Response:
    with req.state.db.read() as conn:
        provider = _provider_for_read(conn, req)
        class_name = req.path_params["resource_class"]
        try:
            inv, stamp = inv_store.read_one(conn, provider.id, class_name)
        except exc.NotFound as error:
            # An unknown class is just one more class the provider lacks.
            raise HTTPError(
                404, f"No inventory of class {class_name} for {provider.uuid}"
            ) from error
    return _single_response(req, provider.generation, inv, stamp)


def update_inventory(req: Request) -> Response:
    class_name = req.path_params["resource_class"]
    with req.state.db.write() as conn:
        provider = _provider(conn, req)
        data = validate(schemas.UPDATE_ONE, req.json_body())
        with _capacity_context("update", provider):
            generation = inv_store.update_one(
                conn,
                provider,
                to_inventory(class_name, data),
                data["resource_provider_generation"],
                _reserved_may_equal_total(req),
            )
        inv, stamp = inv_store.read_one(conn, provider.id, class_name)
    return _single_response(req, generation, inv, stamp)


def delete_inventory(req: Request) -> Response:
    with req.state.db.write() as conn:
        provider = _provider(conn, req)
        class_name = req.path_params["resource_class"]
        try:
            inv_store.delete_one(conn, provider, class_name)
        except exc.NotFound as error:
            raise HTTPError(
                404, f"No inventory of class {class_name} found for delete: {error}"
            ) from error
    return empty_response(204)
