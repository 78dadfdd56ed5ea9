"""Bodies of POST and PUT /resource_providers[/{uuid}], by microversion."""

from __future__ import annotations

import copy
from typing import Any

from allotment.http import microversion as mv

# The "uuid" format is placement's lenient one (allotment.http.validation);
# the handler then normalises the value. Keys in upstream's order: jsonschema's
# error messages print these schemas.
_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
_UUID = {"type": "string", "format": "uuid"}
_PARENT = {"anyOf": [_UUID, {"type": "null"}]}

_CREATE_BASE: dict[str, Any] = {
    "type": "object",
    "properties": {"name": _NAME, "uuid": _UUID},
    "required": ["name"],
    "additionalProperties": False,
}
_CREATE_NESTED = copy.deepcopy(_CREATE_BASE)
_CREATE_NESTED["properties"]["parent_provider_uuid"] = _PARENT

_UPDATE_BASE: dict[str, Any] = {
    "type": "object",
    "properties": {"name": _NAME},
    "required": ["name"],
    "additionalProperties": False,
}
_UPDATE_NESTED = copy.deepcopy(_UPDATE_BASE)
_UPDATE_NESTED["properties"]["parent_provider_uuid"] = _PARENT


def create_schema(version: mv.Version) -> dict[str, Any]:
    return _CREATE_NESTED if version.matches(mv.NESTED_PROVIDERS) else _CREATE_BASE


def update_schema(version: mv.Version) -> dict[str, Any]:
    return _UPDATE_NESTED if version.matches(mv.NESTED_PROVIDERS) else _UPDATE_BASE


# Query parameters of GET /resource_providers, each with its first microversion.
LIST_PARAMS: tuple[tuple[str, mv.Version], ...] = (
    ("name", mv.MIN_VERSION),
    ("uuid", mv.MIN_VERSION),
    ("member_of", mv.PROVIDER_MEMBER_OF),
    ("resources", mv.PROVIDER_RESOURCES_FILTER),
    ("in_tree", mv.NESTED_PROVIDERS),
    ("required", mv.PROVIDER_REQUIRED),
)


def list_params(version: mv.Version) -> set[str]:
    """The query parameters GET /resource_providers accepts at ``version``."""
    return {name for name, first in LIST_PARAMS if version.matches(first)}
