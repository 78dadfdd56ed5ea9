"""Handlers for trait (being implemented)."""

from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response


def get_provider_traits(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def set_provider_traits(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def delete_provider_traits(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def list_traits(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def get_trait(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def put_trait(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def delete_trait(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")
