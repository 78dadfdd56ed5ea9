"""The ways a client connects: keystoneauth session or adapter, an endpoint over a socket."""

from __future__ import annotations

import pytest

from allotment.client import NotFound, PlacementClient, ProviderSpec
from allotment.http import microversion as mv
from allotment.testing import PlacementService

CN1 = "11111111-1111-4111-8111-111111111111"


def _exercise(client: PlacementClient) -> None:
    made = client.ensure_provider_tree(ProviderSpec("cn1", uuid=CN1, inventories={"VCPU": 4}))
    assert made["cn1"].generation == 1
    assert client.get_inventories(CN1).inventories["VCPU"].total == 4
    with pytest.raises(NotFound) as info:
        client.get_inventory(CN1, "DISK_GB")
    assert info.value.code == "placement.undefined_code"


def test_keystoneauth_session(service: PlacementService) -> None:
    pytest.importorskip("keystoneauth1")
    from keystoneauth1 import session, token_endpoint

    ks = session.Session(auth=token_endpoint.Token(service.endpoint, service.token))
    with PlacementClient(session=ks) as client:
        _exercise(client)
        assert client.get_provider(CN1, microversion="1.13").root_provider_uuid is None


def test_keystoneauth_adapter(service: PlacementService) -> None:
    pytest.importorskip("keystoneauth1")
    with PlacementClient(session=service.keystoneauth_adapter(microversion=None)) as client:
        _exercise(client)


def test_endpoint_over_a_real_socket(service: PlacementService) -> None:
    assert service.url is not None
    with PlacementClient(service.url, token=service.token) as client:
        _exercise(client)
        assert client.max_microversion() == str(mv.MAX_VERSION)


def test_own_httpx_client_with_extra_headers(service: PlacementService) -> None:
    with service.httpx_client(microversion=None) as http:
        client = PlacementClient(
            http_client=http,
            token="admin",
            headers={"X-Openstack-Request-Id": "req-11111111-2222-3333-4444-555555555555"},
        )
        assert client.list_providers() == []
        client.close()
        assert not http.is_closed  # the caller owns a client it passed in
    with PlacementClient(service.url, token="admin") as owned:
        owned.list_providers()
    assert owned.transport.client.is_closed  # type: ignore[attr-defined]


def test_needs_a_way_to_connect() -> None:
    with pytest.raises(ValueError):
        PlacementClient()
