"""``allotment status``: upgrade readiness checks, like ``placement-status upgrade check``.

Exit status as oslo.upgradecheck: 0 every check succeeded, 1 a warning, 2 a failure.
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass
from enum import IntEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.config import Settings
from allotment.store import adopt, audit, schema
from allotment.store.connect import DatabaseMissing, open_database
from allotment.store.engine import Database

# Long details wrap, as upstream's table does, so the table fits a terminal.
DETAILS_WIDTH = 60


class Code(IntEnum):
    SUCCESS = 0
    WARNING = 1
    FAILURE = 2


@dataclass(frozen=True)
class Result:
    check: str
    code: Code
    details: str | None = None


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "status",
        help="upgrade readiness checks (like placement-status upgrade check)",
        description="Check the database and data; exit 0 success, 1 warning, 2 failure.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        db = open_database(settings, create=False)
    except DatabaseMissing as missing:  # a check result, and no file created
        results = [
            Result("Database Reachable And At Head", Code.FAILURE, str(missing)),
            _check_policy_file(settings),
        ]
    else:
        try:
            results = checks(db, settings)
        finally:
            db.dispose()
    print(render(results))
    return max(r.code for r in results)


def checks(db: Database, settings: Settings) -> list[Result]:
    """Every check; the data checks only run when the schema is there to query."""
    database, schema_usable = _check_database(db)
    results = [database]
    if schema_usable:
        with db.read() as conn:
            results += [_check_roots(conn), _check_consumers(conn), _check_standard(conn)]
    results.append(_check_policy_file(settings))
    return results


def _check_database(db: Database) -> tuple[Result, bool]:
    name = "Database Reachable And At Head"
    try:
        current = schema.current_revision(db)
    except sa.exc.DBAPIError as error:
        return Result(name, Code.FAILURE, f"cannot connect: {error.orig}"), False
    head = schema.head_revision()
    if current == head:
        return Result(name, Code.SUCCESS), True
    if current is None:
        return Result(name, Code.FAILURE, "no schema: run `allotment db upgrade`"), False
    if current == adopt.UPSTREAM_HEAD:
        detail = f"upstream placement database at {current}: run `allotment db adopt`"
        return Result(name, Code.FAILURE, detail), True
    return Result(
        name,
        Code.FAILURE,
        f"schema at {current}, expected {head}: run `allotment db upgrade` "
        "(or `allotment db import` for an older upstream database)",
    ), False


def _check_roots(conn: Connection) -> Result:
    missing = audit.providers_without_root(conn)
    if not missing:
        return Result("Missing Root Provider IDs", Code.SUCCESS)
    return Result(
        "Missing Root Provider IDs",
        Code.FAILURE,
        f"{missing} resource providers have no root_provider_id; re-import the "
        "data with `allotment db import`, which sets each one's root to itself",
    )


def _check_consumers(conn: Connection) -> Result:
    missing = audit.incomplete_consumer_count(conn)
    if not missing:
        return Result("Incomplete Consumers", Code.SUCCESS)
    return Result(
        "Incomplete Consumers",
        Code.WARNING,
        f"there are {missing} incomplete consumers: allocations whose consumer has "
        "no consumers row (see `allotment audit`)",
    )


def _check_standard(conn: Connection) -> Result:
    name = "Standard Resource Classes And Traits"
    drift = audit.standard_drift(conn)
    if drift.misnumbered_classes:
        wrong = drift.misnumbered_classes
        return Result(
            name,
            Code.FAILURE,
            "standard resource classes with unexpected ids: "
            + ", ".join(wrong[:5])
            + (", ..." if len(wrong) > 5 else ""),
        )
    missing = list(drift.missing_classes) + list(drift.missing_traits)
    if missing:
        return Result(
            name,
            Code.WARNING,
            f"{len(missing)} standard classes/traits of the installed os-resource-"
            f"classes/os-traits are not in the database ({', '.join(missing[:5])}"
            f"{', ...' if len(missing) > 5 else ''}); `allotment db upgrade` or a "
            "service restart adds them",
        )
    return Result(name, Code.SUCCESS)


def _check_policy_file(settings: Settings) -> Result:
    name = "Policy File JSON to YAML Migration"
    if settings.policy_file and settings.policy_file.endswith(".json"):
        return Result(
            name, Code.WARNING, f"policy file {settings.policy_file} is JSON; convert it to YAML"
        )
    return Result(name, Code.SUCCESS)


def render(results: list[Result]) -> str:
    """The boxed one-column table placement-status prints."""
    lines = ["Upgrade Check Results"]
    blocks = [
        [
            f"Check: {r.check}",
            f"Result: {r.code.name.title()}",
            *textwrap.wrap(f"Details: {r.details}", DETAILS_WIDTH, subsequent_indent="  "),
        ]
        for r in results
    ]
    width = max(len(x) for x in lines + [x for b in blocks for x in b])
    rule = "+" + "-" * (width + 2) + "+"

    def row(text: str) -> str:
        return f"| {text.ljust(width)} |"

    out = [rule, row(lines[0]), rule]
    for block in blocks:
        out += [row(x) for x in block] + [rule]
    return "\n".join(out)
