"""PlacementService: the real app reached through the intercept, httpx and a real socket.

The first three tests run on SQLite and PostgreSQL (the ``service`` fixture).
"""

from __future__ import annotations

import http.client
import json
import urllib.request
import uuid
from pathlib import Path

import httpx
import pytest
import requests
import urllib3

from allotment.config import ConfigError
from allotment.testing import PlacementService

RP_UUID = "6b7bc3d4-6f24-4a8f-9f76-0d2b6e3a6a01"


def _provider_round_trip(get, post) -> None:  # noqa: ANN001 - any HTTP library's verbs
    """Create a provider, read it back and list it: the checks every way in shares."""
    created = post("/resource_providers", {"name": "cn1", "uuid": RP_UUID})
    assert created[0] == 200, created
    assert created[1]["uuid"] == RP_UUID
    assert created[2].endswith(f"/placement/resource_providers/{RP_UUID}")
    status, body, _ = get(f"/resource_providers/{RP_UUID}")
    assert status == 200
    assert body["name"] == "cn1" and body["generation"] == 0
    # Links carry the mount prefix, like a deployment under /placement.
    assert {"rel": "self", "href": f"/placement/resource_providers/{RP_UUID}"} in body["links"]
    status, body, _ = get("/resource_providers")
    assert [rp["uuid"] for rp in body["resource_providers"]] == [RP_UUID]
    status, body, _ = get("/resource_providers/" + str(uuid.uuid4()))
    assert status == 404 and body["errors"][0]["code"] == "placement.undefined_code"


def test_requests_through_intercept(service: PlacementService) -> None:
    session = service.requests_session()

    def get(path):  # noqa: ANN001, ANN202
        r = session.get(service.endpoint + path)
        return r.status_code, r.json(), r.headers.get("location")

    def post(path, body):  # noqa: ANN001, ANN202
        r = session.post(service.endpoint + path, json=body)
        return r.status_code, r.json(), r.headers.get("location")

    _provider_round_trip(get, post)
    root = requests.get(service.endpoint)
    assert root.status_code == 200 and root.json()["versions"][0]["max_version"] == "1.39"


def test_httpx_client_in_process(service: PlacementService) -> None:
    with service.httpx_client() as client:

        def get(path):  # noqa: ANN001, ANN202
            r = client.get(path.lstrip("/"))
            return r.status_code, r.json(), r.headers.get("location")

        def post(path, body):  # noqa: ANN001, ANN202
            r = client.post(path.lstrip("/"), json=body)
            return r.status_code, r.json(), r.headers.get("location")

        _provider_round_trip(get, post)


def test_real_socket(service: PlacementService) -> None:
    assert service.url is not None and service.url.startswith("http://127.0.0.1:")
    with service.httpx_client(over_socket=True) as client:

        def get(path):  # noqa: ANN001, ANN202
            r = client.get(path.lstrip("/"))
            return r.status_code, r.json(), r.headers.get("location")

        def post(path, body):  # noqa: ANN001, ANN202
            r = client.post(path.lstrip("/"), json=body)
            return r.status_code, r.json(), r.headers.get("location")

        _provider_round_trip(get, post)
    # urllib.request is not intercepted: this really crosses the loopback socket.
    request = urllib.request.Request(service.url + "/resource_providers", headers=service.headers())
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["resource_providers"][0]["uuid"] == RP_UUID


def test_real_socket_serves_concurrent_requests(service: PlacementService) -> None:
    from concurrent.futures import ThreadPoolExecutor

    assert service.url is not None

    def create(n: int) -> int:
        return httpx.post(
            service.url + "/resource_providers",
            json={"name": f"rp{n}"},
            headers=service.headers(),
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(create, range(12))) == [200] * 12
    listed = httpx.get(service.url + "/resource_providers", headers=service.headers()).json()
    assert len(listed["resource_providers"]) == 12


def test_outside_the_mount_is_404(service: PlacementService) -> None:
    assert service.url is not None
    response = httpx.get(service.url.removesuffix("/placement") + "/resource_providers")
    assert response.status_code == 404


def test_http_client_and_urllib3_are_intercepted(service: PlacementService) -> None:
    conn = http.client.HTTPConnection(service.host, 80)
    conn.request(
        "GET", "/placement/traits?name=startswith:HW_CPU_X86_AVX", headers=service.headers()
    )
    response = conn.getresponse()
    assert response.status == 200
    assert "HW_CPU_X86_AVX2" in json.loads(response.read())["traits"]
    pool = urllib3.PoolManager()
    answer = pool.request(
        "GET", service.endpoint + "/resource_classes/VCPU", headers=service.headers()
    )
    assert answer.status == 200 and json.loads(answer.data)["name"] == "VCPU"


def test_keystoneauth_through_intercept(service: PlacementService) -> None:
    pytest.importorskip("keystoneauth1")
    adapter = service.keystoneauth_adapter(microversion="1.20")
    response = adapter.post("/resource_providers", json={"name": "ksa"})
    assert response.status_code == 200
    assert response.headers["openstack-api-version"] == "placement 1.20"
    listed = adapter.get("/resource_providers").json()["resource_providers"]
    assert [rp["name"] for rp in listed] == ["ksa"]


def test_reset_clears_everything_but_standard_data(service: PlacementService) -> None:
    session = service.requests_session()
    base = service.endpoint
    assert session.post(base + "/resource_providers", json={"name": "x"}).status_code == 200
    assert session.put(base + "/traits/CUSTOM_GOLD").status_code == 201
    assert session.put(base + "/resource_classes/CUSTOM_FPGA").status_code == 201
    service.reset()
    assert session.get(base + "/resource_providers").json() == {"resource_providers": []}
    assert session.get(base + "/traits/CUSTOM_GOLD").status_code == 404
    assert session.get(base + "/resource_classes/CUSTOM_FPGA").status_code == 404
    assert session.get(base + "/traits/HW_CPU_X86_AVX2").status_code == 204
    assert session.get(base + "/resource_classes/VCPU").status_code == 200


def test_default_datastore_is_private_and_removed_on_stop() -> None:
    with PlacementService() as one, PlacementService() as two:
        assert one.endpoint != two.endpoint
        assert one.database is not None and one.database.backend == "sqlite"
        path = Path(one.database.url.database or "")
        assert path.exists() and path != Path(two.database.url.database or "")  # type: ignore[union-attr]
        s1, s2 = one.requests_session(), two.requests_session()
        assert s1.post(one.endpoint + "/resource_providers", json={"name": "a"}).ok
        assert s2.get(two.endpoint + "/resource_providers").json()["resource_providers"] == []
    assert not path.exists()


def test_intercepts_are_independent_and_removed() -> None:
    outer = PlacementService().start()
    try:
        with PlacementService() as inner:
            assert requests.get(inner.endpoint).status_code == 200
        # Stopping one service leaves the other intercepted.
        assert requests.get(outer.endpoint).status_code == 200
        with pytest.raises(requests.ConnectionError):
            requests.get(inner.endpoint, timeout=2)
    finally:
        outer.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(outer.endpoint, timeout=2)


def test_without_intercept_only_httpx_reaches_the_app() -> None:
    with PlacementService(use_intercept=False) as service:
        with pytest.raises(requests.ConnectionError):
            requests.get(service.endpoint, timeout=2)
        with service.httpx_client() as client:
            assert client.get("").status_code == 200


def test_settings_overrides_reach_the_app() -> None:
    options = {
        "max_allocation_candidates": 7,
        "allocation_candidates_generation_strategy": "breadth-first",
    }
    with PlacementService(settings=options) as service:
        assert service.settings is not None
        assert service.settings.max_allocation_candidates == 7
        assert service.app.state.settings.allocation_candidates_generation_strategy == (
            "breadth-first"
        )
        assert service.settings.auth_strategy == "noauth2"
        assert service.settings.enforce_new_defaults is False


def test_bad_settings_are_refused() -> None:
    service = PlacementService(settings={"allocation_candidates_generation_strategy": "x"})
    with pytest.raises(ConfigError):
        service.start()
    assert service.database is None and service.app is None


def test_token_selects_the_caller() -> None:
    with PlacementService(token="alice:project-1") as service:
        session = service.requests_session()
        denied = session.get(service.endpoint + "/resource_providers")
        assert denied.status_code == 403
        assert requests.get(service.endpoint + "/resource_providers").status_code == 401


def test_prefix_can_be_changed() -> None:
    with PlacementService(prefix="", real_server=True) as service:
        assert service.endpoint == f"http://{service.host}"
        assert service.url is not None and not service.url.endswith("/placement")
        assert requests.get(service.endpoint + "/").status_code == 200
        assert httpx.get(service.url + "/").status_code == 200


def test_httpx_over_socket_needs_the_server() -> None:
    with PlacementService() as service, pytest.raises(RuntimeError):
        service.httpx_client(over_socket=True)


def test_keystone_auth_mode() -> None:
    pytest.importorskip("keystonemiddleware")
    authtoken = {"www_authenticate_uri": "http://keystone.example/identity"}
    with PlacementService(
        auth_strategy="keystone", settings={"sections": {"keystone_authtoken": authtoken}}
    ) as service:
        assert requests.get(service.endpoint).status_code == 200  # the root is open
        denied = requests.get(service.endpoint + "/resource_providers")
        assert denied.status_code == 401
        assert "keystone.example" in denied.headers["www-authenticate"]


def test_policy_overrides() -> None:
    rules = {"placement:resource_providers:list": "role:reader", "placement:reshaper:reshape": "!"}
    with PlacementService(token="bob:project-1", policy=rules) as service:
        session = service.requests_session()
        session.headers["X-Roles"] = "reader"
        assert session.get(service.endpoint + "/resource_providers").status_code == 200
        assert (
            session.post(service.endpoint + "/resource_providers", json={"name": "x"}).status_code
            == 403
        )
        admin = requests.post(
            service.endpoint + "/reshaper",
            json={},
            headers={"x-auth-token": "admin", "openstack-api-version": "placement 1.39"},
        )
        assert admin.status_code == 403
