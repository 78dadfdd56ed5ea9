"""The bounded checks every body and query passes: depth, size, NUL, message length."""

from __future__ import annotations

import pytest

from allotment.http import validation
from allotment.http.errors import HTTPError
from allotment.http.middleware import escape_control


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_depth_within_the_limit_passes() -> None:
    validation.check_json({"a": _nested(31)}, max_depth=32, max_items=10)


@pytest.mark.parametrize("depth", [33, 1023, 100_000])
def test_deeper_nesting_is_a_400_without_recursion(depth: int) -> None:
    with pytest.raises(HTTPError) as raised:
        validation.check_json(_nested(depth), max_depth=32, max_items=10)
    assert raised.value.status == 400 and "nested" in raised.value.message


def test_too_many_members_is_a_400() -> None:
    validation.check_json(list(range(10)), max_depth=2, max_items=10)
    for wide in (list(range(11)), {str(i): i for i in range(11)}):
        with pytest.raises(HTTPError):
            validation.check_json({"x": wide}, max_depth=3, max_items=10)


@pytest.mark.parametrize("data", ["\x00", {"k\x00": 1}, [["a\x00"]], {"a": {"b": "\x00"}}])
def test_nul_anywhere_is_a_400(data: object) -> None:
    with pytest.raises(HTTPError) as raised:
        validation.check_json(data, max_depth=32, max_items=10)
    assert "NUL" in raised.value.message


@pytest.mark.parametrize(
    "data", ["\ud800", {"k\udfff": 1}, [["ok", "x\udbff"]], {"name": "caf\u00e9\ud800"}]
)
def test_lone_surrogate_anywhere_is_a_400(data: object) -> None:
    with pytest.raises(HTTPError) as raised:
        validation.check_json(data, max_depth=32, max_items=10)
    assert raised.value.status == 400 and "surrogate" in raised.value.message


def test_non_ascii_text_passes() -> None:
    validation.check_json({"name": "caf\u00e9 \U0001f600 \u4e2d"}, max_depth=32, max_items=10)


def test_validation_error_never_echoes_a_huge_value() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}}
    with pytest.raises(HTTPError) as raised:
        validation.validate(schema, {"name": "x" * 1_000_000})
    assert len(raised.value.message) < validation.MAX_MESSAGE + 200
    with pytest.raises(HTTPError) as raised:
        validation.validate(schema, {"name": "x" * 10})
    assert "On instance" in raised.value.message  # small values keep jsonschema's text


def test_truncate_says_how_much_was_cut() -> None:
    assert validation.truncate("abc", 5) == "abc"
    assert validation.truncate("abcdefgh", 5) == "abcde... (3 more characters not shown)"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a\r\nb", "a\\x0d\\x0ab"),
        ("\x00\x1b\x7f", "\\x00\\x1b\\x7f"),
        ("\u2028", "\\x2028"),
        ("plain /path?x=1", "plain /path?x=1"),
    ],
)
def test_control_characters_are_escaped(raw: str, escaped: str) -> None:
    assert escape_control(raw) == escaped
