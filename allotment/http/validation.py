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
# The longest message an error body carries: a huge value sent by a client
# is never echoed back whole (nor twice, as jsonschema's rendering would).
MAX_MESSAGE = 4096

_NAME_RE = re.compile(RESOURCE_CLASS_PATTERN)
_CUSTOM_RE = re.compile(CUSTOM_NAME_PATTERN)


def _is_uuid_format(instance: object) -> bool:
    """The "uuid" format as placement checks it: any form ``uuid.UUID`` reads
    (dashes optional, braces, ``urn:uuid:``), and never a non-string."""
    return parse_uuid(instance) is not None


def _format_checker() -> jsonschema.FormatChecker:
    # Every known format, with "uuid" as lenient as placement's (jsonschema's
    # own wants the dashed form). The check lives in the schema, not in the
    # handler, so that jsonschema ranks a bad uuid among a body's other errors
    # (it reports the one at the last property name) exactly as upstream does.
    checker = jsonschema.FormatChecker()
    checker.checks("uuid")(_is_uuid_format)
    return checker


@lru_cache(maxsize=512)
def _validator(schema_json: bytes) -> jsonschema.protocols.Validator:
    schema = orjson.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema, format_checker=_format_checker())


def truncate(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` cut to ``limit`` characters, saying so."""
    if len(message) <= limit:
        return message
    return f"{message[:limit]}... ({len(message) - limit} more characters not shown)"


def _render(error: jsonschema.exceptions.ValidationError) -> str:
    """jsonschema's own rendering, bounded: a huge instance is not echoed whole."""
    if len(repr(error.instance)) > MAX_MESSAGE:
        # Rendering would print the instance twice (message and "On instance").
        return truncate(f"{error.message}\n\nFailed validating {error.validator!r}")
    return truncate(str(error))


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
        raise HTTPError(400, f"JSON does not validate: {_render(error)}")
    return data


def check_text(value: str, where: str) -> None:
    """400 for a NUL character, which no database stores in a string (PostgreSQL
    refuses it outright), and for a lone surrogate: JSON may spell one as an
    escape (``"\\ud800"``), the decoder gives it back as is, and no database
    driver can encode it as UTF-8."""
    if "\x00" in value:
        raise HTTPError(400, f"Invalid character (NUL) in {where}.")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise HTTPError(400, f"Invalid character (lone surrogate) in {where}.") from None


def check_json(data: Any, max_depth: int, max_items: int) -> None:
    """Bound a decoded body before anything walks it recursively.

    Nesting deeper than ``max_depth``, an array or object with more than
    ``max_items`` members, or a NUL in any string or key is a 400. The walk
    is iterative, so no body can exhaust the interpreter's stack.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            check_text(value, "a JSON string")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > max_depth:
            raise HTTPError(400, f"JSON is nested more than {max_depth} levels deep.")
        if len(value) > max_items:
            raise HTTPError(
                400, f"JSON array or object has {len(value)} members, more than {max_items}."
            )
        if isinstance(value, dict):
            for key, item in value.items():
                check_text(key, "a JSON key")
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


def validate_query(schema: dict[str, Any], query: dict[str, list[str]]) -> None:
    """Check a query string (last value of each name) against ``schema``.

    The 400 carries "Invalid query string parameters: " and jsonschema's own
    rendering of the error, as upstream words it.
    """
    data = {name: values[-1] for name, values in query.items() if values}
    validator = _validator(orjson.dumps(schema))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise HTTPError(400, f"Invalid query string parameters: {_render(error)}")


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
# A generation as a client may send it: any 32-bit value (a wrong one is a
# 409 later); beyond that the database column could not even compare it.
GENERATION = {"type": "integer", "minimum": -MAX_INT - 1, "maximum": MAX_INT}
# Largest single-precision float: what the allocation_ratio column can hold.
MAX_RATIO = 3.40282e38
# A ratio is finite, not negative and fits the column; the capacity check
# then decides whether 0 is allowed at the request's microversion.
ALLOCATION_RATIO = {"type": "number", "minimum": 0, "maximum": MAX_RATIO}
