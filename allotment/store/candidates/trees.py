"""Loading whole provider trees (traits, aggregates, inventories with usage).

Both candidate sources read providers through ``load_trees``: SQL research for
the trees of a window's anchors, the in-memory model for the whole cloud at
start and, after every write another worker commits, for the trees that write
touched (a claim: one tree). That last case runs once per candidate request
under load, so its statements are built once here, with the ids as
execution-time parameters: building and cache-keying a statement costs more
Python than running it does. The ids are still rendered inline
(``literal_execute``): integers only, so no bind-parameter limits apply to a
write that touched thousands of trees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.store import listed
from allotment.store.candidates.universe import Inventory, Provider
from allotment.store.tables import allocations as alloc
from allotment.store.tables import inventories as inv
from allotment.store.tables import placement_aggregates as aggs
from allotment.store.tables import resource_classes as rc_t
from allotment.store.tables import resource_provider_aggregates as rpa
from allotment.store.tables import resource_provider_traits as rpt
from allotment.store.tables import resource_providers as rp
from allotment.store.tables import traits as traits_t


def _inline(name: str, expanding: bool = False) -> sa.BindParameter:
    return sa.bindparam(name, type_=sa.Integer, expanding=expanding, literal_execute=True)


def _in_ids(column: sa.ColumnElement) -> sa.ColumnElement:
    """``column IN :ids`` bounded by the ids' range (``:low``, ``:high``) too.

    The range lets PostgreSQL's planner see how few rows match and walk the
    column's index instead of scanning the whole table (the IN list alone is
    estimated poorly once it has hundreds of values).
    """
    return sa.and_(
        column.in_(_inline("ids", expanding=True)),
        column.between(_inline("low"), _inline("high")),
    )


def used_column() -> sa.ColumnElement:
    """Current usage of the inventory row's provider and class.

    A correlated scalar subquery: it walks the covering (provider, class, used)
    index of allocations and needs no table statistics to get a good plan
    (a grouped derived table is much slower on SQLite, and on PostgreSQL
    before ANALYZE).
    """
    return sa.func.coalesce(
        sa.select(sa.func.sum(alloc.c.used))
        .where(
            alloc.c.resource_provider_id == inv.c.resource_provider_id,
            alloc.c.resource_class_id == inv.c.resource_class_id,
        )
        .scalar_subquery(),
        0,
    )


_PROVIDERS = sa.select(rp.c.id, rp.c.uuid, rp.c.parent_provider_id, rp.c.root_provider_id)
_TRAITS = (
    sa.select(rpt.c.resource_provider_id, traits_t.c.name)
    .select_from(rpt.join(traits_t, traits_t.c.id == rpt.c.trait_id))
    .order_by(rpt.c.trait_id)
)
_AGGREGATES = sa.select(rpa.c.resource_provider_id, aggs.c.uuid).select_from(
    rpa.join(aggs, aggs.c.id == rpa.c.aggregate_id)
)
# An inventory's numbers in ``Inventory``'s order, up to the ratio.
_INVENTORY_UNITS = (inv.c.total, inv.c.reserved, inv.c.min_unit, inv.c.max_unit, inv.c.step_size)
_INVENTORIES = sa.select(
    inv.c.resource_provider_id,
    rc_t.c.name,
    *_INVENTORY_UNITS,
    inv.c.allocation_ratio,
    used_column(),
).select_from(inv.join(rc_t, rc_t.c.id == inv.c.resource_class_id))


class _Statements:
    """The four statements of ``load_trees``, for every tree or for listed ones."""

    def __init__(self, listed: bool) -> None:
        def where(query: sa.Select, column: sa.ColumnElement) -> sa.Select:
            return query.where(_in_ids(column)) if listed else query

        self.providers = where(_PROVIDERS, rp.c.root_provider_id)
        self.traits = where(_TRAITS, rpt.c.resource_provider_id)
        self.aggregates = where(_AGGREGATES, rpa.c.resource_provider_id)
        self.inventories = where(_INVENTORIES, inv.c.resource_provider_id)


_ALL = _Statements(listed=False)
_LISTED = _Statements(listed=True)


def _id_params(ids: Iterable[int]) -> dict[str, object]:
    values = sorted(set(ids))
    return {"ids": values, "low": values[0], "high": values[-1]}


def load_trees(conn: Connection, roots: set[int] | None) -> list[Provider]:
    """Every provider of the given trees (None: of every tree) with traits,
    aggregates, inventories and usage.

    The providers first (root index), then everything else by provider id, so
    each query walks the provider-id index of its table.
    """
    if roots is not None and not roots:
        return []
    statements = _ALL if roots is None else _LISTED
    base = conn.execute(statements.providers, _id_params(roots) if roots else {}).all()
    if not base:
        return []
    params = _id_params(row[0] for row in base) if roots is not None else {}
    traits_of: dict[int, list[str]] = {}
    for pid, name in conn.execute(statements.traits, params):
        traits_of.setdefault(pid, []).append(name)
    aggs_of: dict[int, set[str]] = {}
    for pid, uuid in conn.execute(statements.aggregates, params):
        aggs_of.setdefault(pid, set()).add(uuid)
    inventories_of = inventories_from(conn.execute(statements.inventories, params))
    return _providers(base, traits_of, aggs_of, inventories_of)


def _providers(
    base: Iterable[Sequence[Any]],
    traits_of: dict[int, list[str]],
    aggs_of: dict[int, set[str]],
    inventories_of: dict[int, dict[str, Inventory]],
) -> list[Provider]:
    """``Provider`` objects from (id, uuid, parent id, root id) rows and what each
    provider has (its trait names already in trait id order)."""
    none: frozenset[str] = frozenset()
    return [
        Provider(
            id=pid,
            uuid=uuid,
            root_id=root,
            parent_id=parent,
            traits=frozenset(traits_of[pid]) if pid in traits_of else none,
            trait_order=tuple(traits_of.get(pid, ())),
            aggregates=frozenset(aggs_of[pid]) if pid in aggs_of else none,
            inventories=inventories_of.get(pid, {}),
        )
        for pid, uuid, parent, root in base
    ]


# ---------------------------------------------------------------------------
# A few trees in one round trip: what the model reloads after a claim

# At most this many roots go to ``load_few_trees`` (bound parameters: the
# statement's text, and so PostgreSQL's prepared plan, depends only on how
# many there are).
FEW_TREES = 16

_KIND_PROVIDER, _KIND_TRAIT, _KIND_AGGREGATE, _KIND_INVENTORY = range(4)


_INTEGERS = 7  # integer columns of every row of the few-trees statement


def _tree_rows(
    kind: int,
    provider_id: sa.ColumnElement,
    text: sa.ColumnElement,
    integers: list[sa.ColumnElement],
    ratio: sa.ColumnElement | None = None,
    joined: sa.FromClause | None = None,
) -> sa.Select:
    """One ``UNION ALL`` member of ``_few_trees_statement``: (kind, provider id,
    text, ``_INTEGERS`` integers padded with NULLs, ratio), for the providers of
    the trees rooted at ``:roots`` (``joined`` to the providers table on
    ``provider_id``)."""
    padding = [sa.cast(sa.null(), sa.Integer)] * (_INTEGERS - len(integers))
    query = sa.select(
        sa.literal_column(str(kind), sa.Integer).label("kind"),
        provider_id,
        text,
        *integers,
        *padding,
        ratio if ratio is not None else sa.cast(sa.null(), sa.Float),
    )
    if joined is not None:
        query = query.select_from(joined.join(rp, rp.c.id == provider_id))
    return query.where(rp.c.root_provider_id.in_(sa.bindparam("roots", expanding=True)))


def _few_trees_statement() -> sa.CompoundSelect:
    """Providers, traits, aggregates and inventories of the trees rooted at
    ``:roots``, as one ``UNION ALL`` of rows shaped alike, NULL where a kind has
    nothing to say."""
    return sa.union_all(
        _tree_rows(
            _KIND_PROVIDER, rp.c.id, rp.c.uuid, [rp.c.parent_provider_id, rp.c.root_provider_id]
        ),
        _tree_rows(
            _KIND_TRAIT,
            rpt.c.resource_provider_id,
            traits_t.c.name,
            [rpt.c.trait_id],
            joined=rpt.join(traits_t, traits_t.c.id == rpt.c.trait_id),
        ),
        _tree_rows(
            _KIND_AGGREGATE,
            rpa.c.resource_provider_id,
            aggs.c.uuid,
            [],
            joined=rpa.join(aggs, aggs.c.id == rpa.c.aggregate_id),
        ),
        _tree_rows(
            _KIND_INVENTORY,
            inv.c.resource_provider_id,
            rc_t.c.name,
            [*_INVENTORY_UNITS, used_column()],
            ratio=sa.cast(inv.c.allocation_ratio, sa.Float),
            joined=inv.join(rc_t, rc_t.c.id == inv.c.resource_class_id),
        ),
    )


_FEW_TREES = _few_trees_statement()


def load_few_trees(conn: Connection, roots: set[int]) -> list[Provider]:
    """What ``load_trees`` returns for these roots (at most ``FEW_TREES``), read
    in one statement instead of four: the model's reload after every claim
    another worker made costs one round trip."""
    if len(roots) > FEW_TREES:
        return load_trees(conn, roots)
    if not roots:
        return []
    base: list[tuple[int, str, int | None, int]] = []
    traits_by_id: dict[int, list[tuple[int, str]]] = {}
    aggs_of: dict[int, set[str]] = {}
    rows: list[sa.Row] = []
    for row in conn.execute(_FEW_TREES, {"roots": sorted(roots)}):
        kind, pid, text = row[0], row[1], row[2]
        if kind == _KIND_PROVIDER:
            base.append((pid, text, row[3], row[4]))
        elif kind == _KIND_TRAIT:
            traits_by_id.setdefault(pid, []).append((row[3], text))
        elif kind == _KIND_AGGREGATE:
            aggs_of.setdefault(pid, set()).add(text)
        else:
            rows.append(row)
    inventories_of = inventories_from(
        (pid, name, total, reserved, low, high, step, ratio, used)
        for _, pid, name, total, reserved, low, high, step, used, _, ratio in rows
    )
    traits_of = {pid: [name for _, name in sorted(named)] for pid, named in traits_by_id.items()}
    return _providers(sorted(base), traits_of, aggs_of, inventories_of)


# The inventories (with usage) of listed providers: what the model reloads
# after an allocation write, which changes nothing else. Bound ids: the
# text, and so PostgreSQL's prepared plan, depends only on how many (on
# PostgreSQL, not even that: one array).
_LISTED_INVENTORIES = listed.ByDialect(
    lambda arrays: _INVENTORIES.where(listed.one_of(inv.c.resource_provider_id, "ids", arrays))
)


def load_inventories(conn: Connection, provider_ids: set[int]) -> dict[int, dict[str, Inventory]]:
    """Provider id -> its inventories with their usage now (a provider without
    any, or gone, is left out)."""
    if not provider_ids:
        return {}
    return inventories_from(conn.execute(_LISTED_INVENTORIES(conn), {"ids": sorted(provider_ids)}))


# An inventory row as the model's poll reads it (``candidates.poll``): provider
# id, class name, the units, the ratio as a float, the usage.
INVENTORY_COLUMNS = (
    inv.c.resource_provider_id,
    rc_t.c.name,
    *_INVENTORY_UNITS,
    sa.cast(inv.c.allocation_ratio, sa.Float),
    used_column(),
)
INVENTORY_JOIN = inv.join(rc_t, rc_t.c.id == inv.c.resource_class_id)


def inventories_from(rows: Iterable[Sequence[Any]]) -> dict[int, dict[str, Inventory]]:
    """Provider id -> its inventories, from (provider id, class name, the units,
    ratio, usage) rows: ``INVENTORY_COLUMNS``, and every inventory read here."""
    out: dict[int, dict[str, Inventory]] = {}
    for pid, name, total, reserved, min_unit, max_unit, step, ratio, used in rows:
        out.setdefault(pid, {})[name] = Inventory(
            total, reserved, min_unit, max_unit, step, float(ratio), int(used)
        )
    # Deterministic class order inside each provider.
    return {pid: dict(sorted(invs.items())) for pid, invs in out.items()}
