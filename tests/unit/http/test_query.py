"""The member_of / required / resources query grammar (spec C2.1, C2.2)."""

from __future__ import annotations

import pytest

from allotment.http import microversion as mv
from allotment.http import query
from allotment.http.errors import HTTPError

A1 = "aaaaaaaa-0000-0000-0000-000000000001"
A2 = "aaaaaaaa-0000-0000-0000-000000000002"
A3 = "aaaaaaaa-0000-0000-0000-000000000003"
LATEST = mv.MAX_VERSION


def v(minor: int) -> mv.Version:
    return mv.Version(1, minor)


# --- member_of ---------------------------------------------------------------


def test_member_of_single_and_in_list() -> None:
    assert query.parse_member_of([A1], v(3)) == query.AggregateFilter((frozenset({A1}),))
    assert query.parse_member_of([f"in:{A1},{A2}"], v(3)) == query.AggregateFilter(
        (frozenset({A1, A2}),)
    )


def test_member_of_repeats_are_anded_from_1_24() -> None:
    found = query.parse_member_of([f"in:{A1},{A2}", A3, f"!{A1}"], LATEST)
    assert found.any_of == (frozenset({A1, A2}), frozenset({A3}))
    assert found.none_of == frozenset({A1})
    with pytest.raises(HTTPError):
        query.parse_member_of([A1, A2], v(23))
    assert len(query.parse_member_of([A1, A2], v(24)).any_of) == 2


def test_member_of_forbidden_from_1_32() -> None:
    with pytest.raises(HTTPError):
        query.parse_member_of([f"!{A1}"], v(31))
    assert query.parse_member_of([f"!in:{A1},{A2}"], v(32)).none_of == frozenset({A1, A2})


def test_member_of_normalises_uuids() -> None:
    assert query.parse_member_of([A1.replace("-", "").upper()], v(3)).any_of == (frozenset({A1}),)


@pytest.mark.parametrize(
    "value",
    [
        f"{A1},{A2}",
        "not-a-uuid",
        "in:",
        f"in:{A1},!{A2}",
        f"in:{A1},",
        "",
        f"!!{A1}",
    ],
)
def test_member_of_malformed(value: str) -> None:
    with pytest.raises(HTTPError) as caught:
        query.parse_member_of([value], LATEST)
    assert caught.value.status == 400


def test_empty_member_of_filter_is_falsy() -> None:
    assert not query.parse_member_of([], LATEST)
    assert query.parse_member_of([A1], LATEST)


# --- required ----------------------------------------------------------------


def test_required_all_of() -> None:
    found = query.parse_required(["HW_CPU_X86_AVX,CUSTOM_X"], v(18))
    assert set(found.any_of) == {frozenset({"HW_CPU_X86_AVX"}), frozenset({"CUSTOM_X"})}
    assert found.required == frozenset({"HW_CPU_X86_AVX", "CUSTOM_X"})
    assert found.names() == {"HW_CPU_X86_AVX", "CUSTOM_X"}


def test_required_forbidden_from_1_22() -> None:
    with pytest.raises(HTTPError):
        query.parse_required(["!CUSTOM_X"], v(21))
    found = query.parse_required(["CUSTOM_A,!CUSTOM_X"], v(22))
    assert found.forbidden == frozenset({"CUSTOM_X"})
    assert found.required == frozenset({"CUSTOM_A"})


def test_several_leading_bangs_are_one() -> None:
    assert query.parse_required(["!!CUSTOM_X"], v(22)).forbidden == frozenset({"CUSTOM_X"})


def test_required_any_of_from_1_39() -> None:
    with pytest.raises(HTTPError):
        query.parse_required(["in:CUSTOM_A,CUSTOM_B"], v(38))
    found = query.parse_required(["in:CUSTOM_A,CUSTOM_B", "CUSTOM_C,!CUSTOM_D"], v(39))
    assert set(found.any_of) == {frozenset({"CUSTOM_A", "CUSTOM_B"}), frozenset({"CUSTOM_C"})}
    assert found.forbidden == frozenset({"CUSTOM_D"})
    assert found.required == frozenset({"CUSTOM_C"})


def test_before_1_39_the_last_required_wins() -> None:
    found = query.parse_required(["bad name", "CUSTOM_B"], v(38))
    assert found.any_of == (frozenset({"CUSTOM_B"}),)
    # From 1.39 both count; an ill-formed name is not refused while parsing:
    # like upstream, it is "No such trait(s)" when looked up.
    found = query.parse_required(["bad name", "CUSTOM_B"], v(39))
    assert set(found.any_of) == {frozenset({"bad name"}), frozenset({"CUSTOM_B"})}


@pytest.mark.parametrize(
    "value",
    [
        "CUSTOM_A,,CUSTOM_B",
        "",
        "in:CUSTOM_A,!CUSTOM_B",
        "in:",
        "CUSTOM_A,",
        "CUSTOM_A,!CUSTOM_A",
    ],
)
def test_required_malformed(value: str) -> None:
    with pytest.raises(HTTPError) as caught:
        query.parse_required([value], LATEST)
    assert caught.value.status == 400


def test_any_of_entirely_forbidden_conflicts() -> None:
    with pytest.raises(HTTPError):
        query.parse_required(["in:CUSTOM_A,CUSTOM_B", "!CUSTOM_A,!CUSTOM_B"], LATEST)
    # Only partly forbidden is satisfiable.
    query.parse_required(["in:CUSTOM_A,CUSTOM_B", "!CUSTOM_A"], LATEST)


def test_no_required_is_empty() -> None:
    assert not query.parse_required([], LATEST)


# --- resources ---------------------------------------------------------------


def test_resources() -> None:
    assert query.parse_resources("VCPU:2,MEMORY_MB:1024") == {"VCPU": 2, "MEMORY_MB": 1024}


def test_resources_as_upstream_reads_them() -> None:
    # A repeated class: the last amount counts; a signed amount is an integer.
    assert query.parse_resources("VCPU:1,VCPU:2") == {"VCPU": 2}
    assert query.parse_resources("VCPU:+1") == {"VCPU": 1}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Got: empty string."),
        ("VCPU", "Got: VCPU."),
        ("VCPU:1,", "Got: ."),
        ("VCPU:x", "Requested resource VCPU expected positive integer amount. Got: x."),
        ("VCPU:0", "Requested resource VCPU requires amount >= 1. Got: 0."),
    ],
)
def test_resources_errors_are_worded_as_upstream(value: str, message: str) -> None:
    with pytest.raises(HTTPError) as caught:
        query.parse_resources(value)
    assert message in caught.value.message


@pytest.mark.parametrize(
    "value",
    [
        "",
        "VCPU",
        "VCPU:",
        "VCPU:0",
        "VCPU:-1",
        "VCPU:1.5",
        "VCPU:x",
        ":1",
        "VCPU:1,",
    ],
)
def test_resources_malformed(value: str) -> None:
    with pytest.raises(HTTPError) as caught:
        query.parse_resources(value)
    assert caught.value.status == 400


# --- helpers -----------------------------------------------------------------


def test_single_takes_the_last_value() -> None:
    assert query.single({"name": ["a", "b"]}, "name") == "b"
    assert query.single({}, "name") is None


def test_reject_unknown_names_them() -> None:
    query.reject_unknown({"name": ["x"]}, {"name", "uuid"})
    with pytest.raises(HTTPError, match="color"):
        query.reject_unknown({"name": ["x"], "color": ["blue"]}, {"name"})
