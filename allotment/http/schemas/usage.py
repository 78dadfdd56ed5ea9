"""Query string of GET /usages, by microversion."""

from __future__ import annotations

import re

from allotment.http import microversion as mv

MAX_ID_LENGTH = 255
CONSUMER_TYPE_RE = re.compile(r"^([A-Z0-9_]+|all|unknown)$")


def allowed_params(version: mv.Version) -> set[str]:
    params = {"project_id", "user_id"}
    if version.matches(mv.CONSUMER_TYPES):
        params.add("consumer_type")
    return params
