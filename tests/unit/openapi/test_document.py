"""The OpenAPI document: valid OpenAPI 3.1, and nothing in the code missing from it."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from allotment.http import error_codes
from allotment.http import microversion as mv
from allotment.http.routes import ROUTES
from allotment.openapi import document
from allotment.openapi.generate import error_statuses
from tests.unit.openapi.reach import reachable_errors, reads_query

VERSIONS = [mv.Version(1, minor) for minor, _ in mv.VERSIONS]


# openapi-spec-validator checks the document against the OpenAPI 3.1
# meta-schema and every schema in it; it takes seconds per document, so the
# versions where the shape changes most: the first and error codes here, the
# latest through ``allotment openapi`` in test_serving.py.
@pytest.mark.parametrize("version", [mv.MIN_VERSION, mv.ERROR_CODES], ids=str)
def test_document_validates_against_the_openapi_3_1_meta_schema(version: mv.Version) -> None:
    validate(document(version))


@pytest.mark.parametrize("version", VERSIONS, ids=str)
def test_every_route_and_method_is_documented(version: mv.Version) -> None:
    paths = document(version)["paths"]
    for route in ROUTES:
        for method, endpoint in route.methods.items():
            present = method.lower() in paths.get(route.template, {})
            assert present == (version >= endpoint.min_version), (method, route.template)
            if present:
                operation = paths[route.template][method.lower()]
                assert operation["operationId"] == endpoint.name
                assert operation["summary"], (method, route.template)


def test_operation_names_are_unique() -> None:
    names = [e.name for route in ROUTES for e in route.methods.values()]
    assert len(names) == len(set(names))


def _cases() -> list[tuple[str, str]]:
    return [(route.template, method) for route in ROUTES for method in route.methods]


@pytest.mark.parametrize(("template", "method"), _cases())
def test_every_error_the_code_can_raise_is_documented(template: str, method: str) -> None:
    route = next(r for r in ROUTES if r.template == template)
    endpoint = route.methods[method]
    documented = error_statuses(route, endpoint, mv.MAX_VERSION)
    for status, code in sorted(reachable_errors(endpoint.handler)):
        if status == 404 and "{" not in template:
            continue  # a lookup inside the handler of an entity not in the path
        assert status in documented, f"{method} {template} may answer {status}"
        assert code in documented[status], f"{method} {template} may answer {status} {code}"


def test_every_error_code_appears_in_the_document() -> None:
    text = str(document(mv.MAX_VERSION))
    for code in error_codes.ALL:
        assert code in text, code


def test_error_codes_are_only_listed_from_1_23() -> None:
    old = document(mv.Version(1, 22))["paths"]["/resource_providers"]["post"]["responses"]
    new = document(mv.ERROR_CODES)["paths"]["/resource_providers"]["post"]["responses"]
    assert "x-error-codes" not in old["409"]
    assert "placement.duplicate_name" in new["409"]["x-error-codes"]


@pytest.mark.parametrize(("template", "method"), _cases())
def test_an_endpoint_reading_the_query_documents_it(template: str, method: str) -> None:
    endpoint = next(r for r in ROUTES if r.template == template).methods[method]
    if reads_query(endpoint.handler):
        assert endpoint.query is not None, f"{method} {template} reads undocumented parameters"
