"""Handlers for aggregate (being implemented)."""

from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response


def get_aggregates(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def set_aggregates(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")
