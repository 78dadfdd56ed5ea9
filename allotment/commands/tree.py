"""``allotment tree [NAME|UUID ...]``: provider trees with inventory and usage bars.

Reads the configured database directly, or a running server with ``--url``
(the public API, with ``--token``). Each provider shows its generation,
traits, aggregates and one bar per inventory: ``#`` used, ``=`` reserved,
``.`` free, scaled to total x allocation_ratio. Under each root, the sharing
providers (trait MISC_SHARES_VIA_AGGREGATE) in an aggregate of that tree are
listed after its children. ``--json`` prints the same trees for scripts.
Exit status: 0, 1 when a NAME or UUID is unknown, 2 on a database or HTTP error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from allotment import exceptions as exc
from allotment.config import Settings
from allotment.http.microversion import MAX_VERSION
from allotment.model import Inventory
from allotment.store import provider_tree
from allotment.store.engine import Database
from allotment.store.provider_tree import SHARES, ProviderState

API_VERSION = f"placement {MAX_VERSION}"
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
PARALLEL = 8


class SourceError(Exception):
    """The database or server could not be read (exit 2)."""


def add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument(
        "--url", metavar="URL", help="read a running server's API instead of the database"
    )
    parser.add_argument(
        "--token",
        default=None,
        help="X-Auth-Token for --url (default $OS_TOKEN, else 'admin' for noauth2)",
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "tree",
        help="draw provider trees with inventory and usage bars",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("providers", nargs="*", metavar="NAME|UUID", help="default: every tree")
    parser.add_argument("--width", type=int, default=30, help="bar width (default 30)")
    add_source_options(parser)
    parser.set_defaults(func=run)


# ------------------------------------------------------------------ reading


def load(args: argparse.Namespace, settings: Settings, refs: Sequence[str]) -> list[ProviderState]:
    """Providers from the database or, with ``--url``, the API. Raises NotFound, SourceError."""
    if args.url:
        return _from_api(args.url, args.token or os.environ.get("OS_TOKEN") or "admin", refs)
    db = Database(settings.database_url)
    try:
        with db.read() as conn:
            return provider_tree.read(conn, refs)
    except (sa.exc.SQLAlchemyError, exc.DatabaseUnavailable) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise SourceError(f"cannot read the database: {reason}") from None
    finally:
        db.dispose()


def _from_api(url: str, token: str, refs: Sequence[str]) -> list[ProviderState]:
    import httpx

    headers = {"X-Auth-Token": token, "OpenStack-API-Version": API_VERSION}
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60) as client:

            def get(path: str, **params: str) -> Any:
                response = client.get(path, params=params)
                if response.status_code >= 400:
                    raise SourceError(f"GET {path}: {response.status_code} {_detail(response)}")
                return response.json()

            listed = _api_providers(get, refs)
            with ThreadPoolExecutor(PARALLEL) as pool:
                return list(pool.map(lambda p: _api_state(get, p), listed))
    except httpx.HTTPError as error:
        raise SourceError(f"cannot reach {url}: {error}") from None


def _detail(response: Any) -> str:
    try:
        return str(response.json()["errors"][0]["detail"])
    except (ValueError, KeyError, IndexError, TypeError):
        return response.text[:200]


def _api_providers(get: Any, refs: Sequence[str]) -> list[dict[str, Any]]:
    if not refs:
        return list(get("/resource_providers")["resource_providers"])
    found: dict[str, dict[str, Any]] = {}
    for ref in dict.fromkeys(refs):
        key = "uuid" if UUID_RE.match(ref) else "name"
        matches = get("/resource_providers", **{key: ref})["resource_providers"]
        if not matches:
            raise exc.ResourceProviderNotFound(f"No resource provider named or with uuid {ref}")
        for p in get("/resource_providers", in_tree=matches[0]["uuid"])["resource_providers"]:
            found[p["uuid"]] = p
    for p in get("/resource_providers", required=SHARES)["resource_providers"]:
        found.setdefault(p["uuid"], p)
    return list(found.values())


def _api_state(get: Any, p: dict[str, Any]) -> ProviderState:
    base = f"/resource_providers/{p['uuid']}"
    inventories = get(f"{base}/inventories")["inventories"]
    usages = get(f"{base}/usages")["usages"]
    return ProviderState(
        uuid=p["uuid"],
        name=p["name"],
        generation=p["generation"],
        parent_provider_uuid=p.get("parent_provider_uuid"),
        root_provider_uuid=p.get("root_provider_uuid") or p["uuid"],
        inventories={rc: Inventory(resource_class=rc, **inv) for rc, inv in inventories.items()},
        usages={rc: int(usages.get(rc, 0)) for rc in inventories},
        traits=tuple(sorted(get(f"{base}/traits")["traits"])),
        aggregates=tuple(sorted(get(f"{base}/aggregates")["aggregates"])),
    )


# ------------------------------------------------------------------ shaping


def capacity(inv: Inventory) -> int:
    """Placement's capacity: (total - reserved) x allocation_ratio, truncated."""
    return int((inv.total - inv.reserved) * inv.allocation_ratio)


def forest(providers: Iterable[ProviderState], refs: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Nested trees as plain data: each node with its children and, on roots, ``sharing``."""
    states = list(providers)
    by_uuid = {p.uuid: p for p in states}
    children: dict[str, list[ProviderState]] = {p.uuid: [] for p in states}
    tree_aggs: dict[str, set[str]] = {}
    for p in states:
        if p.parent_provider_uuid in children:
            children[p.parent_provider_uuid].append(p)
        tree_aggs.setdefault(p.root_provider_uuid, set()).update(p.aggregates)
    sharing = [p for p in states if SHARES in p.traits]
    wanted_roots = {
        by_uuid[p.uuid].root_provider_uuid for p in states if p.uuid in refs or p.name in refs
    }

    def node(p: ProviderState) -> dict[str, Any]:
        return {
            "uuid": p.uuid,
            "name": p.name,
            "generation": p.generation,
            "parent_provider_uuid": p.parent_provider_uuid,
            "root_provider_uuid": p.root_provider_uuid,
            "traits": list(p.traits),
            "aggregates": list(p.aggregates),
            "inventories": {
                rc: {
                    "total": inv.total,
                    "reserved": inv.reserved,
                    "min_unit": inv.min_unit,
                    "max_unit": inv.max_unit,
                    "step_size": inv.step_size,
                    "allocation_ratio": inv.allocation_ratio,
                    "capacity": capacity(inv),
                    "used": p.usages.get(rc, 0),
                }
                for rc, inv in sorted(p.inventories.items())
            },
            "children": [node(c) for c in sorted(children[p.uuid], key=_name_key)],
        }

    out = []
    roots = [p for p in states if p.parent_provider_uuid not in by_uuid]
    for root in sorted(roots, key=_name_key):
        if refs and root.uuid not in wanted_roots:
            continue  # a sharing provider read only to be listed under the trees asked for
        tree = node(root)
        aggs = tree_aggs.get(root.uuid, set())
        tree["sharing"] = [
            {"uuid": s.uuid, "name": s.name, "via": sorted(aggs & set(s.aggregates))}
            for s in sorted(sharing, key=_name_key)
            if s.root_provider_uuid != root.uuid and aggs & set(s.aggregates)
        ]
        out.append(tree)
    return out


def _name_key(p: ProviderState) -> tuple[str, str]:
    return (p.name, p.uuid)


# ------------------------------------------------------------------ drawing


def bar(inv: dict[str, Any], width: int) -> str:
    """``#`` used, ``=`` reserved, ``.`` free, scaled to total x allocation_ratio."""
    whole = inv["total"] * inv["allocation_ratio"] or 1
    used = min(width, round(width * inv["used"] / whole))
    reserved = min(width - used, round(width * inv["reserved"] * inv["allocation_ratio"] / whole))
    return "[" + "#" * used + "=" * reserved + "." * (width - used - reserved) + "]"


def draw(trees: list[dict[str, Any]], width: int) -> str:
    lines: list[str] = []
    for tree in trees:
        _draw_node(tree, "", "", lines, width)
        for s in tree["sharing"]:
            lines.append(f"  ~ shares with it: {s['name']} ({s['uuid']}) via {', '.join(s['via'])}")
        lines.append("")
    lines.append("bars: # used, = reserved, . free (of total x allocation_ratio)")
    return "\n".join(lines)


def _draw_node(
    node: dict[str, Any], lead: str, child_lead: str, lines: list[str], width: int
) -> None:
    lines.append(f"{lead}{node['name']} ({node['uuid']}) generation {node['generation']}")
    pad = child_lead + ("│   " if node["children"] else "    ")
    if node["traits"]:
        lines.append(f"{pad}traits: {', '.join(node['traits'])}")
    if node["aggregates"]:
        lines.append(f"{pad}aggregates: {', '.join(node['aggregates'])}")
    if not node["inventories"]:
        lines.append(f"{pad}no inventory")
    name_width = max((len(rc) for rc in node["inventories"]), default=0)
    for rc, inv in node["inventories"].items():
        reserved = f" (reserved {inv['reserved']})" if inv["reserved"] else ""
        lines.append(
            f"{pad}{rc.ljust(name_width)} {bar(inv, width)} {inv['used']}/{inv['capacity']}"
            f"{reserved}"
        )
    kids = node["children"]
    for i, child in enumerate(kids):
        last = i == len(kids) - 1
        _draw_node(
            child,
            child_lead + ("└── " if last else "├── "),
            child_lead + ("    " if last else "│   "),
            lines,
            width,
        )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.width < 1:
        print("allotment: --width must be at least 1", file=sys.stderr)
        return 2
    try:
        trees = forest(load(args, settings, args.providers), args.providers)
    except exc.NotFound as error:
        print(f"allotment: {error}", file=sys.stderr)
        return 1
    except SourceError as error:
        print(f"allotment: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(trees, indent=2))
    else:
        print(draw(trees, args.width))
    return 0
