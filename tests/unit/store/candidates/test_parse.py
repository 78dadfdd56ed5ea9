"""Parsing the GET /allocation_candidates query string into a CandidateRequest."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from allotment.http import error_codes
from allotment.http import microversion as mv
from allotment.http.errors import HTTPError
from allotment.http.handlers.allocation_candidate import parse_request

AGG1 = "eeeeeeee-0000-0000-0000-000000000001"
AGG2 = "eeeeeeee-0000-0000-0000-000000000002"


def parse(query: str, minor: int = 39):
    return parse_request(parse_qs(query, keep_blank_values=True), mv.Version(1, minor))


def error(query: str, minor: int = 39) -> HTTPError:
    with pytest.raises(HTTPError) as info:
        parse(query, minor)
    assert info.value.status == 400
    return info.value


def test_full_request() -> None:
    request = parse(
        f"resources=VCPU:2,MEMORY_MB:512&required=HW_CPU_X86_AVX,!HW_CPU_X86_SSE"
        f"&member_of=in:{AGG1},{AGG2}&member_of=!{AGG2}"
        f"&resources_NIC=SRIOV_NET_VF:1&required_NIC=in:CUSTOM_A,CUSTOM_B&required_NIC=CUSTOM_C"
        f"&required_R=CUSTOM_ROOT&same_subtree=_NIC,_R&group_policy=isolate&limit=5"
        f"&root_required=HW_CPU_X86_AVX,!CUSTOM_X"
    )
    unnumbered = request.unnumbered
    assert unnumbered is not None
    assert dict(unnumbered.resources) == {"VCPU": 2, "MEMORY_MB": 512}
    assert unnumbered.required == (frozenset({"HW_CPU_X86_AVX"}),)
    assert unnumbered.forbidden == {"HW_CPU_X86_SSE"}
    assert unnumbered.member_of == (frozenset({AGG1, AGG2}),)
    assert unnumbered.forbidden_aggs == {AGG2}
    nic = request.group("_NIC")
    assert nic is not None and nic.same_provider
    assert nic.required == (frozenset({"CUSTOM_A", "CUSTOM_B"}), frozenset({"CUSTOM_C"}))
    assert request.group("_R").resourceless  # type: ignore[union-attr]
    assert request.same_subtrees == (frozenset({"_NIC", "_R"}),)
    assert (request.limit, request.group_policy, request.isolate) == (5, "isolate", True)
    assert request.root_required == {"HW_CPU_X86_AVX"}
    assert request.root_forbidden == {"CUSTOM_X"}
    assert request.nested_aware


def test_microversion_switches() -> None:
    assert not parse("resources=VCPU:1", 28).nested_aware
    assert parse("resources=VCPU:1", 29).nested_aware
    # Below 1.39 only the last required counts.
    assert parse(
        "resources=VCPU:1&required=CUSTOM_A&required=CUSTOM_B", 38
    ).unnumbered.required == (frozenset({"CUSTOM_B"}),)  # type: ignore[union-attr]


def test_repeated_resources_and_first_limit() -> None:
    request = parse("resources=VCPU:1&resources=VCPU:3&limit=2&limit=7")
    assert dict(request.unnumbered.resources) == {"VCPU": 3}  # type: ignore[union-attr]
    assert request.limit == 2


def test_in_tree_is_normalised() -> None:
    group = parse("resources=VCPU:1&in_tree=CCCCCCCC000000000000000000000001").unnumbered
    assert group.in_tree == "cccccccc-0000-0000-0000-000000000001"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("query", "minor", "code"),
    [
        (
            "resources=VCPU:1&root_required=CUSTOM_A&root_required=CUSTOM_B",
            35,
            error_codes.QUERY_DUPLICATE_KEY,
        ),
        ("resources=VCPU:1&root_required=CUSTOM_A,!CUSTOM_A", 35, error_codes.QUERY_BAD_VALUE),
        ("resources1=VCPU:1&same_subtree=1,", 36, error_codes.QUERY_BAD_VALUE),
        ("resources1=VCPU:1&same_subtree=1,2", 36, error_codes.QUERY_BAD_VALUE),
        ("resources1=VCPU:1&required2=CUSTOM_A&group_policy=none", 36, error_codes.QUERY_BAD_VALUE),
        ("required1=CUSTOM_A&same_subtree=1", 36, error_codes.QUERY_MISSING_VALUE),
        ("resources=VCPU:1&limit=0", 39, error_codes.UNDEFINED),
        ("resources1=VCPU:1&resources2=VCPU:1", 25, error_codes.UNDEFINED),
        ("resources1=VCPU:1", 24, error_codes.UNDEFINED),
        ("resources_X=VCPU:1", 32, error_codes.UNDEFINED),
        ("resources=VCPU:1&root_required=in:CUSTOM_A", 39, error_codes.UNDEFINED),
        ("resources=VCPU:1&required=CUSTOM_A,!CUSTOM_A", 39, error_codes.UNDEFINED),
        ("required=CUSTOM_A&resources1=VCPU:1", 35, error_codes.UNDEFINED),
        ("", 24, error_codes.UNDEFINED),
    ],
)
def test_errors(query: str, minor: int, code: str) -> None:
    assert error(query, minor).code == code


def test_unknown_parameters_listed() -> None:
    message = error("resources=VCPU:1&in_tree=x&colour=red", 30).message
    assert "'colour'" in message and "'in_tree'" in message


# --- a worker keeps what it parsed --------------------------------------------


def test_the_same_query_at_the_same_microversion_is_parsed_once() -> None:
    query = "resources=VCPU:1,MEMORY_MB:512,DISK_GB:10&limit=50"
    first = parse(query)
    assert parse(query) is first
    assert parse(query, minor=38) is not first  # another microversion, parsed again
    assert parse(query, minor=38) == first  # (the same answer at both)
    assert parse("limit=50&resources=VCPU:1,MEMORY_MB:512,DISK_GB:10") == first


def test_an_invalid_query_is_refused_every_time() -> None:
    for _ in range(2):
        assert "limit" in error("resources=VCPU:1&limit=0").message


def test_a_long_query_is_never_kept() -> None:
    traits = ",".join(f"CUSTOM_T{i:04d}" for i in range(400))
    query = f"resources=VCPU:1&required={traits}"
    first = parse(query)
    assert len(query) > 4096
    assert parse(query) == first
    assert parse(query) is not first
