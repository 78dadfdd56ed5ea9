"""Docs stay true: every microversion, error code, setting and command is documented."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from allotment import cli, config
from allotment.http import error_codes
from allotment.http import microversion as mv

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _all_docs() -> str:
    return README + "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))


def test_every_microversion_is_documented():
    text = (ROOT / "docs" / "microversions.md").read_text()
    for minor, description in mv.VERSIONS:
        assert f"| 1.{minor} | {description} |" in text


def test_every_error_code_is_documented():
    docs = _all_docs()
    for code in error_codes.ALL:
        assert code in docs, code


def test_configuration_doc_lists_every_option_of_the_registry():
    from allotment.commands.config_sample import markdown_table

    text = (ROOT / "docs" / "configuration.md").read_text()
    begin = text.index("-->\n", text.index("<!-- options:begin")) + 4
    end = text.index("<!-- options:end -->")
    assert text[begin:end] == markdown_table()


def test_every_settings_field_comes_from_one_option():
    """Each Settings field (but the bookkeeping ones) is filled by exactly one option."""
    bookkeeping = {"sections", "config_files", "embedded", "notices"}
    fields = {f.name for f in dataclasses.fields(config.Settings)} - bookkeeping
    declared = [o.field for o in config.all_options() if o.field]
    assert sorted(declared) == sorted(set(declared))
    assert fields == set(declared)


def _commands(parser: argparse.ArgumentParser, prefix: str = "allotment") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found.extend(_commands(sub, f"{prefix} {name}"))
    return found


def test_every_cli_command_is_documented():
    docs = _all_docs()
    for command in _commands(cli.build_parser()):
        assert command in docs, command


def test_license_is_an_spdx_string_with_the_license_file():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text()


def test_keystone_extra_brings_the_memcache_client_keystonemiddleware_imports():
    import importlib.util
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(dep.startswith("python-memcached") for dep in extras["keystone"])
    assert importlib.util.find_spec("memcache") is not None  # what keystonemiddleware imports
