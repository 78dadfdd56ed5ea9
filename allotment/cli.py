"""The ``allotment`` command: serve, db, status, audit, explain, tree, top, policy."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from allotment import config
from allotment.logs import setup_logging

Command = Callable[[argparse.Namespace, config.Settings], int]


def _settings(args: argparse.Namespace) -> config.Settings:
    overrides = {
        "database_url": getattr(args, "database", None),
        "bind": getattr(args, "bind", None),
        "workers": getattr(args, "workers", None),
    }
    return config.load(getattr(args, "config_file", None), overrides)


def cmd_serve(args: argparse.Namespace, settings: config.Settings) -> int:
    from allotment.app import check_settings
    from allotment.server import serve

    check_settings(settings)  # refuse a broken policy file (etc.) before forking workers
    serve(settings, threads=args.threads)
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: config.Settings) -> int:
    from allotment.store import schema
    from allotment.store.engine import Database

    db = Database(settings.database_url)
    schema.upgrade(db, args.revision)
    print(f"database at {schema.current_revision(db)}")
    return 0


def cmd_db_current(args: argparse.Namespace, settings: config.Settings) -> int:
    from allotment.store import schema
    from allotment.store.engine import Database

    db = Database(settings.database_url)
    current = schema.current_revision(db)
    head = schema.head_revision()
    suffix = " (head)" if current == head else f" (head is {head})"
    print(f"{current or 'none'}{suffix}")
    return 0


def cmd_db_stamp(args: argparse.Namespace, settings: config.Settings) -> int:
    from allotment.store import schema
    from allotment.store.engine import Database

    db = Database(settings.database_url)
    schema.stamp(db, args.revision)
    print(f"database stamped at {args.revision}")
    return 0


def cmd_policy_list(args: argparse.Namespace, settings: config.Settings) -> int:
    from allotment.commands import policy

    return policy.list_rules(settings, sys.stdout, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="allotment", description=__doc__)
    _add_global_options(parser, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API with a multi-worker WSGI server")
    serve.add_argument("--bind", metavar="HOST:PORT", help="default 127.0.0.1:8778")
    serve.add_argument("--workers", type=int, metavar="N", help="worker processes (default 2)")
    serve.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="schema management")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    # "sync" and "version" are placement-manage's names for the same commands.
    upgrade = db_sub.add_parser(
        "upgrade", aliases=["sync"], help="upgrade the schema (default: to head)"
    )
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(func=cmd_db_upgrade)
    current = db_sub.add_parser("current", aliases=["version"], help="print the schema revision")
    current.set_defaults(func=cmd_db_current)
    stamp = db_sub.add_parser("stamp", help="record a revision without migrating")
    stamp.add_argument("revision")
    stamp.set_defaults(func=cmd_db_stamp)
    _add_operator_commands(sub, db_sub)

    policy = sub.add_parser("policy", help="authorization rules")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    policy_list = policy_sub.add_parser(
        "list", help="print every policy rule with its default and effective value"
    )
    policy_list.add_argument("--json", action="store_true", help="print JSON")
    policy_list.set_defaults(func=cmd_policy_list)
    _global_options_everywhere(parser)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--config-file",
        action="append",
        metavar="PATH",
        default=default,
        help="a placement.conf-style file (repeatable)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        default=default,
        help="SQLAlchemy database URL (overrides the config file)",
    )


def _global_options_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept --config-file/--database after any subcommand too
    (``allotment serve --config-file /etc/placement/placement.conf``)."""
    seen: set[int] = set()
    pending = [parser]
    while pending:
        current = pending.pop()
        for action in current._actions:
            if not isinstance(action, argparse._SubParsersAction):
                continue
            for sub in action.choices.values():
                if id(sub) in seen:
                    continue
                seen.add(id(sub))
                _add_global_options(sub, argparse.SUPPRESS)
                pending.append(sub)


def _add_operator_commands(
    sub: argparse._SubParsersAction, db_sub: argparse._SubParsersAction
) -> None:
    """db import, db adopt, status and audit: each module registers its own parser."""
    from allotment.commands import (
        adopt,
        audit,
        backup,
        explain,
        import_,
        online_migrations,
        status,
        top,
        tree,
    )

    import_.add_parser(db_sub)
    backup.add_parser(db_sub)
    adopt.add_parser(db_sub)
    online_migrations.add_parser(db_sub)
    status.add_parser(sub)
    audit.add_parser(sub)
    explain.add_parser(sub)
    tree.add_parser(sub)
    top.add_parser(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
    except config.ConfigError as error:
        print(f"allotment: configuration error: {error}", file=sys.stderr)
        return 2
    setup_logging(settings)
    func: Command = args.func
    try:
        return func(args, settings)
    except config.ConfigError as error:  # e.g. a broken policy file
        print(f"allotment: configuration error: {error}", file=sys.stderr)
        return 2
