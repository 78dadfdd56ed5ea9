"""Handlers for allocation (being implemented)."""

from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response


def list_provider_allocations(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def set_allocations_for_consumers(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def list_allocations(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def set_allocations(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def delete_allocations(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")
