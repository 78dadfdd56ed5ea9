"""The query string of GET /allocation_candidates as a JSON schema, by microversion.

Validated before any parsing so that unknown or misplaced parameters, a bad
``limit`` or ``group_policy`` and a missing ``resources`` get jsonschema's
own messages, which are upstream's (clients and conformance suites match
"'resources01' does not match any of the regexes", "is not one of", ...).
Values are strings: the last one given for each name is checked.
"""

from __future__ import annotations

from typing import Any

from allotment.http import microversion as mv

_STRING = {"type": "string"}
_NUMERIC_SUFFIX = "[1-9][0-9]*"
_STRING_SUFFIX = "[a-zA-Z0-9_-]{1,64}"
_LIMIT = {"type": ["integer", "string"], "pattern": "^[1-9][0-9]*$", "minimum": 1, "minLength": 1}
GROUP_POLICY = {"type": "string", "enum": ["none", "isolate"]}


def _ungrouped(version: mv.Version) -> dict[str, Any]:
    """Before 1.25: named parameters only, ``resources`` required."""
    properties: dict[str, Any] = {"resources": _STRING}
    if version.matches(mv.CANDIDATES_LIMIT):
        properties["limit"] = _LIMIT
    if version.matches(mv.CANDIDATES_REQUIRED):
        properties["required"] = _STRING
    if version.matches(mv.CANDIDATES_MEMBER_OF):
        properties["member_of"] = _STRING
    return {
        "type": "object",
        "properties": properties,
        "required": ["resources"],
        "additionalProperties": False,
    }


def _grouped(version: mv.Version) -> dict[str, Any]:
    """From 1.25: per-group parameters by pattern, plus request-wide ones."""
    prefixes = ["resources", "required", "member_of"]
    if version.matches(mv.CANDIDATES_IN_TREE):
        prefixes.append("in_tree")
    suffix = _STRING_SUFFIX if version.matches(mv.STRING_SUFFIXES) else _NUMERIC_SUFFIX
    properties: dict[str, Any] = {"limit": _LIMIT, "group_policy": GROUP_POLICY}
    if version.matches(mv.ROOT_REQUIRED):
        properties["root_required"] = _STRING
    if version.matches(mv.SAME_SUBTREE):
        properties["same_subtree"] = _STRING
    return {
        "type": "object",
        "properties": properties,
        "patternProperties": {f"^{prefix}({suffix})?$": _STRING for prefix in prefixes},
        "additionalProperties": False,
    }


def query_schema(version: mv.Version) -> dict[str, Any]:
    return _grouped(version) if version.matches(mv.GRANULAR_GROUPS) else _ungrouped(version)
