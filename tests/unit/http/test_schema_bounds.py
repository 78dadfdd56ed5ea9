"""Every number a body schema accepts fits the database columns, at every microversion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from allotment.http import microversion as mv
from allotment.http.schemas import (
    aggregate,
    allocation,
    inventory,
    reshaper,
    resource_class,
    resource_provider,
    trait,
)
from allotment.http.validation import MAX_INT, MAX_RATIO


def _schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for minor, _ in mv.VERSIONS:
        version = mv.Version(1, minor)
        yield f"provider create {version}", resource_provider.create_schema(version)
        yield f"provider update {version}", resource_provider.update_schema(version)
        yield f"aggregates {version}", aggregate.put_aggregates(version)
        yield f"allocation put {version}", allocation.put_schema(version)
        yield f"allocation post {version}", allocation.post_schema(version)
        yield f"reshaper {version}", reshaper.reshape_schema(version)
    yield "inventory create", inventory.CREATE
    yield "inventory update", inventory.UPDATE_ONE
    yield "inventories replace", inventory.REPLACE_ALL
    yield "traits", trait.SET_PROVIDER_TRAITS
    yield "resource class", resource_class.RESOURCE_CLASS_BODY


def _numbers(schema: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        kinds = schema.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "integer" in kinds or "number" in kinds:
            yield where, schema
        for key, value in schema.items():
            yield from _numbers(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _numbers(value, f"{where}/{index}")


@pytest.mark.parametrize(("name", "schema"), list(_schemas()), ids=lambda v: str(v)[:40])
def test_every_number_is_bounded_to_its_column(name: str, schema: dict[str, Any]) -> None:
    for where, number in _numbers(schema):
        kinds = number["type"] if isinstance(number["type"], list) else [number["type"]]
        bound = MAX_INT if "integer" in kinds else MAX_RATIO
        assert "minimum" in number and "maximum" in number, (name, where)
        assert -bound - 1 <= number["minimum"] <= number["maximum"] <= bound, (name, where)
