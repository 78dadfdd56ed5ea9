"""Gabbi files that need non-default policy settings, one settings set per file.

``gabbits/policy_settings/<name>.yaml`` runs against an app built with the
settings listed here (on every backend); ``<name>.policy.yaml`` beside it,
when present, is the policy file. Files run by ``test_gabbits.py`` use the
defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from allotment.app import make_app
from allotment.config import Settings
from allotment.store.engine import Database
from tests.functional.test_gabbits import run_gabbit

HERE = Path(__file__).parent / "gabbits" / "policy_settings"
SETTINGS: dict[str, dict[str, Any]] = {
    "legacy-defaults": {"enforce_new_defaults": False},
    "override": {},
    "enforce-scope": {"enforce_scope": True},
}
FILES = sorted(p for p in HERE.glob("*.yaml") if not p.name.endswith(".policy.yaml"))


def test_every_file_has_settings() -> None:
    assert {p.stem for p in FILES} == set(SETTINGS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_policy_gabbit(path: Path, db: Database, settings: Settings) -> None:
    policy_file = path.with_name(f"{path.stem}.policy.yaml")
    changes = dict(SETTINGS[path.stem])
    if policy_file.exists():
        changes["policy_file"] = str(policy_file)
    app = make_app(settings.replace(**changes), db=db, prepare=False)
    result = run_gabbit(path, app)
    assert result.testsRun > 0, f"{path.name} ran no steps"
    problems = result.failures + result.errors
    assert not problems, result.output  # type: ignore[attr-defined]
