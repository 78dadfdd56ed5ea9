"""``allotment db backup TARGET``: a consistent copy of the embedded SQLite
database, taken while the API keeps serving (see ``store/backup.py``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from allotment.config import Settings
from allotment.store.backup import BackupError, backup_sqlite
from allotment.store.engine import Database


def add_parser(db_sub: argparse._SubParsersAction) -> None:
    parser = db_sub.add_parser(
        "backup", help="copy the SQLite database to TARGET while serving (online backup API)"
    )
    parser.add_argument("target", metavar="TARGET", help="the file to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout) -> int:
    db = Database(settings.database_url)
    try:
        result = backup_sqlite(db, Path(args.target))
    except BackupError as error:
        print(f"allotment: {error}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(
        f"backup written to {result.path} ({result.size} bytes, "
        f"schema revision {result.revision or 'none'})",
        file=out,
    )
    return 0
