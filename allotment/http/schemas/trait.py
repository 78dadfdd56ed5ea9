"""Schemas for traits: custom trait names and the provider trait set."""

from __future__ import annotations

from typing import Any

from allotment.http.validation import CUSTOM_NAME_PATTERN, GENERATION

# A custom trait name as PUT /traits/{name} accepts it.
CUSTOM_TRAIT: dict[str, Any] = {"type": "string", "pattern": CUSTOM_NAME_PATTERN, "maxLength": 255}

# Any trait name in a provider's set; unknown names are reported after validation.
TRAIT_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255}

SET_PROVIDER_TRAITS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "traits": {"type": "array", "items": TRAIT_NAME},
        "resource_provider_generation": GENERATION,
    },
    "required": ["traits", "resource_provider_generation"],
    "additionalProperties": False,
}
