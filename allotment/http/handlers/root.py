"""The root version document (open to everyone)."""

from __future__ import annotations

from allotment.http import microversion as mv
from allotment.http.request import Request, Response, json_response


def version_document() -> dict:
    return {
        "versions": [
            {
                "id": "v1.0",
                "min_version": str(mv.MIN_VERSION),
                "max_version": str(mv.MAX_VERSION),
                "status": "CURRENT",
                "links": [{"rel": "self", "href": ""}],
            }
        ]
    }


def get_root(req: Request) -> Response:
    return json_response(req, version_document())
