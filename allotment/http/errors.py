"""HTTP errors, the placement error body, and the domain-exception table.

Handlers raise ``HTTPError`` (or let a domain exception from
``allotment.exceptions`` escape); ``error_response`` renders either as the
JSON body every placement client expects.
"""

from __future__ import annotations

import html
import http
from typing import Any

from allotment import exceptions as exc
from allotment.http import error_codes
from allotment.http import microversion as mv

# The generic first paragraph of ``detail``, in upstream's style.
EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed "
    "or otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document "
    "you requested.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method specified is not allowed for this resource.",
    406: "The resource could not be generated that was acceptable to your browser.",
    409: "There was a conflict when trying to complete your request.",
    413: "The request is larger than the server is willing or able to process.",
    414: "The request URI was too long for this server.",
    415: "The request media type is not supported by this server.",
    431: "The request header fields are too large for this server.",
    500: "The server has either erred or is incapable of performing the requested operation.",
    501: "The server does not support the functionality required to fulfill the request.",
    503: "The server is currently unavailable. Please try again at a later time.",
}


class HTTPError(Exception):
    """An error response: status, specific message and optional placement code."""

    def __init__(
        self,
        status: int,
        message: str = "",
        code: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or error_codes.UNDEFINED
        self.headers = headers or []
        self.extra = extra or {}


def bad_request(message: str, code: str | None = None) -> HTTPError:
    return HTTPError(400, message, code)


def not_found(message: str) -> HTTPError:
    return HTTPError(404, message)


def conflict(message: str, code: str | None = None) -> HTTPError:
    return HTTPError(409, message, code)


# Domain exception class -> (status, code). The most specific class wins
# because lookups walk the exception's MRO.
DOMAIN_ERRORS: dict[type[exc.PlacementError], tuple[int, str]] = {
    exc.NotFound: (404, error_codes.UNDEFINED),
    exc.Invalid: (400, error_codes.UNDEFINED),
    exc.ResourceProviderNotFoundForReshape: (400, error_codes.PROVIDER_NOT_FOUND),
    exc.Conflict: (409, error_codes.UNDEFINED),
    exc.ConcurrentUpdate: (409, error_codes.CONCURRENT_UPDATE),
    exc.DuplicateName: (409, error_codes.DUPLICATE_NAME),
    exc.InventoryInUse: (409, error_codes.INVENTORY_INUSE),
    exc.ResourceProviderInUse: (409, error_codes.PROVIDER_INUSE),
    exc.CannotDeleteParentProvider: (409, error_codes.PROVIDER_CANNOT_DELETE_PARENT),
    exc.DatabaseUnavailable: (503, error_codes.UNDEFINED),
}

# Seconds a client is asked to wait before retrying a 503 (database unavailable).
RETRY_AFTER = "5"


def from_domain(error: exc.PlacementError) -> HTTPError:
    for cls in type(error).__mro__:
        if cls in DOMAIN_ERRORS:
            status, code = DOMAIN_ERRORS[cls]
            headers = [("retry-after", RETRY_AFTER)] if status == 503 else None
            return HTTPError(status, str(error), code, headers)
    return HTTPError(500, str(error))


def error_body(
    status: int,
    message: str,
    code: str | None,
    request_id: str | None,
    version: mv.Version | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``{"errors": [...]}`` document; ``code`` only from microversion 1.23."""
    try:
        title = http.HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    explanation = EXPLANATIONS.get(status, "")
    detail = f"{explanation}\n\n {message}  " if message else explanation
    error: dict[str, Any] = {"status": status, "title": title, "detail": detail}
    if version is not None and version.matches(mv.ERROR_CODES):
        error["code"] = code or error_codes.UNDEFINED
    if request_id:
        error["request_id"] = request_id
    if extra:
        error.update(extra)
    return {"errors": [error]}


# --- the error body's media type -----------------------------------------------
# Upstream renders errors with webob, which picks text/html or application/json
# from the Accept header (in that order of preference on equal quality) and
# falls back to text/plain; a request without Accept, or with exactly "*/*",
# is treated as asking for JSON.
ERROR_OFFERS = ("text/html", "application/json")


def _accept_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    return ranges


def _quality(offer: str, ranges: list[tuple[str, float]]) -> float:
    """The quality of the most specific range matching ``offer`` (0 if none)."""
    kind = offer.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for media, quality in ranges:
        specificity = {offer: 2, f"{kind}/*": 1, "*/*": 0}.get(media, -1)
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def error_media_type(accept: str | None) -> str:
    if not accept or accept == "*/*":
        return "application/json"
    ranges = _accept_ranges(accept)
    scored = [
        (q, -i, offer) for i, offer in enumerate(ERROR_OFFERS) if (q := _quality(offer, ranges)) > 0
    ]
    return max(scored)[2] if scored else "text/plain"


def text_error_body(status: int, message: str, media_type: str) -> bytes:
    """An error as webob renders it for HTML or plain-text clients."""
    try:
        title = f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        title = str(status)
    explanation = EXPLANATIONS.get(status, "")
    if media_type == "text/html":
        return (
            f"<html>\n <head>\n  <title>{title}</title>\n </head>\n <body>\n"
            f"  <h1>{title}</h1>\n  {explanation}<br /><br />\n{html.escape(message)}\n\n"
            " </body>\n</html>"
        ).encode()
    return f"{title}\n\n{explanation}\n\n{message}\n\n".encode()
