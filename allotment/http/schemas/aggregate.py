"""Schemas for PUT /resource_providers/{uuid}/aggregates, by microversion."""

from __future__ import annotations

from typing import Any

from allotment.http import microversion as mv
from allotment.http.validation import GENERATION, UUID_SCHEMA

AGGREGATE_LIST: dict[str, Any] = {"type": "array", "items": UUID_SCHEMA, "uniqueItems": True}

# 1.1-1.18: a bare list of aggregate uuids.
PUT_AGGREGATES_1_1 = AGGREGATE_LIST

# From 1.19: the list plus the provider generation the client last saw.
PUT_AGGREGATES_1_19: dict[str, Any] = {
    "type": "object",
    "properties": {
        "aggregates": AGGREGATE_LIST,
        "resource_provider_generation": GENERATION,
    },
    "required": ["aggregates", "resource_provider_generation"],
    "additionalProperties": False,
}


def put_aggregates(version: mv.Version) -> dict[str, Any]:
    """The PUT body schema for ``version``."""
    if version.matches(mv.AGGREGATE_GENERATION):
        return PUT_AGGREGATES_1_19
    return PUT_AGGREGATES_1_1
