"""CORS: only with [cors] allowed_origin; preflights answered; others untouched."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from allotment.app import make_app
from allotment.config import Settings
from allotment.store import schema
from allotment.store.engine import Database

ORIGIN = "https://dashboard.example.org"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """CORS does not depend on the backend: one SQLite database for the module."""
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('cors')}/cors.sqlite")
    schema.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(database_url=db.url.render_as_string(), access_log=False)


def client_for(db: Database, settings: Settings) -> httpx.Client:
    app = make_app(settings, db=db, prepare=False)
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://placement")


@pytest.fixture
def cors_client(db: Database, settings: Settings) -> Iterator[httpx.Client]:
    with client_for(db, settings.replace(cors_allowed_origin=(ORIGIN,))) as client:
        yield client


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def test_non_cors_request_is_untouched(db, settings, cors_client):
    with client_for(db, settings) as plain:
        expected = plain.get("/", headers={"openstack-api-version": "placement 1.0"})
    response = cors_client.get("/", headers={"openstack-api-version": "placement 1.0"})
    assert response.status_code == 200
    assert cors_headers(response) == {}
    assert response.headers["vary"] == "openstack-api-version"
    assert response.content == expected.content
    assert sorted(response.headers.keys()) == sorted(expected.headers.keys())


def test_actual_request_from_allowed_origin_gets_headers(cors_client):
    response = cors_client.get("/", headers={"origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    exposed = response.headers["access-control-expose-headers"].split(",")
    assert "OpenStack-API-Version" in exposed and "X-Openstack-Request-Id" in exposed
    assert response.headers["vary"] == "openstack-api-version,Origin"


def test_errors_carry_cors_headers_too(cors_client):
    # A browser must be able to read a 401/403 to show it.
    response = cors_client.get("/resource_providers", headers={"origin": ORIGIN})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_actual_request_from_other_origin_gets_no_headers(cors_client):
    response = cors_client.get("/", headers={"origin": "https://evil.example.com"})
    assert response.status_code == 200
    assert cors_headers(response) == {}


def test_preflight_is_answered_without_a_token(cors_client):
    response = cors_client.options(
        "/resource_providers",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "X-Auth-Token, OpenStack-API-Version, Content-Type",
        },
    )
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-methods"] == "POST"
    assert response.headers["access-control-allow-headers"] == (
        "X-Auth-Token,OpenStack-API-Version,Content-Type"
    )
    assert response.headers["access-control-max-age"] == "3600"
    assert response.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example.com", "access-control-request-method": "GET"},
        {"origin": ORIGIN, "access-control-request-method": "TRACE"},
        {
            "origin": ORIGIN,
            "access-control-request-method": "GET",
            "access-control-request-headers": "X-Not-Allowed",
        },
        {"origin": ORIGIN},
    ],
)
def test_refused_preflight_has_no_allow_headers(cors_client, headers):
    response = cors_client.options("/resource_providers", headers=headers)
    assert response.status_code == 200
    assert cors_headers(response) == {}


def test_options_without_origin_goes_to_the_api(cors_client):
    response = cors_client.options("/resource_providers", headers={"x-auth-token": "admin"})
    assert response.status_code == 405
    assert cors_headers(response) == {}


def test_wildcard_origin(db, settings):
    configured = settings.replace(cors_allowed_origin=("*",), cors_allow_credentials=False)
    with client_for(db, configured) as client:
        response = client.get("/", headers={"origin": "https://any.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


def test_configured_lists_are_used(db, settings):
    configured = settings.replace(
        cors_allowed_origin=("https://a.example", ORIGIN),
        cors_allow_methods=("GET",),
        cors_allow_headers=("X-Custom",),
        cors_expose_headers=("X-One", "X-Two"),
        cors_max_age=0,
    )
    with client_for(db, configured) as client:
        ok = client.options(
            "/",
            headers={
                "origin": ORIGIN,
                "access-control-request-method": "GET",
                "access-control-request-headers": "x-custom",
            },
        )
        refused = client.options(
            "/", headers={"origin": ORIGIN, "access-control-request-method": "PUT"}
        )
        actual = client.get("/", headers={"origin": "https://a.example"})
    assert ok.headers["access-control-allow-headers"] == "x-custom"
    assert "access-control-max-age" not in ok.headers
    assert cors_headers(refused) == {}
    assert actual.headers["access-control-expose-headers"] == "X-One,X-Two"


def test_no_middleware_without_allowed_origin(db, settings):
    with client_for(db, settings) as client:
        preflight = client.options(
            "/resource_providers",
            headers={
                "origin": ORIGIN,
                "access-control-request-method": "GET",
                "x-auth-token": "admin",
            },
        )
        actual = client.get("/", headers={"origin": ORIGIN})
    assert preflight.status_code == 405  # the API's own answer
    assert cors_headers(preflight) == {} and cors_headers(actual) == {}


def test_cors_options_from_a_config_file(tmp_path):
    from allotment import config

    conf = tmp_path / "placement.conf"
    conf.write_text(
        "[cors]\nallowed_origin = https://a.example, https://b.example\n"
        "allow_methods = GET,PUT\nmax_age = 60\n"
    )
    settings = config.load([str(conf)], environ={})
    assert settings.cors_allowed_origin == ("https://a.example", "https://b.example")
    assert settings.cors_allow_methods == ("GET", "PUT")
    assert settings.cors_max_age == 60
