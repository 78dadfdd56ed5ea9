"""``allotment db adopt``: take over an upstream placement database in place.

Exit status: 0 adopted (or already ours); 2 refused, with what to do instead.
"""

from __future__ import annotations

import argparse
import sys

from allotment.config import Settings
from allotment.store import adopt
from allotment.store.connect import open_database


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "adopt",
        help="take over an upstream placement database (at a082b8bb98d0) in place",
        description="Check the schema of an upstream placement database at alembic head "
        f"{adopt.UPSTREAM_HEAD}, sync the standard classes and traits, and stamp "
        "allotment's baseline revision. Nothing is dropped or rewritten.",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and print what would change, change nothing"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(settings, create=False)
    try:
        result = adopt.adopt(db, dry_run=args.dry_run)
    except adopt.AdoptRefused as refusal:
        print(f"allotment: cannot adopt this database: {refusal}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    if result.already_adopted:
        print(f"already an allotment database at {result.revision_after}; nothing to do")
        return 0
    print("\n".join(describe(result)))
    return 0


def describe(result: adopt.AdoptResult) -> list[str]:
    verb = "would change" if result.dry_run else "changed"
    lines = [f"schema matches upstream placement at {result.revision_before}", f"{verb}:"]
    lines.append(
        f"  alembic_version: {result.revision_before} -> {result.baseline} "
        "(allotment's baseline, the same schema)"
    )
    if result.revision_after != result.baseline:
        lines.append(
            f"  allotment migrations applied: {result.baseline} -> {result.revision_after}"
        )
    lines.append(
        f"  standard resource classes added: {len(result.classes_added)}"
        + (f" ({', '.join(result.classes_added)})" if result.classes_added else "")
    )
    lines.append(
        f"  standard traits added: {len(result.traits_added)}"
        + (f" ({', '.join(result.traits_added)})" if result.traits_added else "")
    )
    lines.append("  nothing else (no table, column, index or row was altered or removed)")
    lines.extend(f"note: {note}" for note in result.notes)
    if result.dry_run:
        lines.append("dry run: the database was not changed")
    return lines
