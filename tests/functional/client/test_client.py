"""PlacementClient's root, errors and microversions against the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest

from allotment.client import (
    Forbidden,
    NotAcceptable,
    NotFound,
    PlacementClient,
)
from allotment.http import microversion as mv
from allotment.testing import PlacementService

# -- root ---------------------------------------------------------------------------


def test_versions(client: PlacementClient) -> None:
    assert client.get_versions()["versions"][0]["min_version"] == "1.0"
    assert client.max_microversion() == str(mv.MAX_VERSION)


# -- protocol -----------------------------------------------------------------------


def test_errors_carry_status_code_detail_and_request_id(client: PlacementClient) -> None:
    with pytest.raises(NotFound) as info:
        client.get_inventories(str(uuid.uuid4()))
    error = info.value
    assert error.status == 404 and error.code == "placement.undefined_code"
    assert error.title == "Not Found" and error.detail
    assert error.request_id and error.request_id.startswith("req-")
    assert error.method == "GET" and "/inventories" in (error.url or "")
    assert "404" in str(error)
    with pytest.raises(NotFound) as old:  # no error codes below 1.23
        client.get_provider(str(uuid.uuid4()), microversion="1.22")
    assert old.value.code is None


def test_microversion_out_of_range(client: PlacementClient) -> None:
    with pytest.raises(NotAcceptable):
        client.list_providers(microversion="1.99")


def test_microversion_per_client(service: PlacementService) -> None:
    with service.client(microversion="1.5") as old:
        assert old.version() == (1, 5)
        with pytest.raises(NotFound):  # /traits starts at 1.6
            old.list_traits()
        assert old.list_traits(microversion="1.6")


def test_policy_denied_is_forbidden(service: PlacementService) -> None:
    with service.client() as anonymous:
        anonymous.token = "someone:project-1"
        with pytest.raises(Forbidden) as info:
            anonymous.list_providers()
        assert info.value.status == 403
