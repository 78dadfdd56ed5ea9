"""Runs every YAML file under ``gabbits/`` against the in-process app, on each backend.

Each file is one pytest test (its steps depend on each other), run with a
clean database. Failures print every failing gabbi step with its response.
"""

from __future__ import annotations

import io
import unittest
import uuid
from pathlib import Path

import pytest
from gabbi import handlers, suitemaker, utils

from allotment.app import make_app
from allotment.config import Settings
from allotment.openapi.conformance import Conformance
from allotment.store.engine import Database

GABBITS = Path(__file__).parent / "gabbits"
FILES = sorted(GABBITS.glob("*.yaml"))


def _handlers() -> list:
    return [handler() for handler in handlers.RESPONSE_HANDLERS]


def run_gabbit(path: Path, app) -> unittest.TestResult:
    loader = unittest.TestLoader()
    suite_dict = utils.load_yaml(yaml_file=str(path))
    suite = suitemaker.test_suite_from_dict(
        loader,
        path.stem,
        suite_dict,
        str(GABBITS),
        str(uuid.uuid4()),
        None,
        None,
        lambda: app,
        handlers=_handlers(),
        test_loader_name=__name__,
    )
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=0).run(suite)
    result.output = stream.getvalue()  # type: ignore[attr-defined]
    return result


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_gabbit(path: Path, db: Database, settings: Settings) -> None:
    # Every answer is also checked against the OpenAPI document: its response
    # schemas and error codes are oracles for the whole suite.
    app = Conformance(make_app(settings, db=db, prepare=False))
    result = run_gabbit(path, app)
    assert result.testsRun > 0, f"{path.name} ran no steps"
    problems = result.failures + result.errors
    assert not problems, result.output  # type: ignore[attr-defined]
    assert not app.problems, "answers differ from the OpenAPI document:\n" + "\n".join(
        sorted(set(app.problems))
    )
