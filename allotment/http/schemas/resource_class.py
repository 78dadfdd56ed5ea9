"""Schemas for resource classes: the body of POST and of the 1.2-1.6 rename PUT."""

from __future__ import annotations

from typing import Any

from allotment.http.validation import CUSTOM_NAME_PATTERN

CUSTOM_CLASS_NAME: dict[str, Any] = {
    "type": "string",
    "pattern": CUSTOM_NAME_PATTERN,
    "maxLength": 255,
}

# POST /resource_classes; PUT /resource_classes/{name} below 1.7 (the new name);
# from 1.7 the path name alone is checked against the same shape.
RESOURCE_CLASS_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"name": CUSTOM_CLASS_NAME},
    "required": ["name"],
    "additionalProperties": False,
}
