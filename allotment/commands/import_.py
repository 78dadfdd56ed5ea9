"""``allotment db import --from URL``: copy a nova_api or placement database into ours.

Exit status: 0 imported and verified; 1 the copy did not verify (nothing was
imported); 2 refused or failed (target not empty, unreadable source, a
database error) with nothing imported.
"""

from __future__ import annotations

import argparse
import sys

import sqlalchemy as sa

from allotment.commands.output import Progress, table
from allotment.config import Settings
from allotment.store import importer, schema
from allotment.store.connect import open_database
from allotment.store.source import SourceError


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import",
        help="copy placement data from a nova_api or placement database",
        description="Copy providers, inventories, traits, aggregates, classes, consumers and "
        "allocations from another database, in one transaction, then verify the copy.",
    )
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="SQLAlchemy URL of the source (read only)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace the data of a target that is not empty"
    )
    parser.add_argument(
        "--batch-size",
        type=_positive,
        default=5000,
        metavar="N",
        help="rows read and written per batch (default 5000)",
    )
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    target = open_database(settings, create=True)
    progress = Progress()
    options = importer.ImportOptions(
        batch_size=args.batch_size,
        force=args.force,
        incomplete_project_id=settings.incomplete_consumer_project_id,
        incomplete_user_id=settings.incomplete_consumer_user_id,
        on_batch=progress,
    )
    try:
        # Creating/upgrading the schema changes no data; the import itself is all or nothing.
        schema.upgrade(target)
        report = importer.run_import(args.source, target, options)
    except importer.VerificationFailed as failure:
        progress.finish()
        print_report(failure.report)
        print(f"allotment: {failure}", file=sys.stderr)
        return 1
    except (importer.TargetNotEmpty, SourceError) as error:
        progress.finish()
        print(f"allotment: {error}", file=sys.stderr)
        return 2
    except sa.exc.SQLAlchemyError as error:
        progress.finish()
        print(f"allotment: import failed, nothing was imported: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        progress.finish()
        print("allotment: interrupted, nothing was imported", file=sys.stderr)
        return 130
    finally:
        target.dispose()
    progress.finish()
    print_report(report)
    return 0


def print_report(report: importer.ImportReport) -> None:
    print(f"source: {report.schema.kind}")
    for note in report.schema.notes:
        print(f"  note: {note}")
    if report.wiped:
        wiped = ", ".join(f"{n} {name}" for name, n in report.wiped.items() if n)
        print(f"replaced existing target data (--force): {wiped}")
    if report.roots_set:
        print(f"providers without root_provider_id made their own root: {report.roots_set}")
    if report.incomplete_consumers:
        print(
            f"consumers created for allocations without one (incomplete project/user): "
            f"{report.incomplete_consumers}"
        )
    print(
        table(
            ("table", "source rows", "target rows", "expected", "check"),
            [
                (c.table, c.source, c.target, c.expected, "ok" if c.ok else "MISMATCH")
                for c in report.counts
            ],
        )
    )
    print(
        table(
            ("sums compared", "keys", "differences", "check"),
            [(s.name, s.groups, s.mismatches, "ok" if s.ok else "MISMATCH") for s in report.sums],
        )
    )
    for check in report.sums:
        for example in check.examples:
            print(f"  {check.name}: {example}")
    print(f"{report.rows} rows in {report.seconds:.1f}s ({report.rate:,.0f} rows/s)")
