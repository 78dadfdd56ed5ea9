"""Handlers for reshaper (being implemented)."""

from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response


def reshape(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")
