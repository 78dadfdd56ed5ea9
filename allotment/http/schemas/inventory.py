"""Bodies of the inventory routes: one record, POST, PUT one, PUT all."""

from __future__ import annotations

import copy
from typing import Any

from allotment.http.validation import (
    ALLOCATION_RATIO,
    GENERATION,
    MAX_INT,
    RESOURCE_CLASS_PATTERN,
)

_RECORD_PROPERTIES: dict[str, Any] = {
    "resource_provider_generation": GENERATION,
    "total": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "reserved": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    "min_unit": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "max_unit": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "step_size": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "allocation_ratio": ALLOCATION_RATIO,
}

# PUT /resource_providers/{uuid}/inventories/{rc}: generation and total required.
UPDATE_ONE: dict[str, Any] = {
    "type": "object",
    "properties": _RECORD_PROPERTIES,
    "required": ["total", "resource_provider_generation"],
    "additionalProperties": False,
}

# POST /resource_providers/{uuid}/inventories: a generation may be sent but is ignored.
CREATE: dict[str, Any] = copy.deepcopy(UPDATE_ONE)
CREATE["properties"]["resource_class"] = {
    "type": "string",
    "pattern": RESOURCE_CLASS_PATTERN,
    "maxLength": 255,
}
CREATE["required"] = ["total", "resource_class"]

# A record inside PUT .../inventories: a per-record generation is tolerated, ignored.
_RECORD: dict[str, Any] = copy.deepcopy(UPDATE_ONE)
_RECORD["required"] = ["total"]

# PUT /resource_providers/{uuid}/inventories. Keys that do not match the
# pattern pass the schema and fail later as unknown classes (400 either way);
# their values must still be records, or the handler could not read them.
REPLACE_ALL: dict[str, Any] = {
    "type": "object",
    "properties": {
        "resource_provider_generation": GENERATION,
        "inventories": {
            "type": "object",
            "patternProperties": {RESOURCE_CLASS_PATTERN: _RECORD},
            "additionalProperties": _RECORD,
        },
    },
    "required": ["resource_provider_generation", "inventories"],
    "additionalProperties": False,
}
