"""``allotment openapi`` and ``GET /openapi.json``."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openapi_spec_validator import validate

from allotment import cli
from allotment.http import microversion as mv
from allotment.openapi.wsgi import openapi_app


def _get(query: str = "", **headers: str) -> tuple[int, dict[str, str], bytes]:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/openapi.json", "QUERY_STRING": query}
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    seen: dict[str, Any] = {}

    def start(status: str, headers: list, exc_info: Any = None) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(headers)

    body = b"".join(openapi_app(environ, start))
    return seen["status"], seen["headers"], body


def test_served_document_is_cacheable() -> None:
    status, headers, body = _get()
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert "max-age" in headers["cache-control"]
    assert orjson.loads(body)["openapi"] == "3.1.0"
    status, _, body = _get(if_none_match=headers["etag"])
    assert (status, body) == (304, b"")


def test_served_microversion_is_selectable() -> None:
    _, _, body = _get("microversion=1.0")
    assert "/allocation_candidates" not in orjson.loads(body)["paths"]
    assert _get("microversion=1.99")[0] == 404
    assert _get("microversion=nope")[0] == 400


def test_command_prints_a_valid_openapi_3_1_document(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    assert cli.main(["openapi"]) == 0
    doc = orjson.loads(capsysbinary.readouterr().out)
    validate(doc)  # the OpenAPI 3.1 meta-schema, and every schema in it
    assert doc["info"]["version"].startswith(f"placement {mv.MAX_VERSION}")
    assert cli.main(["openapi", "--microversion", "1.10"]) == 0
    doc = orjson.loads(capsysbinary.readouterr().out)
    assert doc["info"]["version"].startswith("placement 1.10")
    assert "/allocation_candidates" in doc["paths"]


def test_command_refuses_a_bad_microversion(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["openapi", "--microversion", "2.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "microversion" in err


def test_command_writes_a_file(tmp_path: Any) -> None:
    out = tmp_path / "openapi.json"
    assert cli.main(["openapi", "--output", str(out)]) == 0
    assert orjson.loads(out.read_bytes())["openapi"] == "3.1.0"
    assert cli.main(["openapi", "--output", str(tmp_path / "no" / "such" / "dir")]) == 1
