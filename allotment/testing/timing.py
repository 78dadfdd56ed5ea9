"""Measure what the test fixture costs: ``python -m allotment.testing.timing [--runs N]``.

Reports the median (and 90th percentile) over ``--runs`` repetitions of:
set-up (``PlacementFixture.setUp``), the first request after set-up, tear-down
(``cleanUp``), and ``reset()`` after a few writes (what the pytest plugin pays per
test). The first set-up in a process also builds the migrated template; it is
reported separately as ``cold start``. ``--database-url`` measures a server database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial

from allotment.testing.fixture import PlacementFixture
from allotment.testing.service import PlacementService


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def _summary(name: str, samples: Sequence[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"{name:<28}{_ms(statistics.median(ordered))} median {_ms(p90)} p90"


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _populate(service: PlacementService) -> None:
    """A few writes, so that reset() has rows to delete."""
    with service.httpx_client() as http:
        for n in range(3):
            rp = http.post("resource_providers", json={"name": f"cn{n}"}).json()
            http.put(
                f"resource_providers/{rp['uuid']}/inventories",
                json={"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}},
            )
        http.put("traits/CUSTOM_TIMING")


def measure(runs: int, database_url: str | None) -> list[str]:
    lines = []
    fixture = PlacementFixture(database_url=database_url)
    lines.append(_summary("cold start (first setUp)", [_timed(fixture.setUp)]))
    fixture.cleanUp()
    setups, firsts, cleanups = [], [], []
    for _ in range(runs):
        fixture = PlacementFixture(database_url=database_url)
        setups.append(_timed(fixture.setUp))
        session = fixture.requests_session()
        firsts.append(_timed(partial(session.get, fixture.endpoint + "/resource_providers")))
        cleanups.append(_timed(fixture.cleanUp))
    lines += [
        _summary("setUp", setups),
        _summary("first request", firsts),
        _summary("cleanUp", cleanups),
    ]
    with PlacementService(database_url=database_url) as service:
        resets = []
        for _ in range(runs):
            _populate(service)
            resets.append(_timed(service.reset))
    lines.append(_summary("reset() after writes", resets))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="repetitions (default 50)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="server database to measure (default: temporary SQLite)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    backend = args.database_url.split(":", 1)[0] if args.database_url else "sqlite (temporary)"
    print(f"allotment.testing fixture timings, {args.runs} runs, database {backend}")
    for line in measure(args.runs, args.database_url):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
