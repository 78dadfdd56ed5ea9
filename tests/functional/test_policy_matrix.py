"""Every route's policy, for every kind of caller, under both default rule sets.

The route table drives the matrix: each endpoint is called (at the latest
microversion, through noauth2) as admin, service, a reader of the project
the request is about, a reader of another project, a member and a user
without roles. The assertion is only 403 versus not 403, which is decided
before any handler runs.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from allotment.app import make_app
from allotment.config import Settings
from allotment.http import routes
from allotment.store.engine import Database

PROJECT = "11111111-1111-4111-8111-111111111111"
OTHER = "33333333-3333-4333-8333-333333333333"
PARAMS = {
    "uuid": "44444444-4444-4444-8444-444444444444",
    "consumer_uuid": "55555555-5555-4555-8555-555555555555",
    "resource_class": "CUSTOM_MATRIX",
    "name": "CUSTOM_MATRIX",
}
# persona -> (token, X-Roles or None)
PERSONAS: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "service": (f"nova:{PROJECT}", "service"),
    "own_reader": (f"reader:{PROJECT}", "reader"),
    "other_reader": (f"reader:{OTHER}", "reader"),
    "member": (f"member:{PROJECT}", "member"),
    "nobody": (f"nobody:{PROJECT}", ""),
}


def expected_allowed(policy: str, persona: str, new_defaults: bool) -> bool:
    """Upstream's rules, written out by hand (the /usages target is PROJECT)."""
    if persona == "admin" and not new_defaults:
        return True
    if policy == "placement:reshaper:reshape":
        return persona == "service"
    if policy == "placement:allocation_candidates:explain":
        return persona == "admin"  # an allotment extension (rule:admin_api)
    if policy == "placement:usages":
        return persona in ("admin", "service", "own_reader")
    return persona in ("admin", "service")


def endpoints() -> Iterator[tuple[str, str, str]]:
    for route in routes.ROUTES:
        for method, endpoint in sorted(route.methods.items()):
            if endpoint.policy:
                path = route.template.format(**PARAMS)
                yield endpoint.policy, method, path


def call(app: Any, method: str, path: str, token: str, roles: str | None) -> int:
    query = f"project_id={PROJECT}" if path == "/usages" else ""
    body = b"{}" if method in ("PUT", "POST") else b""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "placement",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_X_AUTH_TOKEN": token,
        "HTTP_OPENSTACK_API_VERSION": "placement latest",
    }
    if roles is not None:
        environ["HTTP_X_ROLES"] = roles
    captured: dict[str, str] = {}

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        captured["status"] = status

    b"".join(app(environ, start_response))
    return int(captured["status"].split()[0])


def test_matrix_covers_every_policy() -> None:
    from allotment.http.policy import API_RULES

    assert {policy for policy, _, _ in endpoints()} == {rule.name for rule in API_RULES}


@pytest.mark.parametrize("new_defaults", [True, False], ids=["new-defaults", "legacy-defaults"])
def test_policy_matrix(db: Database, settings: Settings, new_defaults: bool) -> None:
    app = make_app(settings.replace(enforce_new_defaults=new_defaults), db=db, prepare=False)
    wrong = []
    for policy, method, path in endpoints():
        for persona, (token, roles) in PERSONAS.items():
            status = call(app, method, path, token, roles)
            allowed = expected_allowed(policy, persona, new_defaults)
            if (status == 403) == allowed or status == 500:
                wrong.append(f"{persona} {method} {path} ({policy}): {status}")
    assert not wrong, "\n".join(wrong)
