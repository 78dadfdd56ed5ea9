"""Schemathesis over every operation of the OpenAPI document, in process (no socket).

For the latest microversion and for 1.0, each operation gets up to
``EXAMPLES`` generated requests (``ALLOTMENT_SCHEMATHESIS_EXAMPLES``, default
30, to keep CI short; raise it for a longer hunt by hand). Half of them aim
at existing entities (a seeded provider with inventory, a custom class and
trait, a consumer with allocations) so bodies reach the handlers' logic
rather than stopping at a 404. Every answer must pass schemathesis's
``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance`` and ``response_schema_conformance``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from allotment.app import make_app
from allotment.config import Settings
from allotment.http import microversion as mv
from allotment.openapi import document
from tests.inprocess import call

EXAMPLES = int(os.environ.get("ALLOTMENT_SCHEMATHESIS_EXAMPLES", "30"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
VERSIONS = (mv.MAX_VERSION, mv.MIN_VERSION)
PROVIDER = "5eed0000-0000-4000-8000-000000000001"
CONSUMER = "5eed0000-0000-4000-8000-0000000000c1"
# Path parameter values naming what ``_seed`` creates.
SEEDED = {
    "uuid": PROVIDER,
    "consumer_uuid": CONSUMER,
    "resource_class": "VCPU",
}
SEEDED_NAME = {"resource_classes": "CUSTOM_SEEDED", "traits": "CUSTOM_SEEDED"}


def _operations(version: mv.Version) -> list[tuple[mv.Version, str, str]]:
    paths = document(version)["paths"]
    return [
        (version, method.upper(), template)
        for template, item in paths.items()
        for method in item
        if method != "parameters"
    ]


CASES = [case for version in VERSIONS for case in _operations(version)]


def _call(app: Any, method: str, path: str, body: Any = None) -> int:
    """The status of one request at the latest microversion."""
    return call(app, method, path, body, version="latest")[0]


def _seed(app: Any) -> None:
    """A provider with inventory and a consumer's allocation, a custom class and trait."""
    _call(app, "POST", "/resource_providers", {"name": "seeded", "uuid": PROVIDER})
    _call(app, "PUT", "/resource_classes/CUSTOM_SEEDED")
    _call(app, "PUT", "/traits/CUSTOM_SEEDED")
    inventories = {"VCPU": {"total": 64}, "MEMORY_MB": {"total": 65536}}
    _call(app, "PUT", f"/resource_providers/{PROVIDER}/inventories", None)
    generation = 0
    for _ in range(3):  # the generation may have moved: read it, write with it
        status = _call(
            app,
            "PUT",
            f"/resource_providers/{PROVIDER}/inventories",
            {"resource_provider_generation": generation, "inventories": inventories},
        )
        if status == 200:
            break
        generation += 1
    _call(
        app,
        "PUT",
        f"/allocations/{CONSUMER}",
        {
            "allocations": {PROVIDER: {"resources": {"VCPU": 1}}},
            "project_id": "p",
            "user_id": "u",
            "consumer_generation": None,
            "consumer_type": "INSTANCE",
        },
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "placement.db"
    return make_app(Settings(database_url=f"sqlite:///{path}", access_log=False))


_SCHEMAS: dict[mv.Version, Any] = {}


def _operation(app: Any, version: mv.Version, method: str, template: str) -> Any:
    if version not in _SCHEMAS:
        _SCHEMAS[version] = schemathesis.openapi.from_dict(document(version))
    schema = _SCHEMAS[version]
    schema.app = app
    return schema[template][method]


def _aim_at_seeded(case: Any, template: str) -> None:
    for name in case.path_parameters or {}:
        if name == "name":
            case.path_parameters[name] = SEEDED_NAME[template.split("/")[1]]
        elif name in SEEDED:
            case.path_parameters[name] = SEEDED[name]


@pytest.mark.parametrize(
    ("version", "method", "template"),
    CASES,
    ids=[f"{version}-{method}-{template}" for version, method, template in CASES],
)
def test_operation_conforms(app: Any, version: mv.Version, method: str, template: str) -> None:
    operation = _operation(app, version, method, template)
    _seed(app)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), seeded=st.booleans())
    def check(case: Any, seeded: bool) -> None:
        if seeded:
            _aim_at_seeded(case, template)
        case.call_and_validate(headers={"x-auth-token": "admin"}, checks=CHECKS)

    check()


# --- what the runs found, each kept as a regression test --------------------------


def test_replace_inventories_with_a_null_record_under_a_bad_key_is_a_400(app: Any) -> None:
    """Found by schemathesis: ``{"inventories": {"": null}}`` was a 500 (fixed with
    the hostile-input work: records under keys outside the pattern are validated)."""
    _seed(app)
    body = {"inventories": {"": None}, "resource_provider_generation": 405}
    assert _call(app, "PUT", f"/resource_providers/{PROVIDER}/inventories", body) == 400
