"""Error responses become the right exception class, with their fields."""

from __future__ import annotations

import orjson
import pytest

from allotment.client import errors


def _body(status: int, code: str | None = None) -> bytes:
    error = {"status": status, "title": "T", "detail": "D", "request_id": "req-1"}
    if code:
        error["code"] = code
    return orjson.dumps({"errors": [error]})


@pytest.mark.parametrize(("code", "cls"), sorted(errors.BY_CODE.items()))
def test_code_picks_the_class(code: str, cls: type[errors.PlacementError]) -> None:
    status = 400 if issubclass(cls, errors.BadRequest) else 409
    error = errors.from_response(status, _body(status, code), {})
    assert type(error) is cls
    assert (error.status, error.code, error.detail, error.request_id, error.title) == (
        status,
        code,
        "D",
        "req-1",
        "T",
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (401, errors.Unauthorized),
        (403, errors.Forbidden),
        (404, errors.NotFound),
        (405, errors.MethodNotAllowed),
        (406, errors.NotAcceptable),
        (409, errors.Conflict),
        (415, errors.UnsupportedMediaType),
        (500, errors.ServerError),
        (503, errors.ServerError),
        (418, errors.PlacementError),
    ],
)
def test_status_picks_the_class_without_a_specific_code(
    status: int, cls: type[errors.PlacementError]
) -> None:
    assert type(errors.from_response(status, _body(status, "placement.undefined_code"), {})) is cls
    assert type(errors.from_response(status, _body(status), {})) is cls


def test_code_classes_are_status_classes() -> None:
    assert issubclass(errors.ConcurrentUpdate, errors.Conflict)
    assert issubclass(errors.InventoryInUse, errors.Conflict)
    assert issubclass(errors.ResourceProviderNotFound, errors.BadRequest)
    assert issubclass(errors.MissingQueryValue, errors.BadRequest)


def test_non_placement_bodies() -> None:
    plain = errors.from_response(
        502, b"<html>bad gateway</html>", {"x-openstack-request-id": "req-9"}, "GET", "http://x/"
    )
    assert type(plain) is errors.ServerError
    assert plain.detail == "<html>bad gateway</html>" and plain.request_id == "req-9"
    assert str(plain).startswith("GET http://x/: 502")
    message = errors.from_response(401, b'{"message": "no token", "code": 401}', {})
    assert type(message) is errors.Unauthorized and message.detail == "no token"
    assert message.code is None
    empty = errors.from_response(404, b"", {})
    assert type(empty) is errors.NotFound and empty.detail == ""
