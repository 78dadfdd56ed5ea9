"""``python -m benchmarks``: allotment and (``--peer``) openstack-placement 16.0.0 side by side.

Example (see docs/performance.md)::

    python -m benchmarks --peer --sizes 1000,5000 --backends sqlite,postgresql
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks import report, runner, servers
from benchmarks.scenarios import Budget


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers: {text}") from error
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive integers")
    return values


def _names(choices: Sequence[str]) -> object:
    def parse(text: str) -> tuple[str, ...]:
        values = tuple(part for part in text.split(",") if part)
        unknown = set(values) - set(choices)
        if not values or unknown:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}")
        return values

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--peer",
        action="store_true",
        help="also run openstack-placement 16.0.0 (own venv, benchmarks/.peer-venv)",
    )
    p.add_argument("--no-allotment", action="store_true", help="run only the peer")
    p.add_argument("--sizes", type=_ints, default=(1000,), help="compute nodes, e.g. 1000,5000")
    p.add_argument(
        "--backends",
        type=_names(servers.BACKENDS),
        default=("sqlite",),
        help="sqlite,postgresql,mysql",
    )
    p.add_argument(
        "--scenarios",
        type=_names(runner.SCENARIOS),
        default=runner.SCENARIOS,
        help="after load: candidates,reads,claims (default all)",
    )
    p.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    p.add_argument("--threads", type=int, default=4, help="gthread threads per worker (4)")
    p.add_argument("--seed", type=int, default=42, help="data generator seed (42)")
    p.add_argument(
        "--load-concurrency",
        type=int,
        default=None,
        help="loader sessions (default: 1 on SQLite, 8 on other backends)",
    )
    p.add_argument(
        "--batch-size", type=int, default=50, help="consumers per POST /allocations (50)"
    )
    p.add_argument("--repeats", type=int, default=20, help="timed requests per shape (20)")
    p.add_argument(
        "--shape-seconds", type=float, default=30.0, help="time budget per candidate shape (30)"
    )
    p.add_argument(
        "--request-timeout",
        type=float,
        default=120.0,
        help="client timeout for one request, seconds (120)",
    )
    p.add_argument(
        "--claim-clients",
        type=_ints,
        default=(4, 16, 64),
        help="concurrent claimers per claims run (4,16,64)",
    )
    p.add_argument("--claims-per-client", type=int, default=100, help="(100)")
    p.add_argument(
        "--claim-seconds", type=float, default=60.0, help="time budget per claims run (60)"
    )
    p.add_argument("--read-requests", type=int, default=2000, help="requests per read kind")
    p.add_argument("--read-seconds", type=float, default=15.0, help="budget per read kind")
    p.add_argument("--read-concurrency", type=int, default=8, help="reader threads (8)")
    p.add_argument(
        "--output",
        type=Path,
        default=runner.Options().output,
        help="results folder (benchmarks/results)",
    )
    p.add_argument("--keep-databases", action="store_true", help="do not drop them afterwards")
    p.add_argument("--no-chart", action="store_true", help="skip the matplotlib PNG")
    p.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        metavar="RESULTS",
        help="run nothing: merge these results files, print the tables and "
        "draw the chart (e.g. one file per size)",
    )
    return p


def options_from(args: argparse.Namespace) -> runner.Options:
    systems = tuple(
        s for s, on in (("allotment", not args.no_allotment), ("peer", args.peer)) if on
    )
    if not systems:
        raise SystemExit("nothing to run: --no-allotment needs --peer")
    budget = Budget(
        repeats=args.repeats,
        shape_seconds=args.shape_seconds,
        claims_per_client=args.claims_per_client,
        claim_seconds=args.claim_seconds,
        read_requests=args.read_requests,
        read_seconds=args.read_seconds,
        read_concurrency=args.read_concurrency,
    )
    return runner.Options(
        sizes=args.sizes,
        backends=args.backends,
        systems=systems,
        scenarios=args.scenarios,
        claim_clients=args.claim_clients,
        workers=args.workers,
        threads=args.threads,
        seed=args.seed,
        load_concurrency=args.load_concurrency,
        request_timeout=args.request_timeout,
        batch_size=args.batch_size,
        budget=budget,
        output=args.output.resolve(),
        keep_databases=args.keep_databases,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr
    )
    for noisy in ("httpx", "httpcore", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    options = options_from(args)
    if args.from_json:
        document = report.merge(args.from_json)
        print(report.render(document))
        print(report.render(document, markdown=True), file=sys.stderr)
    else:
        document = runner.run(options)
        document["command"] = "python -m benchmarks " + " ".join(
            sys.argv[1:] if argv is None else argv
        )
        path = report.save(document, options.output)
        print(report.render(document))
        print(f"results: {path}")
    if not args.no_chart:
        chart = report.chart(document, options.output / "candidates-latency.png")
        if chart:
            print(f"chart: {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
