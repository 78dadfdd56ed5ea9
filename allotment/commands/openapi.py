"""``allotment openapi [--microversion X] [--output FILE]``: print the API description."""

from __future__ import annotations

import argparse
import sys

from allotment.config import Settings
from allotment.http import microversion as mv


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "openapi",
        help="print the OpenAPI 3.1 description of the API",
        description="Print the OpenAPI 3.1 document of one microversion (default: the latest).",
    )
    parser.add_argument("--microversion", default="latest", metavar="1.X")
    parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from allotment.openapi import document_bytes

    try:
        version = mv.parse_version(args.microversion)
    except mv.MicroversionError:
        print(
            f"allotment openapi: microversion must be 'latest' or {mv.MIN_VERSION} to "
            f"{mv.MAX_VERSION}, not {args.microversion!r}",
            file=sys.stderr,
        )
        return 2
    body = document_bytes(version) + b"\n"
    if args.output:
        try:
            with open(args.output, "wb") as out:
                out.write(body)
        except OSError as error:
            print(
                f"allotment openapi: cannot write {args.output}: {error.strerror}", file=sys.stderr
            )
            return 1
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0
