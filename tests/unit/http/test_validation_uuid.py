"""The "uuid" format of body schemas: placement's leniency, jsonschema's ranking."""

from __future__ import annotations

import pytest

from allotment.http import microversion as mv
from allotment.http import validation
from allotment.http.errors import HTTPError
from allotment.http.schemas import resource_provider as schemas

SCHEMA = {"type": "object", "properties": {"u": {"type": "string", "format": "uuid"}}}


@pytest.mark.parametrize(
    "value",
    [
        "7a7a7a7a-0000-4000-8000-000000000001",
        "7A7A7A7A00004000800000000000BEEF",
        "{7a7a7a7a-0000-4000-8000-000000000001}",
        "urn:uuid:7a7a7a7a-0000-4000-8000-000000000001",
    ],
)
def test_any_form_uuid_reads_is_a_uuid(value: str) -> None:
    assert validation.validate(SCHEMA, {"u": value}) == {"u": value}


@pytest.mark.parametrize("value", ["not-a-uuid", "7a7a7a7a-0000-4000-8000", ""])
def test_other_strings_are_not(value: str) -> None:
    with pytest.raises(HTTPError) as raised:
        validation.validate(SCHEMA, {"u": value})
    assert raised.value.message.startswith(f"JSON does not validate: {value!r} is not a 'uuid'")


def test_a_bad_uuid_outranks_a_bad_name_as_upstream_ranks_them() -> None:
    body = {"name": "x" * 201, "uuid": "not-a-uuid"}
    with pytest.raises(HTTPError) as raised:
        validation.validate(schemas.create_schema(mv.Version(1, 14)), body)
    assert "'not-a-uuid' is not a 'uuid'" in raised.value.message
