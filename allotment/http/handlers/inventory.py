"""Handlers for inventory (being implemented)."""

from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response


def get_inventories(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def set_inventories(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def create_inventory(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def delete_inventories(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def get_inventory(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def update_inventory(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def delete_inventory(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")
