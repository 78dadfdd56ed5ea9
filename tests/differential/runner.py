"""Send one seeded sequence to both systems and collect the differences.

``python -m tests.differential --seeds 20 --calls 300`` runs the long
comparison by hand and prints a summary by kind (see docs/testing.md).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.differential import allow
from tests.differential.compare import Difference, body_of, differences
from tests.differential.generator import Call, Generator
from tests.differential.peer import Peer, allotment_client


@dataclass
class Outcome:
    seed: int
    calls: int = 0
    differences: list[Difference] = field(default_factory=list)
    allowed: list[tuple[Difference, str]] = field(default_factory=list)


def _send(client: httpx.Client, call: Call) -> httpx.Response:
    return client.request(call.method, call.path, headers=call.headers, content=call.content())


def run_seed(peer: Peer, seed: int, calls: int, work_dir: Path) -> Outcome:
    """Fresh databases on both sides, then ``calls`` requests compared one by one."""
    peer_url = peer.fresh()
    ours, _app = allotment_client(work_dir)
    theirs = httpx.Client(base_url=peer_url, timeout=30)
    generator = Generator(seed)
    allowances = allow.Allowances()
    outcome = Outcome(seed)
    try:
        for index in range(calls):
            call = generator.next_call()
            ours_response = _send(ours, call)
            theirs_response = _send(theirs, call)
            outcome.calls += 1
            label = f"seed {seed} #{index} {call.describe()}"
            for diff in differences(label, call.method, call.path, ours_response, theirs_response):
                reason = allowances.reason_for(call, diff, ours_response, theirs_response)
                if reason:
                    outcome.allowed.append((diff, reason))
                else:
                    outcome.differences.append(diff)
            allowances.observe(call, theirs_response)
            body = body_of(theirs_response)
            generator.observe(call, theirs_response.status_code, body)
    finally:
        ours.close()
        theirs.close()
    return outcome


def summarise(outcomes: list[Outcome]) -> dict[str, Any]:
    kinds = collections.Counter(d.kind for o in outcomes for d in o.differences)
    allowed = collections.Counter(reason for o in outcomes for _, reason in o.allowed)
    return {
        "seeds": [o.seed for o in outcomes],
        "requests": sum(o.calls for o in outcomes),
        "differences": sum(len(o.differences) for o in outcomes),
        "kinds": dict(kinds.most_common()),
        "allowed": dict(allowed.most_common()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.differential")
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (from --first)")
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--calls", type=int, default=300, help="requests per seed")
    parser.add_argument("--show", type=int, default=3, help="examples printed per kind")
    args = parser.parse_args(argv)
    peer = Peer()
    started = time.monotonic()
    outcomes = []
    try:
        peer.prepare()
        for seed in range(args.first, args.first + args.seeds):
            outcomes.append(run_seed(peer, seed, args.calls, peer.work_dir))
    finally:
        peer.close()
    summary = summarise(outcomes)
    summary["seconds"] = round(time.monotonic() - started, 1)
    shown: collections.Counter[str] = collections.Counter()
    for outcome in outcomes:
        for diff in outcome.differences:
            if shown[diff.kind] < args.show:
                shown[diff.kind] += 1
                print(diff, "\n")
    print(json.dumps(summary, indent=2))
    return 1 if summary["differences"] else 0


if __name__ == "__main__":
    sys.exit(main())
