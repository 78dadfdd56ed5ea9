"""Every query parameter the code accepts is in the document, and only those.

For each operation with a query string and each microversion, one request
per candidate name: the names any document lists, request-group forms
(``resources1``, ``required_X``...) and every name the handler modules read.
A name the server does not refuse as unknown must be documented (by name
or by pattern) for that operation and microversion, and the reverse.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from allotment.app import make_app
from allotment.config import Settings
from allotment.http import microversion as mv
from allotment.http.routes import ROUTES
from allotment.openapi import document
from tests.inprocess import call
from tests.unit.openapi.reach import query_names

VERSIONS = [mv.Version(1, minor) for minor, _ in mv.VERSIONS]
# What each operation needs besides the parameter under test.
BASE = {
    "/allocation_candidates": "resources=VCPU:1",
    "/allocation_candidates/explain": "resources=VCPU:1",
    "/usages": "project_id=p",
}
# Values that pass any parameter's format, so only the name is judged.
VALUES = {
    "resources": "VCPU:1",
    "required": "HW_CPU_X86_AVX",
    "member_of": "in:5eed0000-0000-4000-8000-000000000001",
    "in_tree": "5eed0000-0000-4000-8000-000000000001",
    "uuid": "5eed0000-0000-4000-8000-000000000001",
    "limit": "1",
    "group_policy": "none",
    "associated": "true",
    "name": "in:CUSTOM_A",
    "root_required": "HW_CPU_X86_AVX",
    "same_subtree": "_A",
    "consumer_type": "all",
}
UNKNOWN = ("Additional properties are not allowed", "does not match any of the regexes")


def _candidate_names() -> set[str]:
    names = {"bogus", "resources1", "required1", "member_of1", "in_tree1", "resources_A"}
    for version in VERSIONS:
        for item in document(version)["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict):
                    names |= {
                        p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
                    }
    for route in ROUTES:
        for endpoint in route.methods.values():
            names |= query_names(importlib.import_module(endpoint.handler.__module__))
    return names


NAMES = sorted(_candidate_names())


def _documented(operation: dict[str, Any], name: str) -> bool:
    params = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    patterns = operation.get("x-parameter-patterns", [])
    return name in params or any(re.match(p, name) for p in patterns)


def _value(name: str) -> str:
    base = name.rstrip("0123456789").removesuffix("_A")
    return VALUES.get(base, "x")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("queries") / "placement.db"
    return make_app(Settings(database_url=f"sqlite:///{path}", access_log=False))


QUERY_ROUTES = [
    (route.template, method)
    for route in ROUTES
    for method, endpoint in route.methods.items()
    if endpoint.query is not None
]


@pytest.mark.parametrize(("template", "method"), QUERY_ROUTES)
def test_accepted_query_parameters_are_documented(app: Any, template: str, method: str) -> None:
    wrong = []
    for version in VERSIONS:
        operation = document(version)["paths"].get(template, {}).get(method.lower())
        if operation is None:
            continue
        for name in NAMES:
            base = BASE.get(template, "")
            if base.startswith(f"{name}="):
                base = ""
            query = "&".join(q for q in (base, f"{name}={_value(name)}") if q)
            status, body, _ = call(app, method, f"{template}?{query}", version=str(version))
            detail = orjson.loads(body)["errors"][0]["detail"] if status >= 400 else ""
            accepted = not any(text in detail for text in UNKNOWN)
            if accepted != _documented(operation, name):
                wrong.append(f"{version} {name}: accepted={accepted} ({status} {detail[:80]})")
    assert not wrong, "\n".join(wrong)
