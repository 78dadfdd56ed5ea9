"""The short differential run of the test suite, against a real placement 16.0.0.

The peer virtualenv is built on first use (a few minutes; ``benchmarks/.peer-venv``
is reused afterwards). Without network access the tests skip locally; with
``CI=true`` they fail instead, so CI can never pass without the comparison.
``DIFFERENTIAL_SEEDS`` (e.g. ``1,2,3``) and ``DIFFERENTIAL_CALLS`` choose the run;
the long run is ``python -m tests.differential --seeds 20`` (docs/testing.md).
"""

from __future__ import annotations

import fcntl
import io
import os
import unittest
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.differential import allow
from tests.differential.peer import Peer, PeerUnavailable
from tests.differential.runner import run_seed, summarise

ROOT = Path(__file__).resolve().parents[2]
GABBITS = ROOT / "tests" / "functional" / "gabbits"
# Files whose every step states upstream's behaviour (run against the peer too).
UPSTREAM_GABBITS = ("compat-upstream.yaml",)


def _seeds() -> list[int]:
    return [int(s) for s in os.environ.get("DIFFERENTIAL_SEEDS", "1,2").split(",") if s.strip()]


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    work = tmp_path_factory.mktemp("differential")
    running = Peer(work)
    lock_path = ROOT / "benchmarks" / ".peer-venv.lock"
    try:
        # Several test workers may get here at once: one builds the venv.
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            running.prepare()
        running.fresh()
    except PeerUnavailable as error:
        running.close()
        if os.environ.get("CI") == "true":
            pytest.fail(f"placement 16.0.0 peer unavailable under CI: {error}")
        pytest.skip(f"placement 16.0.0 peer unavailable: {error}")
    yield running
    running.close()


def test_short_run_has_no_unexplained_difference(peer: Peer) -> None:
    calls = int(os.environ.get("DIFFERENTIAL_CALLS", "150"))
    outcomes = [run_seed(peer, seed, calls, peer.work_dir) for seed in _seeds()]
    summary = summarise(outcomes)
    shown = "\n\n".join(str(d) for o in outcomes for d in o.differences[:5])
    assert summary["differences"] == 0, f"{summary}\n\n{shown}"
    assert summary["requests"] == calls * len(_seeds())


@pytest.mark.parametrize("name", UPSTREAM_GABBITS)
def test_compat_gabbits_state_upstreams_behaviour(peer: Peer, name: str) -> None:
    """The YAML tests that pin our fixes pass against placement 16.0.0 as well."""
    from gabbi import handlers, suitemaker, utils

    url = peer.fresh()
    port = int(url.rsplit(":", 1)[1])
    path = GABBITS / name
    suite = suitemaker.test_suite_from_dict(
        unittest.TestLoader(),
        path.stem,
        utils.load_yaml(yaml_file=str(path)),
        str(GABBITS),
        "127.0.0.1",
        port,
        None,
        None,
        handlers=[handler() for handler in handlers.RESPONSE_HANDLERS],
        test_loader_name=__name__,
    )
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=0).run(suite)
    assert result.testsRun > 0
    assert not (result.failures or result.errors), stream.getvalue()


def test_every_allowed_difference_names_an_existing_test() -> None:
    entries = [v for v in vars(allow).values() if isinstance(v, allow.Allowed)]
    assert len(entries) >= 3
    for entry in entries:
        assert entry.reason and (ROOT / entry.test).is_file(), entry
