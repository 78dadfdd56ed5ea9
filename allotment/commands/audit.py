"""``allotment audit [--json]``: data that needs an operator's attention.

Lists allocations whose consumer has no consumers row, consumers without
allocations, providers whose usage exceeds capacity (after an inventory
was lowered) and allocations against classes a provider has no inventory
of any more. Exit status: 0 nothing found, 1 findings, 2 database error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

import sqlalchemy as sa

from allotment.commands.output import table
from allotment.config import Settings
from allotment.store import audit
from allotment.store.connect import open_database
from allotment.store.engine import Database

SECTIONS = (
    (
        "allocations_without_consumer",
        "Allocations whose consumer has no consumers row",
        audit.orphan_allocations,
    ),
    (
        "consumers_without_allocations",
        "Consumers with no allocations",
        audit.consumers_without_allocations,
    ),
    ("providers_over_capacity", "Providers whose usage exceeds capacity", audit.over_capacity),
    (
        "allocations_without_inventory",
        "Allocations against classes without inventory",
        audit.allocations_without_inventory,
    ),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "audit",
        help="list orphaned, over-capacity and inventory-less data",
        description="Exit 0 when nothing is found, 1 when something is, 2 on error.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(settings, create=False)
    try:
        findings = collect(db)
    except sa.exc.SQLAlchemyError as error:
        print(f"allotment: audit failed: {error}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(findings, indent=2, sort_keys=True))
    else:
        print(render(findings))
    return 1 if any(findings.values()) else 0


def collect(db: Database) -> dict[str, list[dict[str, Any]]]:
    with db.read() as conn:
        return {
            key: [dataclasses.asdict(item) for item in query(conn)]
            for key, _title, query in SECTIONS
        }


def render(findings: dict[str, list[dict[str, Any]]]) -> str:
    out = []
    for key, title, _query in SECTIONS:
        items = findings[key]
        out.append(f"{title}: {len(items)}")
        if items:
            headers = list(items[0])
            out.append(table(headers, [[item[h] for h in headers] for item in items]))
    return "\n".join(out)
