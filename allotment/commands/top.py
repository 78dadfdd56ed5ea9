"""``allotment top [--class RC]``: the fullest providers, by the share of capacity used.

A provider's fullness is its highest used / capacity over its inventories
(or over ``--class`` only), capacity being (total - reserved) x
allocation_ratio. Reads the database, or a server with ``--url``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from allotment import exceptions as exc
from allotment.commands import tree
from allotment.commands.output import table
from allotment.config import Settings
from allotment.store.provider_tree import ProviderState


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "top", help="list the fullest providers", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--class", dest="resource_class", metavar="RC", help="e.g. VCPU")
    parser.add_argument("--limit", type=int, default=20, help="rows to print (default 20)")
    tree.add_source_options(parser)
    parser.set_defaults(func=run)


def fullest(
    providers: list[ProviderState], resource_class: str | None, limit: int
) -> list[dict[str, Any]]:
    """The ``limit`` fullest providers, fullest first (ties by name)."""
    rows = []
    for p in providers:
        best: dict[str, Any] | None = None
        for rc, inv in p.inventories.items():
            if resource_class and rc != resource_class:
                continue
            cap = tree.capacity(inv)
            used = p.usages.get(rc, 0)
            ratio = used / cap if cap > 0 else (float("inf") if used else 0.0)
            if best is None or ratio > best["fullness"]:
                best = {"uuid": p.uuid, "name": p.name, "resource_class": rc, "used": used}
                best.update(capacity=cap, fullness=ratio, reserved=inv.reserved)
                best.update(total=inv.total, allocation_ratio=inv.allocation_ratio)
        if best is not None:
            rows.append(best)
    rows.sort(key=lambda r: (-r["fullness"], r["name"]))
    return rows[:limit]


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.limit < 1:
        print("allotment: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        rows = fullest(tree.load(args, settings, ()), args.resource_class, args.limit)
    except exc.NotFound as error:
        print(f"allotment: {error}", file=sys.stderr)
        return 1
    except tree.SourceError as error:
        print(f"allotment: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        what = f"{args.resource_class} inventory" if args.resource_class else "inventory"
        print(f"no provider has {what}")
        return 0
    print(
        table(
            ["provider", "class", "used", "capacity", "full", "bar"],
            [
                [
                    r["name"],
                    r["resource_class"],
                    r["used"],
                    r["capacity"],
                    f"{100 * r['fullness']:.1f}%" if r["capacity"] else "-",
                    tree.bar(r, 20),
                ]
                for r in rows
            ],
        )
    )
    return 0
