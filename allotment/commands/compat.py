"""``placement-manage`` and ``placement-status``: upstream's command names.

Deployment tools (kolla-ansible, OpenStack-Ansible, charms) call these; they
take upstream's global options (``--config-file``, ``--config-dir``) and
subcommands and answer with upstream's output shape and exit codes:

- ``placement-manage db sync`` (silent on success), ``db version`` (prints the
  revision), ``db stamp REVISION``, ``db online_data_migrations [--max-count N]``
  (0 done, 1 more to do, 2 errors, 127 bad ``--max-count``);
- ``placement-status upgrade check`` (0 success, 1 warning, 2 failure).

A failure is one line on standard error and exit 1 (``--debug`` for the
traceback), as for ``allotment``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from allotment import __version__
from allotment.config import Settings


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--config-file", action="append", metavar="PATH")
    parser.add_argument("--config-dir", action="append", metavar="DIR")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")


def _db_sync(args: argparse.Namespace, settings: Settings) -> int:
    from allotment.store import schema
    from allotment.store.connect import open_database

    schema.upgrade(open_database(settings, create=True))
    return 0


def _db_version(args: argparse.Namespace, settings: Settings) -> int:
    from allotment.store import schema
    from allotment.store.connect import open_database

    print(schema.current_revision(open_database(settings, create=False)))
    return 0


def _db_stamp(args: argparse.Namespace, settings: Settings) -> int:
    from allotment.store import schema
    from allotment.store.connect import open_database

    schema.stamp(open_database(settings, create=False), args.version)
    return 0


def manage_parser() -> argparse.ArgumentParser:
    from allotment.commands import online_migrations

    parser = argparse.ArgumentParser(prog="placement-manage")
    _common(parser)
    sub = parser.add_subparsers(dest="category", required=True)
    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="action", required=True)
    db_sub.add_parser("sync", help="upgrade the schema to head").set_defaults(func=_db_sync)
    db_sub.add_parser("version", help="print the schema revision").set_defaults(func=_db_version)
    stamp = db_sub.add_parser("stamp", help="record a revision without migrating")
    stamp.add_argument("version")
    stamp.set_defaults(func=_db_stamp)
    online_migrations.add_parser(db_sub)
    return parser


def status_parser() -> argparse.ArgumentParser:
    from allotment.commands import status

    parser = argparse.ArgumentParser(prog="placement-status")
    _common(parser)
    sub = parser.add_subparsers(dest="category", required=True)
    upgrade = sub.add_parser("upgrade", help="upgrade readiness")
    upgrade_sub = upgrade.add_subparsers(dest="action", required=True)
    upgrade_sub.add_parser("check", help="run the upgrade checks").set_defaults(func=status.run)
    return parser


def manage_main(argv: Sequence[str] | None = None) -> int:
    from allotment import cli

    return cli.run(manage_parser().parse_args(argv), prog="placement-manage")


def status_main(argv: Sequence[str] | None = None) -> int:
    from allotment import cli

    return cli.run(status_parser().parse_args(argv), prog="placement-status")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(manage_main(sys.argv[1:]))
