"""The examples in docs/testing.md run and pass (docs stay true by test)."""

from __future__ import annotations

import io
import re
import types
import unittest
from pathlib import Path

import pytest

from tests.functional.testing.test_pytest_plugin import run

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[3] / "docs" / "testing.md"
EXAMPLES = dict(re.findall(r"```python\n# example: (\w+)\n(.*?)```", DOC.read_text(), re.S))


def test_every_example_is_found() -> None:
    assert set(EXAMPLES) == {"requests", "keystoneauth", "client", "pytest"}


@pytest.mark.parametrize("name", ["requests", "keystoneauth", "client"])
def test_unittest_example(name: str) -> None:
    if name == "keystoneauth":
        pytest.importorskip("keystoneauth1")
    module = types.ModuleType(f"docs_example_{name}")
    exec(compile(EXAMPLES[name], f"docs/testing.md:{name}", "exec"), module.__dict__)
    suite = unittest.TestSuite(
        unittest.defaultTestLoader.loadTestsFromTestCase(obj)
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, unittest.TestCase)
        and obj.__module__ == module.__name__
    )
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
    assert result.testsRun >= 1
    assert result.wasSuccessful(), stream.getvalue()


def test_pytest_example(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_example=EXAMPLES["pytest"])
    result = run(pytester)
    result.assert_outcomes(passed=4)  # three examples + the checkout check
