"""Microversion parsing and the version list."""

import pytest

from allotment.http import microversion as mv


def test_versions_are_sequential():
    minors = [minor for minor, _ in mv.VERSIONS]
    assert minors == list(range(len(minors)))
    assert str(mv.MAX_VERSION) == "1.39"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "1.0"),
        ("", "1.0"),
        ("placement 1.10", "1.10"),
        ("placement latest", "1.39"),
        ("compute 2.1, placement 1.28", "1.28"),
        ("compute 2.1", "1.0"),
        ("PLACEMENT 1.2", "1.2"),
    ],
)
def test_parse_header_value(header, expected):
    assert str(mv.parse_header_value(header)) == expected


@pytest.mark.parametrize("value", ["placement 1.x", "placement 1", "placement"])
def test_malformed_is_400(value):
    with pytest.raises(mv.MicroversionError) as info:
        mv.parse_header_value(value)
    assert info.value.status == 400


@pytest.mark.parametrize("value", ["placement 1.40", "placement 2.0", "placement 0.9"])
def test_out_of_range_is_406(value):
    with pytest.raises(mv.MicroversionError) as info:
        mv.parse_header_value(value)
    assert info.value.status == 406


def test_numeric_comparison():
    assert mv.Version(1, 9) < mv.Version(1, 10)
    assert mv.Version(1, 28).matches(mv.CONSUMER_GENERATION)
    assert not mv.Version(1, 27).matches(mv.CONSUMER_GENERATION)
