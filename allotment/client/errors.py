"""Exceptions raised by ``PlacementClient``, chosen from the error ``code`` and status.

Every error response becomes a ``PlacementError`` carrying ``status``, ``code``,
``title``, ``detail`` and ``request_id``. The class is picked from the
placement error code first (codes appear in responses from microversion 1.23),
then from the HTTP status, so ``except Conflict`` also catches
``ConcurrentUpdate``. Key on classes or ``code``, never on ``detail`` text.
"""

from __future__ import annotations

from typing import Any

import orjson


class PlacementError(Exception):
    """An error answer from placement (or a transport failure: ``status`` 0)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        title: str | None = None,
        request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(status, code, detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.method = method
        self.url = url
        self.body = body

    def __str__(self) -> str:
        where = f"{self.method} {self.url}: " if self.method else ""
        code = f" {self.code}" if self.code else ""
        rid = f" ({self.request_id})" if self.request_id else ""
        return f"{where}{self.status}{code}: {self.detail.strip()}{rid}"


class BadRequest(PlacementError):
    """400: the request was invalid (schema, unknown class or trait, bad query...)."""


class Unauthorized(PlacementError):
    """401: no or invalid credentials."""


class Forbidden(PlacementError):
    """403: policy does not allow the caller to do this."""


class NotFound(PlacementError):
    """404: no such provider, class, trait, inventory or consumer (or route at this version)."""


class MethodNotAllowed(PlacementError):
    """405: the URL exists but not for this method (or not at this microversion)."""


class NotAcceptable(PlacementError):
    """406: microversion out of range, or an ``Accept`` header excluding JSON."""


class Conflict(PlacementError):
    """409 without a more specific code: capacity exceeded, class or trait in use..."""


class UnsupportedMediaType(PlacementError):
    """415: the body was not sent as ``application/json``."""


class ServerError(PlacementError):
    """5xx: the service failed; safe to retry only idempotent requests."""


class ConcurrentUpdate(Conflict):
    """``placement.concurrent_update``: a provider or consumer generation did not match.

    Re-read the provider or consumer and decide again; blind replays are wrong.
    """


class InventoryInUse(Conflict):
    """``placement.inventory.inuse``: removing inventory that allocations still consume."""


class DuplicateName(Conflict):
    """``placement.duplicate_name``: a provider with that name (or uuid) exists."""


class ResourceProviderInUse(Conflict):
    """``placement.resource_provider.inuse``: the provider still has allocations."""


class CannotDeleteParent(Conflict):
    """``placement.resource_provider.cannot_delete_parent``: delete its children first."""


class ResourceProviderNotFound(BadRequest):
    """``placement.resource_provider.not_found``: the reshaper named an unknown provider."""


class DuplicateQueryKey(BadRequest):
    """``placement.query.duplicate_key``: a query parameter given more than once."""


class BadQueryValue(BadRequest):
    """``placement.query.bad_value``: a query parameter value is semantically invalid."""


class MissingQueryValue(BadRequest):
    """``placement.query.missing_value``: a required query parameter is absent."""


BY_CODE: dict[str, type[PlacementError]] = {
    "placement.concurrent_update": ConcurrentUpdate,
    "placement.inventory.inuse": InventoryInUse,
    "placement.duplicate_name": DuplicateName,
    "placement.resource_provider.inuse": ResourceProviderInUse,
    "placement.resource_provider.cannot_delete_parent": CannotDeleteParent,
    "placement.resource_provider.not_found": ResourceProviderNotFound,
    "placement.query.duplicate_key": DuplicateQueryKey,
    "placement.query.bad_value": BadQueryValue,
    "placement.query.missing_value": MissingQueryValue,
}

BY_STATUS: dict[int, type[PlacementError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    409: Conflict,
    415: UnsupportedMediaType,
}


def error_class(status: int, code: str | None) -> type[PlacementError]:
    """The most specific exception class for a status and placement error code."""
    if code in BY_CODE:
        return BY_CODE[code]
    if status >= 500:
        return ServerError
    return BY_STATUS.get(status, PlacementError)


def from_response(
    status: int,
    content: bytes,
    headers: Any,
    method: str | None = None,
    url: str | None = None,
) -> PlacementError:
    """Build the exception for an error response (placement body or anything else)."""
    body: Any = None
    try:
        body = orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        body = None
    first: dict[str, Any] = {}
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0] if isinstance(body["errors"][0], dict) else {}
    elif isinstance(body, dict):
        first = body  # e.g. a bare {"message": ...} from a proxy or auth layer
    code = first.get("code") if isinstance(first.get("code"), str) else None
    detail = first.get("detail") or first.get("message") or content.decode("utf-8", "replace")
    request_id = first.get("request_id") or headers.get("x-openstack-request-id")
    cls = error_class(status, code)
    return cls(
        status,
        str(detail),
        code=code,
        title=first.get("title"),
        request_id=request_id,
        method=method,
        url=url,
        body=body,
    )
