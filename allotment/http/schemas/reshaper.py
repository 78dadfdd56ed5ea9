"""Body of POST /reshaper (1.30): inventories per provider, allocations per consumer."""

from __future__ import annotations

from typing import Any

from allotment.http import microversion as mv
from allotment.http.schemas import allocation
from allotment.http.validation import (
    ALLOCATION_RATIO,
    GENERATION,
    NON_NEGATIVE_INT,
    POSITIVE_INT,
)

INVENTORY_RECORD = {
    "type": "object",
    "properties": {
        "total": POSITIVE_INT,
        "reserved": NON_NEGATIVE_INT,
        "min_unit": POSITIVE_INT,
        "max_unit": POSITIVE_INT,
        "step_size": POSITIVE_INT,
        "allocation_ratio": ALLOCATION_RATIO,
        # Tolerated in each record, as in PUT /inventories, and ignored.
        "resource_provider_generation": GENERATION,
    },
    "required": ["total"],
    "additionalProperties": False,
}

PROVIDER_INVENTORIES = {
    "type": "object",
    "properties": {
        "resource_provider_generation": GENERATION,
        "inventories": {
            "type": "object",
            "patternProperties": {"^[A-Z0-9_]+$": INVENTORY_RECORD},
            "additionalProperties": False,
        },
    },
    "required": ["resource_provider_generation", "inventories"],
    "additionalProperties": False,
}


def reshape_schema(version: mv.Version) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "inventories": {
                "type": "object",
                "minProperties": 1,
                "patternProperties": {allocation.UUID_KEY_PATTERN: PROVIDER_INVENTORIES},
                "additionalProperties": False,
            },
            "allocations": allocation.post_schema(version, min_consumers=0),
        },
        "required": ["inventories", "allocations"],
        "additionalProperties": False,
    }
