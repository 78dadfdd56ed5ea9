"""Handlers for resource_provider (being implemented)."""

from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response


def list_resource_providers(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def create_resource_provider(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def get_resource_provider(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def update_resource_provider(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def delete_resource_provider(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")
