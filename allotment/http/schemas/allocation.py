"""Bodies of PUT /allocations/{consumer} and POST /allocations, by microversion.

The shapes:

* 1.0-1.7: a list of ``{"resource_provider": {"uuid"}, "resources"}``;
* 1.8: + required ``project_id`` and ``user_id``;
* 1.12: an object keyed by provider uuid (per-provider ``generation`` ignored);
* 1.13: POST /allocations, consumers keyed by uuid, allocations may be empty;
* 1.28: + required ``consumer_generation`` (integer or null), PUT may be empty;
* 1.34: + optional ``mappings``;
* 1.38: + required ``consumer_type``.
"""

from __future__ import annotations

import copy
from typing import Any

from allotment.http import microversion as mv
from allotment.http.validation import GENERATION, MAX_INT, RESOURCE_CLASS_PATTERN

# Any 36 characters of hex digits and dashes, as the reference accepts in keys.
UUID_KEY_PATTERN = "^[0-9a-fA-F-]{36}$"
STRICT_UUID = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}
EXTERNAL_ID = {"type": "string", "minLength": 1, "maxLength": 255}
CONSUMER_TYPE = {
    "type": "string",
    "pattern": RESOURCE_CLASS_PATTERN,
    "minLength": 1,
    "maxLength": 255,
}

RESOURCES = {
    "type": "object",
    "minProperties": 1,
    "patternProperties": {
        RESOURCE_CLASS_PATTERN: {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    },
    "additionalProperties": False,
}

LIST_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "allocations": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "resource_provider": {
                        "type": "object",
                        "properties": {"uuid": STRICT_UUID},
                        "required": ["uuid"],
                        "additionalProperties": False,
                    },
                    "resources": RESOURCES,
                },
                "required": ["resource_provider", "resources"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["allocations"],
    "additionalProperties": False,
}


def _with_owner(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out["properties"]["project_id"] = EXTERNAL_ID
    out["properties"]["user_id"] = EXTERNAL_ID
    out["required"] = [*out["required"], "project_id", "user_id"]
    return out


LIST_FORM_1_8 = _with_owner(LIST_FORM)


def _dict_form(min_providers: int) -> dict[str, Any]:
    return _with_owner(
        {
            "type": "object",
            "properties": {
                "allocations": {
                    "type": "object",
                    "minProperties": min_providers,
                    "patternProperties": {
                        UUID_KEY_PATTERN: {
                            "type": "object",
                            "properties": {
                                # Accepted for symmetry with GET, and ignored.
                                "generation": GENERATION,
                                "resources": RESOURCES,
                            },
                            "required": ["resources"],
                            "additionalProperties": False,
                        },
                    },
                    "additionalProperties": False,
                },
            },
            "required": ["allocations"],
            "additionalProperties": False,
        }
    )


MAPPINGS = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": {"type": "array", "minItems": 1, "items": STRICT_UUID},
}


def consumer_schema(version: mv.Version, put: bool) -> dict[str, Any]:
    """One consumer's dict-form body (PUT >= 1.12, or a value of POST /allocations)."""
    may_be_empty = not put or version.matches(mv.CONSUMER_GENERATION)
    schema = _dict_form(0 if may_be_empty else 1)
    if version.matches(mv.CONSUMER_GENERATION):
        schema["properties"]["consumer_generation"] = {**GENERATION, "type": ["integer", "null"]}
        schema["required"].append("consumer_generation")
    if version.matches(mv.CANDIDATE_MAPPINGS):
        schema["properties"]["mappings"] = MAPPINGS
    if version.matches(mv.CONSUMER_TYPES):
        schema["properties"]["consumer_type"] = CONSUMER_TYPE
        schema["required"].append("consumer_type")
    return schema


def put_schema(version: mv.Version) -> dict[str, Any]:
    """The body of PUT /allocations/{consumer} at ``version``."""
    if not version.matches(mv.ALLOCATION_PROJECT_USER):
        return LIST_FORM
    if not version.matches(mv.ALLOCATIONS_DICT_FORM):
        return LIST_FORM_1_8
    return consumer_schema(version, put=True)


def post_schema(version: mv.Version, min_consumers: int = 1) -> dict[str, Any]:
    """The body of POST /allocations (and the reshaper's ``allocations``)."""
    return {
        "type": "object",
        "minProperties": min_consumers,
        "patternProperties": {UUID_KEY_PATTERN: consumer_schema(version, put=False)},
        "additionalProperties": False,
    }
