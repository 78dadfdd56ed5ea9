"""The ``allotment`` command: serve, db, status, audit, explain, tree, top, policy."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from allotment import __version__, config
from allotment.logs import setup_logging

if TYPE_CHECKING:
    from allotment.store.engine import Database

Command = Callable[[argparse.Namespace, config.Settings], int]


def _settings(args: argparse.Namespace) -> config.Settings:
    overrides = {
        "database_url": _database_argument(args),
        "bind": getattr(args, "bind", None),
        "workers": getattr(args, "workers", None),
    }
    return config.load(
        getattr(args, "config_file", None),
        overrides,
        config_dir=getattr(args, "config_dir", None),
    )


def _database_argument(args: argparse.Namespace) -> str | None:
    """--database URL, or the first line of --database-file PATH (keeps the
    password out of ``ps``)."""
    path = getattr(args, "database_file", None)
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.readline().strip() or None
        except OSError as error:
            raise config.ConfigError(f"--database-file {path}: {error.strerror}") from None
    return getattr(args, "database", None)


def cmd_serve(args: argparse.Namespace, settings: config.Settings) -> int:
    from allotment import startup
    from allotment.app import check_settings
    from allotment.server import serve

    startup.announce(settings)
    check_settings(settings)  # refuse a broken policy file (etc.) before forking workers
    serve(settings, threads=args.threads)
    return 0


def _open(settings: config.Settings, create: bool) -> Database:
    from allotment.store.connect import open_database

    return open_database(settings, create=create)


def cmd_db_upgrade(args: argparse.Namespace, settings: config.Settings) -> int:
    from allotment.store import schema

    db = _open(settings, create=True)
    schema.upgrade(db, args.revision)
    print(f"database at {schema.current_revision(db)}")
    return 0


def cmd_db_current(args: argparse.Namespace, settings: config.Settings) -> int:
    from allotment.store import schema

    db = _open(settings, create=False)
    current = schema.current_revision(db)
    head = schema.head_revision()
    if current == head:
        suffix = " (head)"
    else:
        problem = schema.problem(db)
        suffix = f" (head is {head}: {problem})" if problem else f" (head is {head})"
    print(f"{current or 'none'}{suffix}")
    return 0


def cmd_db_stamp(args: argparse.Namespace, settings: config.Settings) -> int:
    from allotment.store import schema

    db = _open(settings, create=False)
    schema.stamp(db, args.revision)
    print(f"database stamped at {args.revision}")
    return 0


def cmd_policy_list(args: argparse.Namespace, settings: config.Settings) -> int:
    from allotment.commands import policy

    return policy.list_rules(settings, sys.stdout, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="allotment", description=__doc__)
    parser.add_argument("--version", action="version", version=f"allotment {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of a failure (and log DEBUG)"
    )
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
    from allotment.commands import config_sample

    config_sample.add_parser(sub)
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
        "--config-dir",
        action="append",
        metavar="DIR",
        default=default,
        help="a directory of *.conf files read after the files (repeatable)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        default=default,
        help="SQLAlchemy database URL (overrides the config file; a password in it is "
        "moved out of the process arguments)",
    )
    parser.add_argument(
        "--database-file",
        metavar="PATH",
        default=default,
        help="read the database URL from the first line of this file",
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
        openapi,
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
    openapi.add_parser(sub)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        _hide_database_password()
    parser = build_parser()
    args = parser.parse_args(argv)
    return run(args)


def run(args: argparse.Namespace, prog: str = "allotment") -> int:
    """Run a parsed command: every failure an operator can cause is one line on
    standard error and a non-zero exit; ``--debug`` adds the traceback."""
    from allotment.commands.errors import describe

    debug = bool(getattr(args, "debug", False))
    try:
        settings = None
        if getattr(args, "needs_settings", True):
            settings = _settings(args)
            if debug:
                settings = settings.replace(debug=True)
            setup_logging(settings)
        func: Command = args.func
        return func(args, settings)  # type: ignore[arg-type]
    except BrokenPipeError:
        # `allotment policy list | head`: the reader left; that is not a failure.
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        message = describe(error)
        if message is None or debug:
            if message is None:
                raise
            import traceback

            traceback.print_exc()
        print(f"{prog}: {message}", file=sys.stderr)
        return 2 if message.startswith("configuration error") else 1


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _hide_database_password() -> None:
    """``--database URL`` with a password: re-run this process with the URL moved
    into ``ALLOTMENT_DATABASE_URL`` (visible to the same user only, not in ``ps``).
    The password is in the process list only for the moment before the exec."""
    argv = sys.argv[1:]
    for index, arg in enumerate(argv):
        if arg == "--database" and index + 1 < len(argv):
            url, rest = argv[index + 1], argv[:index] + argv[index + 2 :]
        elif arg.startswith("--database="):
            url, rest = arg.split("=", 1)[1], argv[:index] + argv[index + 1 :]
        else:
            continue
        if not _has_password(url):
            return
        env = dict(os.environ, ALLOTMENT_DATABASE_URL=url)
        os.execve(sys.executable, [sys.executable, "-m", "allotment", *rest], env)
    return


def _has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        return bool(make_url(url).password)
    except Exception:  # noqa: BLE001 - not a URL: nothing to hide, the error comes later
        return False
