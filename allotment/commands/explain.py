"""``allotment explain [--json] [--microversion X] [--url URL] QUERY``: why (no) candidates.

QUERY is the query string of GET /allocation_candidates (for example
``'resources=VCPU:4,MEMORY_MB:8192&required=HW_CPU_X86_AVX2'``). By default
the configured database is read directly (no server needed), with the same
parser, microversion rules and ``[placement]`` options as the API; with
``--url`` a running server's GET /allocation_candidates/explain is asked
instead. Prints the verdict and nearest misses, then the funnels; ``--json``
prints the endpoint's document (docs/explain.md). Exit status: 0 when
candidates exist, 1 when there are none, 2 for a bad query or an error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa

from allotment.commands.output import table
from allotment.config import Settings

DEFAULT_TOKEN = "admin"


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "explain",
        help="explain why an allocation candidates query returns what it returns",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("query", metavar="QUERY", help="the GET /allocation_candidates query")
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    parser.add_argument(
        "--microversion", default="latest", metavar="X", help="placement microversion (latest)"
    )
    parser.add_argument("--url", metavar="URL", help="ask the server at URL instead")
    parser.add_argument(
        "--token",
        default=None,
        help="X-Auth-Token for --url (default $OS_AUTH_TOKEN, else 'admin' for noauth2)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    query = args.query[1:] if args.query.startswith("?") else args.query
    try:
        if args.url:
            document = _ask_server(args.url, query, args.microversion, args.token)
        else:
            document = _ask_database(settings, query, args.microversion)
    except ExplainError as error:
        print(f"allotment: explain: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        print(render(document))
    return 0 if document["candidates"]["before_limit"] else 1


class ExplainError(Exception):
    """A bad query, an unreachable database or server: one line for the operator."""


def _ask_database(settings: Settings, query: str, microversion: str) -> dict[str, Any]:
    from allotment import exceptions as exc
    from allotment.http import microversion as mv
    from allotment.http.errors import HTTPError
    from allotment.http.handlers.allocation_candidate import parse_request, search_options
    from allotment.store.connect import open_database
    from allotment.store.explain import explain

    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    try:
        version = mv.parse_version(microversion)
        request = parse_request(params, version)
    except HTTPError as error:
        raise ExplainError(error.message.replace("\n", " ")) from None
    db = open_database(settings, create=False)  # reads only: never creates a file
    try:
        with db.read() as conn:
            return explain(conn, request, search_options(settings))
    except exc.ResourceClassNotFound as error:
        raise ExplainError(f"Invalid resource class in resources parameter: {error}") from None
    except exc.TraitNotFound as error:
        raise ExplainError(f"Invalid trait in required parameter: {error}") from None
    except sa.exc.SQLAlchemyError as error:
        raise ExplainError(f"database error: {str(error).splitlines()[0]}") from None
    finally:
        db.dispose()


def _ask_server(url: str, query: str, microversion: str, token: str | None) -> dict[str, Any]:
    target = url.rstrip("/") + "/allocation_candidates/explain?" + query
    request = urllib.request.Request(
        target,
        headers={
            "Accept": "application/json",
            "OpenStack-API-Version": f"placement {microversion}",
            "X-Auth-Token": token or os.environ.get("OS_AUTH_TOKEN") or DEFAULT_TOKEN,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise ExplainError(f"{url}: HTTP {error.code}: {_detail(error)}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ExplainError(f"{url}: {error}") from None


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read())
        return str(body["errors"][0]["detail"]).replace("\n", " ")
    except (ValueError, KeyError, IndexError, TypeError):
        return str(error.reason)


def _who(miss: dict[str, Any]) -> str:
    name = miss.get("name") or miss["uuid"]
    if miss.get("root_uuid") and miss["root_uuid"] != miss["uuid"]:
        return f"{name} (in {miss.get('root_name') or miss['root_uuid']})"
    return name


def render(document: dict[str, Any]) -> str:
    """The verdict and nearest misses first, then each funnel as a table."""
    verdict = document["verdict"]
    counts = document["candidates"]
    out = [f"Verdict: {verdict['step']}: {verdict['message']}"]
    limit = counts["limit"]
    out.append(
        f"Candidates: {counts['before_limit']} before limit, {counts['returned']} returned"
        + (f" (limit {limit})" if limit is not None else "")
        + ("" if counts["complete"] else " (counting stopped)")
    )
    if verdict["nearest_misses"]:
        out += ["", "Nearest misses (failed only that step):"]
        for miss in verdict["nearest_misses"]:
            out.append(f"  {_who(miss)} {miss['uuid']}")
            out += [f"    - {lack}" for lack in miss["lacks"]]
    for group in document["groups"]:
        label = f"group {group['suffix']!r}" if group["suffix"] else "unnumbered group"
        wanted = ",".join(f"{rc}:{n}" for rc, n in sorted(group["resources"].items()))
        out += ["", f"{label} ({wanted or 'no resources'}): providers left after each step"]
        classes = sorted(group["resources"]) if group["funnel"][-1].get("by_class") else []
        rows = [
            [e["step"], e["remaining"], *(e.get("by_class", {}).get(rc, "") for rc in classes)]
            for e in group["funnel"]
        ]
        out.append(table(["step", "remaining", *classes], rows))
    out += ["", "Trees left after each step"]
    out.append(
        table(["step", "remaining"], [[e["step"], e["remaining"]] for e in document["tree_funnel"]])
    )
    return "\n".join(out)
