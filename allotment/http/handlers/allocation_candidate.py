"""Handlers for allocation_candidate (being implemented)."""

from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response


def list_allocation_candidates(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")
