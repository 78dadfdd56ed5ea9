"""Query string of GET /usages, by microversion."""

from __future__ import annotations

import re
from typing import Any

from allotment.http import microversion as mv

MAX_ID_LENGTH = 255
CONSUMER_TYPE_RE = re.compile(r"^([A-Z0-9_]+|all|unknown)$")


_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}


def query_schema(version: mv.Version) -> dict[str, Any]:
    """The query string of GET /usages as a JSON schema (values are strings)."""
    properties: dict[str, Any] = {"project_id": _ID, "user_id": _ID}
    if version.matches(mv.CONSUMER_TYPES):
        properties["consumer_type"] = {**_ID, "pattern": CONSUMER_TYPE_RE.pattern}
    return {
        "type": "object",
        "properties": properties,
        "required": ["project_id"],
        "additionalProperties": False,
    }
