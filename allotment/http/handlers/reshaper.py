"""Handler for POST /reshaper (1.30): move inventory and allocations atomically."""

from __future__ import annotations

from typing import Any

from allotment import exceptions as exc
from allotment.http.handlers.allocation import consumer_writes
from allotment.http.request import Request, Response, empty_response
from allotment.http.schemas.reshaper import reshape_schema
from allotment.http.validation import parse_uuid, validate
from allotment.model import Inventory
from allotment.store import allocation as alloc_store
from allotment.store import reshaper as reshaper_store


def _inventory(provider: str, name: str, record: dict[str, Any]) -> Inventory:
    inventory = Inventory(
        resource_class=name,
        total=record["total"],
        reserved=record.get("reserved", 0),
        min_unit=record.get("min_unit", 1),
        max_unit=record.get("max_unit", 2147483647),
        step_size=record.get("step_size", 1),
        allocation_ratio=float(record.get("allocation_ratio", 1.0)),
    )
    return inventory


def _inventories(data: dict[str, Any]) -> dict[str, reshaper_store.ProviderInventories]:
    found = {}
    for raw, item in data.items():
        provider = parse_uuid(raw) or raw
        found[provider] = reshaper_store.ProviderInventories(
            generation=item["resource_provider_generation"],
            inventories={
                name: _inventory(provider, name, record)
                for name, record in item["inventories"].items()
            },
        )
    return found


def reshape(req: Request) -> Response:
    """POST /reshaper: 204 on success; every change or none."""
    body = validate(reshape_schema(req.version), req.json_body())
    inventories = _inventories(body["inventories"])
    writes = consumer_writes(req, body["allocations"])
    try:
        alloc_store.run(
            req.state.db,
            lambda conn: reshaper_store.reshape(conn, inventories, writes),
            req.state.settings.allocation_conflict_retry_count,
        )
    except exc.AllocationClassNotFound as error:
        raise exc.Invalid(f"malformed reshaper data: {error}") from error
    except exc.InventoryInUse as error:
        raise exc.InventoryInUse(f"update conflict: {error}") from error
    return empty_response(204)
