"""``allotment db online_data_migrations``: upstream's data fixes, with its exit codes.

Exit 0: nothing (more) to do; 1: ``--max-count`` was given and some work was
done (run again); 2: a migration failed; 127: a bad ``--max-count``.
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import TextIO

from sqlalchemy.engine import Connection

from allotment.config import Settings
from allotment.store import online_migrations
from allotment.store.connect import open_database
from allotment.store.engine import Database

DEFAULT_BATCH = 50


def _run_one(
    migration: online_migrations.Migration,
    conn: Connection,
    *,
    batch: int,
    project_id: str,
    user_id: str,
) -> tuple[int, int]:
    return migration(conn, batch, project_id, user_id)


def add_parser(db_sub: argparse._SubParsersAction) -> None:
    parser = db_sub.add_parser(
        "online_data_migrations",
        help="set missing root providers and create missing consumers (upstream parity)",
    )
    parser.add_argument(
        "--max-count", metavar="N", help="run one batch of at most N rows per migration"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout) -> int:
    max_count = None
    if args.max_count is not None:
        try:
            max_count = int(args.max_count)
        except ValueError:
            max_count = 0
        if max_count < 1:
            print("Must supply a positive value for --max-count", file=sys.stderr)
            return 127
    db = open_database(settings, create=False)
    try:
        return _run_all(db, settings, max_count, out)
    finally:
        db.dispose()


def _run_all(db: Database, settings: Settings, max_count: int | None, out: TextIO) -> int:
    totals = {name: [0, 0] for name, _ in online_migrations.MIGRATIONS}
    failed = False
    batch = max_count or DEFAULT_BATCH
    while True:
        done_this_round = 0
        for name, migration in online_migrations.MIGRATIONS:
            try:
                found, done = db.run_write(
                    functools.partial(
                        _run_one,
                        migration,
                        batch=batch,
                        project_id=settings.incomplete_consumer_project_id,
                        user_id=settings.incomplete_consumer_user_id,
                    )
                )
            except Exception as error:  # noqa: BLE001 - reported, then exit 2
                print(f"Error attempting to run {name}: {error}", file=sys.stderr)
                failed = True
                continue
            totals[name][0] = max(totals[name][0], found)
            totals[name][1] += done
            done_this_round += done
        if max_count is not None or done_this_round == 0:
            break
    _print_table(totals, out)
    if failed and not any(done for _, done in totals.values()):
        return 2
    if max_count is not None and any(done for _, done in totals.values()):
        return 1
    return 0


def _print_table(totals: dict[str, list[int]], out: TextIO) -> None:
    width = max(len(name) for name in totals)
    out.write(f"{'Migration':<{width}}  Total Found  Completed\n")
    for name, (found, done) in totals.items():
        out.write(f"{name:<{width}}  {found:>11}  {done:>9}\n")
