"""JSON-schema validation of bodies and the identifier rules shared by handlers."""

from __future__ import annotations

import re
import uuid as uuidlib
from functools import lru_cache
from typing import Any

import jsonschema
import orjson

from allotment.http.errors import HTTPError

RESOURCE_CLASS_PATTERN = "^[A-Z0-9_]+$"
CUSTOM_NAME_PATTERN = "^CUSTOM_[A-Z0-9_]+$"
TRAIT_PATTERN = RESOURCE_CLASS_PATTERN
MAX_INT = 2147483647

_NAME_RE = re.compile(RESOURCE_CLASS_PATTERN)
_CUSTOM_RE = re.compile(CUSTOM_NAME_PATTERN)


@lru_cache(maxsize=512)
def _validator(schema_json: bytes) -> jsonschema.protocols.Validator:
    schema = orjson.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    # A checker with every known format: the draft-7 one lacks "uuid", which
    # would let any string through where placement requires a UUID.
    return cls(schema, format_checker=jsonschema.FormatChecker())


def validate(schema: dict[str, Any], data: Any) -> Any:
    """Check ``data`` against ``schema``; 400 "JSON does not validate" otherwise."""
    # Key order kept: jsonschema breaks ties between errors by the order of
    # the schema's keywords, so it picks upstream's error only in upstream's order.
    validator = _validator(orjson.dumps(schema))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        # jsonschema's own rendering ("<message>\n\nFailed validating
        # '<keyword>' in schema[...]:\n ...\n\nOn instance[...]: ...") is
        # upstream's message verbatim; clients and conformance tests match it.
        raise HTTPError(400, f"JSON does not validate: {error}")
    return data


def validate_query(schema: dict[str, Any], query: dict[str, list[str]]) -> None:
    """Check a query string (last value of each name) against ``schema``.

    The 400 carries "Invalid query string parameters: " and jsonschema's own
    rendering of the error, as upstream words it.
    """
    data = {name: values[-1] for name, values in query.items() if values}
    validator = _validator(orjson.dumps(schema))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise HTTPError(400, f"Invalid query string parameters: {error}")


def parse_uuid(value: Any) -> str | None:
    """The canonical dashed lowercase form of a UUID string, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        return None


def is_uuid(value: Any) -> bool:
    return parse_uuid(value) is not None


def is_valid_name(name: str) -> bool:
    """A resource class or trait name: ``^[A-Z0-9_]+$``, at most 255 characters."""
    return len(name) <= 255 and bool(_NAME_RE.match(name))


def is_custom_name(name: str) -> bool:
    return len(name) <= 255 and bool(_CUSTOM_RE.match(name))


# Reusable schema fragments.
UUID_SCHEMA = {"type": "string", "format": "uuid"}
UUID_LOOSE = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$",
}
NON_NEGATIVE_INT = {"type": "integer", "minimum": 0, "maximum": MAX_INT}
POSITIVE_INT = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
