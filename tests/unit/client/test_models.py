"""Pure logic of the client: body shapes per microversion, query building, parsing."""

from __future__ import annotations

import pytest

from allotment.client import (
    AllocationCandidates,
    AllocationRequest,
    Inventory,
    RequestGroup,
    allocation_body,
    parse_version,
)
from allotment.client.models import as_inventory, format_resources
from allotment.http import microversion as mv


def test_parse_version() -> None:
    assert parse_version("1.9") < parse_version("1.10")
    assert parse_version("latest") == (mv.MAX_VERSION.major, mv.MAX_VERSION.minor)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (
            (1, 0),
            {"allocations": [{"resource_provider": {"uuid": "rp"}, "resources": {"VCPU": 1}}]},
        ),
        (
            (1, 8),
            {
                "allocations": [{"resource_provider": {"uuid": "rp"}, "resources": {"VCPU": 1}}],
                "project_id": "p",
                "user_id": "u",
            },
        ),
        (
            (1, 12),
            {"allocations": {"rp": {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u"},
        ),
        (
            (1, 28),
            {
                "allocations": {"rp": {"resources": {"VCPU": 1}}},
                "project_id": "p",
                "user_id": "u",
                "consumer_generation": 3,
            },
        ),
        (
            (1, 34),
            {
                "allocations": {"rp": {"resources": {"VCPU": 1}}},
                "project_id": "p",
                "user_id": "u",
                "consumer_generation": 3,
                "mappings": {"": ["rp"]},
            },
        ),
        (
            (1, 38),
            {
                "allocations": {"rp": {"resources": {"VCPU": 1}}},
                "project_id": "p",
                "user_id": "u",
                "consumer_generation": 3,
                "mappings": {"": ["rp"]},
                "consumer_type": "INSTANCE",
            },
        ),
    ],
)
def test_allocation_body_by_version(version: tuple[int, int], expected: dict) -> None:
    body = allocation_body({"rp": {"VCPU": 1}}, "p", "u", 3, "INSTANCE", {"": ["rp"]}, version)
    assert body == expected


def test_allocation_body_requirements() -> None:
    with pytest.raises(ValueError):
        allocation_body({}, None, "u", None, "INSTANCE", None, (1, 8))
    with pytest.raises(ValueError):
        allocation_body({}, "p", "u", None, None, None, (1, 38))


def test_request_group_query() -> None:
    group = RequestGroup(
        resources={"VCPU": 2, "MEMORY_MB": 512},
        required=["A", "!B"],
        required_any=[["C", "D"]],
        member_of=["in:x,y", "!z"],
        in_tree="rp",
        suffix="_G",
    )
    assert group.query() == [
        ("resources_G", "VCPU:2,MEMORY_MB:512"),
        ("required_G", "A,!B"),
        ("required_G", "in:C,D"),
        ("member_of_G", "in:x,y"),
        ("member_of_G", "!z"),
        ("in_tree_G", "rp"),
    ]
    assert RequestGroup().query() == []
    assert format_resources({"DISK_GB": 10}) == "DISK_GB:10"


def test_inventory_conversions() -> None:
    assert as_inventory(5) == Inventory(total=5)
    assert as_inventory({"total": 5, "reserved": 1}) == Inventory(total=5, reserved=1)
    assert Inventory(total=10, reserved=2, allocation_ratio=1.5).capacity == 12
    assert Inventory.from_json(Inventory(7, 1, 2, 3, 1, 2.0).to_json()) == Inventory(
        7, 1, 2, 3, 1, 2.0
    )


def test_candidates_parse_both_forms() -> None:
    old = AllocationRequest.from_json(
        {"allocations": [{"resource_provider": {"uuid": "rp"}, "resources": {"VCPU": 1}}]}
    )
    new = AllocationRequest.from_json(
        {"allocations": {"rp": {"resources": {"VCPU": 1}}}, "mappings": {"": ["rp"]}}
    )
    assert old.allocations == new.allocations == {"rp": {"VCPU": 1}}
    assert old.mappings == {} and new.mappings == {"": ["rp"]}
    parsed = AllocationCandidates.from_json(
        {
            "allocation_requests": [],
            "provider_summaries": {"rp": {"resources": {"VCPU": {"capacity": 8, "used": 1}}}},
        }
    )
    assert parsed.provider_summaries["rp"].resources["VCPU"].used == 1
    assert parsed.provider_summaries["rp"].traits is None
