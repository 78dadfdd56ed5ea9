"""The app behind real keystonemiddleware: valid tokens pass, invalid ones get 401.

Two ways of faking the identity service: keystonemiddleware's own
``AuthTokenFixture`` (which replaces token validation), and a small stub
Keystone v3 on a loopback port, which keystonemiddleware logs in to with
the service user configured in ``[keystone_authtoken]`` and asks to
validate each token, exactly as it would talk to a real Keystone.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from keystoneauth1 import fixture as ksa_fixture
from keystonemiddleware import fixture as ksm_fixture

from allotment import config
from allotment.app import make_app
from allotment.config import ConfigError, Settings
from allotment.http import keystone
from allotment.http import microversion as mv
from allotment.store import schema
from allotment.store.engine import Database

PROJECT = "9b1c7f0e2d3a4b5c8d9e0f1a2b3c4d5e"
LATEST = {"openstack-api-version": "placement latest"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """Authentication does not depend on the backend: one SQLite database."""
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('ks')}/ks.sqlite")
    schema.upgrade(database)
    yield database
    database.dispose()


def keystone_settings(db: Database, section: dict[str, str], **extra: Any) -> Settings:
    return Settings(
        database_url=db.url.render_as_string(),
        access_log=False,
        auth_strategy="keystone",
        sections={"keystone_authtoken": section},
        **extra,
    )


def client(app: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://placement")


# ------------------------------------------------- keystonemiddleware's fixture


def add_token(fixture: ksm_fixture.AuthTokenFixture, user_id: str, roles: list[str]) -> str:
    token_id = uuid.uuid4().hex
    fixture.add_token_data(token_id=token_id, user_id=user_id, project_id=PROJECT, role_list=roles)
    return token_id


@pytest.fixture
def token_fixture() -> Iterator[ksm_fixture.AuthTokenFixture]:
    with ksm_fixture.AuthTokenFixture() as fixture:
        yield fixture


@pytest.fixture
def fixture_client(db, token_fixture) -> Iterator[httpx.Client]:
    settings = keystone_settings(
        db,
        {
            "www_authenticate_uri": "http://keystone.test/identity",
            "service_token_roles_required": "true",
        },
    )
    with client(make_app(settings, db=db, prepare=False)) as c:
        yield c


def test_valid_admin_token_passes(fixture_client, token_fixture):
    token = add_token(token_fixture, "u-admin", ["admin"])
    response = fixture_client.get("/resource_providers", headers={"x-auth-token": token, **LATEST})
    assert response.status_code == 200
    assert response.json() == {"resource_providers": []}


def test_valid_token_without_the_role_is_forbidden(fixture_client, token_fixture):
    token = add_token(token_fixture, "u-reader", ["reader"])
    response = fixture_client.get("/resource_providers", headers={"x-auth-token": token, **LATEST})
    assert response.status_code == 403
    own = fixture_client.get(
        f"/usages?project_id={PROJECT}", headers={"x-auth-token": token, **LATEST}
    )
    assert own.status_code == 200  # the token's project reaches the policy target


def test_invalid_token_is_401_with_keystone_uri(fixture_client):
    response = fixture_client.get("/resource_providers", headers={"x-auth-token": "bogus"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Keystone uri="http://keystone.test/identity"'
    assert response.json()["error"]["code"] == 401


def test_missing_token_is_401(fixture_client):
    assert fixture_client.get("/resource_providers").status_code == 401


def test_root_and_health_need_no_token(fixture_client):
    assert fixture_client.get("/").status_code == 200
    assert fixture_client.get("/healthcheck").status_code == 200


def test_identity_headers_from_the_client_are_not_trusted(fixture_client, token_fixture):
    token = add_token(token_fixture, "u-member", ["member"])
    response = fixture_client.get(
        "/resource_providers",
        headers={"x-auth-token": token, "x-roles": "admin", "x-user-id": "admin", **LATEST},
    )
    assert response.status_code == 403


# ------------------------------------------------- a stub Keystone on loopback

SERVICE_USER = "placement"
SERVICE_PASSWORD = "s3cret"


class StubKeystone:
    """Keystone v3 discovery, password login and token validation, in memory."""

    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.validations = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubKeystone:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def issue(
        self,
        roles: list[str],
        project_id: str = PROJECT,
        user_id: str | None = None,
        service_catalog: bool = False,
    ) -> str:
        token = ksa_fixture.V3Token(
            user_id=user_id or uuid.uuid4().hex,
            user_domain_id="default",
            project_id=project_id,
            project_domain_id="default",
        )
        for role in roles:
            token.add_role(name=role)
        if service_catalog:
            service = token.add_service("identity")
            service.add_standard_endpoints(
                public=f"{self.url}/v3", internal=f"{self.url}/v3", admin=f"{self.url}/v3"
            )
        token_id = uuid.uuid4().hex
        self.tokens[token_id] = dict(token)
        return token_id

    def version(self) -> dict[str, Any]:
        return {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{self.url}/v3/"}],
            "media-types": [
                {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
            ],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path.rstrip("/")
                if path == "":
                    self._send(300, {"versions": {"values": [stub.version()]}})
                elif path == "/v3":
                    self._send(200, {"version": stub.version()})
                elif path.startswith("/v3/auth/tokens"):
                    self._validate()
                else:
                    self._send(404, {"error": {"code": 404}})

            def _validate(self) -> None:
                stub.validations += 1
                caller = stub.tokens.get(self.headers.get("X-Auth-Token", ""))
                if caller is None or "service" not in {r["name"] for r in caller["token"]["roles"]}:
                    self._send(401, {"error": {"code": 401, "title": "Unauthorized"}})
                    return
                subject = self.headers.get("X-Subject-Token", "")
                if subject not in stub.tokens:
                    self._send(404, {"error": {"code": 404, "title": "Not Found"}})
                    return
                self._send(200, stub.tokens[subject], {"X-Subject-Token": subject})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v3/auth/tokens":
                    self._send(404, {"error": {"code": 404}})
                    return
                user = body["auth"]["identity"]["password"]["user"]
                if (user.get("name"), user.get("password")) != (SERVICE_USER, SERVICE_PASSWORD):
                    self._send(401, {"error": {"code": 401, "title": "Unauthorized"}})
                    return
                token_id = stub.issue(
                    ["service"], user_id="placement-service", service_catalog=True
                )
                self._send(201, stub.tokens[token_id], {"X-Subject-Token": token_id})

        return Handler


@pytest.fixture
def stub_keystone() -> Iterator[StubKeystone]:
    with StubKeystone() as stub:
        yield stub


def authtoken_section(stub: StubKeystone, password: str = SERVICE_PASSWORD) -> str:
    return (
        "[keystone_authtoken]\n"
        f"www_authenticate_uri = {stub.url}\n"
        f"auth_url = {stub.url}\n"
        "auth_type = password\n"
        "project_domain_name = Default\n"
        "user_domain_name = Default\n"
        "project_name = service\n"
        f"username = {SERVICE_USER}\n"
        f"password = {password}\n"
        "service_token_roles_required = true\n"
        "http_connect_timeout = 5\n"
    )


def settings_from_file(tmp_path, db: Database, stub: StubKeystone, **kwargs: Any) -> Settings:
    conf = tmp_path / "placement.conf"
    conf.write_text(
        f"[placement_database]\nconnection = {db.url.render_as_string()}\n"
        "[allotment]\naccess_log = false\n" + authtoken_section(stub, **kwargs)
    )
    return config.load([str(conf)], environ={})


def test_stub_keystone_validates_tokens(tmp_path, db, stub_keystone):
    settings = settings_from_file(tmp_path, db, stub_keystone)
    assert settings.auth_strategy == "keystone"  # the upstream default for a config file
    admin = stub_keystone.issue(["admin", "member", "reader"])
    reader = stub_keystone.issue(["reader"])
    with client(make_app(settings, db=db, prepare=False)) as c:
        ok = c.get("/resource_providers", headers={"x-auth-token": admin, **LATEST})
        assert ok.status_code == 200
        assert ok.headers["openstack-api-version"] == f"placement {mv.MAX_VERSION}"
        assert (
            c.get("/resource_providers", headers={"x-auth-token": reader, **LATEST}).status_code
            == 403
        )
        bad = c.get("/resource_providers", headers={"x-auth-token": "not-a-token", **LATEST})
        assert bad.status_code == 401
        assert bad.headers["www-authenticate"] == f'Keystone uri="{stub_keystone.url}"'
        assert c.get("/resource_providers").status_code == 401
        assert c.get("/").status_code == 200
    assert stub_keystone.validations >= 3


def test_wrong_service_password_means_no_token_validates(tmp_path, db, stub_keystone):
    settings = settings_from_file(tmp_path, db, stub_keystone, password="wrong")
    admin = stub_keystone.issue(["admin"])
    with client(make_app(settings, db=db, prepare=False)) as c:
        response = c.get("/resource_providers", headers={"x-auth-token": admin, **LATEST})
    # keystonemiddleware cannot authenticate itself: the service is unavailable,
    # never open.
    assert response.status_code == 503


# ------------------------------------------------- configuration plumbing


def test_section_options_reach_keystonemiddleware():
    conf = keystone.build_conf(
        {
            "keystone_authtoken": {
                "www_authenticate_uri": "http://k",
                "auth_section": "svc",
                "service_token_roles": "service,admin",
                "debug": "true",
            },
            "svc": {
                "auth_type": "password",
                "auth_url": "http://k/v3",
                "username": "p",
                "password": "x",
            },
        }
    )
    assert conf.keystone_authtoken.www_authenticate_uri == "http://k"
    assert conf.keystone_authtoken.service_token_roles == ["service", "admin"]
    assert conf.svc.auth_type == "password"
    assert conf.svc.username == "p"


def test_unknown_auth_plugin_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown plugin 'nope'"):
        keystone.build_conf({"keystone_authtoken": {"auth_type": "nope"}})


def test_bad_option_value_is_a_config_error():
    with pytest.raises(ConfigError, match=r"\[keystone_authtoken\] http_connect_timeout"):
        keystone.build_conf({"keystone_authtoken": {"http_connect_timeout": "soon"}})


def test_memcached_servers_example_works_with_the_keystone_extra(tmp_path, db, stub_keystone):
    """The keystone extra brings python-memcached: with memcached_servers set (here a
    port nobody listens on) tokens still validate; it used to be a 500 per request."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = tmp_path / "placement.conf"
    conf.write_text(
        f"[placement_database]\nconnection = {db.url.render_as_string()}\n"
        "[allotment]\naccess_log = false\n"
        + authtoken_section(stub_keystone)
        + f"memcached_servers = 127.0.0.1:{port}\n"
    )
    settings = config.load([str(conf)], environ={})
    admin = stub_keystone.issue(["admin"])
    with client(make_app(settings, db=db, prepare=False)) as c:
        for _ in range(2):
            response = c.get("/resource_providers", headers={"x-auth-token": admin, **LATEST})
            assert response.status_code == 200
