"""The front's cost benchmark runs: every request it sends is answered whole."""

from __future__ import annotations

import pytest

from benchmarks import front_cost


def test_a_short_run_prints_the_cpu_per_request(capsys: pytest.CaptureFixture[str]) -> None:
    front_cost.main(["--requests", "40", "--clients", "2"])
    assert "us CPU per request" in capsys.readouterr().out
