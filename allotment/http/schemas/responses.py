"""JSON schemas of response bodies, by microversion, one section per resource.

They describe what the handlers render: the OpenAPI document publishes them
and the tests use them as oracles (every response of the gabbi suite and of
the schemathesis run is checked against them). Each function takes the
request's microversion and returns a schema; ``None`` means "no body".
"""

from __future__ import annotations

from typing import Any

from allotment.http import microversion as mv

Schema = dict[str, Any]

_STRING: Schema = {"type": "string"}
_INT: Schema = {"type": "integer"}
_UUID: Schema = {"type": "string", "format": "uuid"}
_NULLABLE_UUID: Schema = {"type": ["string", "null"], "format": "uuid"}
_LINKS: Schema = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"rel": _STRING, "href": _STRING},
        "required": ["rel", "href"],
        "additionalProperties": False,
    },
}
_AMOUNTS: Schema = {"type": "object", "additionalProperties": _INT}


def _object(properties: Schema, required: list[str] | None = None) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def error(codes: list[str] | None = None) -> Schema:
    """The ``{"errors": [...]}`` body; ``codes`` lists the ``code`` values possible."""
    code: Schema = {"type": "string"}
    if codes:
        code = {"type": "string", "enum": sorted(set(codes))}
    item = {
        "type": "object",
        "properties": {
            "status": _INT,
            "title": _STRING,
            "detail": _STRING,
            "code": code,
            "request_id": _STRING,
            # 406 for an unsupported microversion names the supported range.
            "min_version": _STRING,
            "max_version": _STRING,
        },
        "required": ["status", "title", "detail"],
        "additionalProperties": False,
    }
    return _object({"errors": {"type": "array", "items": item, "minItems": 1}})


# --- root ---------------------------------------------------------------------
def root(version: mv.Version) -> Schema:
    entry = _object(
        {
            "id": _STRING,
            "min_version": _STRING,
            "max_version": _STRING,
            "status": _STRING,
            "links": _LINKS,
        }
    )
    return _object({"versions": {"type": "array", "items": entry}})


# --- resource providers ----------------------------------------------------------
def provider(version: mv.Version) -> Schema:
    properties: Schema = {"uuid": _UUID, "name": _STRING, "generation": _INT}
    if version.matches(mv.NESTED_PROVIDERS):
        properties["parent_provider_uuid"] = _NULLABLE_UUID
        properties["root_provider_uuid"] = _UUID
    properties["links"] = _LINKS
    return _object(properties)


def providers(version: mv.Version) -> Schema:
    return _object({"resource_providers": {"type": "array", "items": provider(version)}})


def provider_created(version: mv.Version) -> Schema | None:
    return provider(version) if version.matches(mv.CREATE_RETURNS_PROVIDER) else None


# --- inventories -----------------------------------------------------------------
_INVENTORY_FIELDS: Schema = {
    "total": _INT,
    "reserved": _INT,
    "min_unit": _INT,
    "max_unit": _INT,
    "step_size": _INT,
    "allocation_ratio": {"type": "number"},
}


def inventory(version: mv.Version) -> Schema:
    return _object({**_INVENTORY_FIELDS, "resource_provider_generation": _INT})


def inventories(version: mv.Version) -> Schema:
    return _object(
        {
            "resource_provider_generation": _INT,
            "inventories": {"type": "object", "additionalProperties": _object(_INVENTORY_FIELDS)},
        }
    )


# --- usages ----------------------------------------------------------------------
def provider_usages(version: mv.Version) -> Schema:
    return _object({"resource_provider_generation": _INT, "usages": _AMOUNTS})


def total_usages(version: mv.Version) -> Schema:
    if version.matches(mv.CONSUMER_TYPES):
        by_type = {
            "type": "object",
            "properties": {"consumer_count": _INT},
            "required": ["consumer_count"],
            "additionalProperties": _INT,
        }
        return _object({"usages": {"type": "object", "additionalProperties": by_type}})
    return _object({"usages": _AMOUNTS})


# --- aggregates ------------------------------------------------------------------
def aggregates(version: mv.Version) -> Schema:
    properties: Schema = {"aggregates": {"type": "array", "items": _UUID}}
    if version.matches(mv.AGGREGATE_GENERATION):
        properties["resource_provider_generation"] = _INT
    return _object(properties)


# --- traits ----------------------------------------------------------------------
_TRAIT_LIST: Schema = {"type": "array", "items": _STRING}


def traits(version: mv.Version) -> Schema:
    return _object({"traits": _TRAIT_LIST})


def provider_traits(version: mv.Version) -> Schema:
    return _object({"traits": _TRAIT_LIST, "resource_provider_generation": _INT})


# --- resource classes --------------------------------------------------------------
def resource_class(version: mv.Version) -> Schema:
    return _object({"name": _STRING, "links": _LINKS})


def resource_classes(version: mv.Version) -> Schema:
    return _object({"resource_classes": {"type": "array", "items": resource_class(version)}})


# --- allocations -----------------------------------------------------------------
def consumer_allocations(version: mv.Version) -> Schema:
    per_provider = _object({"generation": _INT, "resources": _AMOUNTS})
    properties: Schema = {
        "allocations": {"type": "object", "additionalProperties": per_provider},
    }
    if not version.matches(mv.ALLOCATIONS_DICT_FORM):
        return _object(properties)
    # The consumer's own keys appear only when it has allocations.
    properties["project_id"] = _STRING
    properties["user_id"] = _STRING
    if version.matches(mv.CONSUMER_GENERATION):
        properties["consumer_generation"] = {"type": ["integer", "null"]}
    if version.matches(mv.CONSUMER_TYPES):
        properties["consumer_type"] = _STRING
    return _object(properties, ["allocations"])


def provider_allocations(version: mv.Version) -> Schema:
    entry: Schema = {"resources": _AMOUNTS}
    if version.matches(mv.CONSUMER_GENERATION):
        entry["consumer_generation"] = {"type": ["integer", "null"]}
    return _object(
        {
            "resource_provider_generation": _INT,
            "allocations": {"type": "object", "additionalProperties": _object(entry)},
        }
    )


# --- allocation candidates -------------------------------------------------------
def allocation_candidates(version: mv.Version) -> Schema:
    if version.matches(mv.ALLOCATIONS_DICT_FORM):
        request: Schema = {
            "allocations": {
                "type": "object",
                "additionalProperties": _object({"resources": _AMOUNTS}),
            }
        }
        if version.matches(mv.CANDIDATE_MAPPINGS):
            request["mappings"] = {
                "type": "object",
                "additionalProperties": {"type": "array", "items": _UUID},
            }
    else:
        item = _object({"resource_provider": _object({"uuid": _UUID}), "resources": _AMOUNTS})
        request = {"allocations": {"type": "array", "items": item}}
    summary: Schema = {
        "resources": {
            "type": "object",
            "additionalProperties": _object({"capacity": _INT, "used": _INT}),
        }
    }
    if version.matches(mv.CANDIDATES_REQUIRED):
        summary["traits"] = _TRAIT_LIST
    if version.matches(mv.NESTED_CANDIDATES):
        summary["parent_provider_uuid"] = _NULLABLE_UUID
        summary["root_provider_uuid"] = _UUID
    return _object(
        {
            "allocation_requests": {"type": "array", "items": _object(request)},
            "provider_summaries": {"type": "object", "additionalProperties": _object(summary)},
        }
    )


# --- explain (an allotment extension; the shape is described in docs/explain.md) ---
def explain(version: mv.Version) -> Schema:
    return {
        "type": "object",
        "properties": {
            "verdict": {"type": ["object", "null"]},
            "candidates": {"type": "object"},
            "groups": {"type": "array", "items": {"type": "object"}},
            "tree_funnel": {"type": "array", "items": {"type": "object"}},
        },
    }
