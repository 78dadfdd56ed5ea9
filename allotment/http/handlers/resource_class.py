"""Handlers for resource_class (being implemented)."""

from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response


def list_resource_classes(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def create_resource_class(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def get_resource_class(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def update_resource_class(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def delete_resource_class(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")
