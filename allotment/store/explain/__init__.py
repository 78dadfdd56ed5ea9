"""Why (no) allocation candidates: the funnel of one GET /allocation_candidates query.

``explain(conn, request, options)`` answers with a JSON-ready document (its
shape is documented in docs/explain.md). It is computed by the engine that
answers GET /allocation_candidates (``allotment.store.candidates``):

1. ``research.plan``: the same names (unknown classes and traits raise the
   same errors). The source's ``load`` of every tree (the funnel counts every
   provider, not only the anchors). The source is the real query's: the
   worker's in-memory model when it is on, else SQL research.
2. Per group, ``funnel.group_funnel``. When one ends at zero there is no
   candidate (each of its tests is necessary) and nothing is searched.
3. Otherwise ``research.anchors``, the engine's anchor trees, and the number
   of candidates before the limit: ``counting.count_candidates`` over them,
   from the engine's own plan of each anchor (``plan.plan_anchor``),
   multiplying its options where no constraint ties them and running the
   engine's search (or generator) where one does.
4. For the request, ``trees.tree_funnel``, reusing what step 3 learnt of each
   planned anchor.
5. The verdict: the first step where nothing remains (groups in request order,
   then the tree steps), with up to five nearest misses: providers (or trees)
   that failed only that step, and what they lack.

From the in-memory model, steps 2-4 are sums over trees that the model keeps
per request and brings up to date with the trees changed since the last
explain (``tally``); the steps above run whole the first time, and for what
the sums cannot answer (see tally.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.store.candidates import counting, research, tree_memo
from allotment.store.candidates import model as model_mod
from allotment.store.candidates.request import UNNUMBERED, CandidateRequest, RequestGroup
from allotment.store.candidates.research import Plan, Window
from allotment.store.candidates.search import SearchOptions
from allotment.store.candidates.tree_memo import TreeMemo
from allotment.store.candidates.universe import Universe
from allotment.store.explain import funnel as funnel_mod
from allotment.store.explain import tally
from allotment.store.explain import trees as trees_mod
from allotment.store.tables import resource_providers as rp

PASSED = "passed"
LIMIT = "limit"
# Explain counts candidates before the limit up to this many (the search is
# output-bound; a wide tree can have millions).
COUNT_CAP = 20_000
# The memo's table of which trees are anchors (beside each request's plans).
ANCHORS = "anchors"


class Source(Protocol):
    """Where the engine's search gets its providers (its research step's three calls)."""

    def plan(self, request: CandidateRequest, windowed: bool) -> Plan: ...

    def anchors(self, plan: Plan, window: Window) -> list[int]: ...

    def load(self, plan: Plan, anchors: list[int]) -> Universe: ...


class SqlResearch:
    """The engine's SQL research on one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def plan(self, request: CandidateRequest, windowed: bool) -> Plan:
        return research.plan(self.conn, request, windowed=windowed)

    def anchors(self, plan: Plan, window: Window) -> list[int]:
        return research.anchors(self.conn, plan, window)

    def load(self, plan: Plan, anchors: list[int]) -> Universe:
        return research.load(self.conn, plan, anchors)


def explain(
    conn: Connection,
    request: CandidateRequest,
    options: SearchOptions | None = None,
    source: Source | None = None,
) -> dict[str, Any]:
    """The explanation document of ``request``. Raises the engine's errors for unknown names.

    ``source`` is where the engine's search gets its providers. By default the
    same as the real query's: the worker's in-memory model when
    ``options.in_memory`` (and the database has a change feed), else the SQL
    research on ``conn``.
    """
    options = options or SearchOptions()
    if source is None and options.in_memory:
        with model_mod.open_source(conn) as from_model:
            if from_model is not None:
                return _explain(conn, request, options, from_model)
    return _explain(conn, request, options, source or SqlResearch(conn))


class _ModelView(Universe):
    """Every tree of the worker's model as a ``Universe``, nothing copied: the
    model is locked while explain reads it (``model.open_source``), and
    neither explain nor the engine's planning and search write to a universe."""

    def __init__(self, model: model_mod.ProviderModel) -> None:  # no super(): it copies
        self.providers = model.providers
        self.trees = model.trees
        self.anchors = []
        self.__dict__["links"] = model.links
        self.__dict__["sharing_by_anchor"] = model.sharing_by_anchor
        self.__dict__["sharing_ids"] = model.sharing


def _whole(conn: Connection, source: Source, plan: Plan) -> Universe:
    """Every tree (the funnel counts every provider), with no anchors yet."""
    if isinstance(source, model_mod.ModelSource):
        return _ModelView(source.model)
    query = sa.select(rp.c.id).where(rp.c.id == rp.c.root_provider_id).order_by(rp.c.id)
    universe = source.load(plan, list(conn.execute(query).scalars()))
    universe.anchors = []
    return universe


def _memo(source: Source) -> TreeMemo | None:
    """The model's per-tree memo (SQL research reads every tree afresh: none)."""
    if isinstance(source, model_mod.ModelSource):
        return source.model.tree_memo
    return None


def _anchors(source: Source, plan: Plan, memo: TreeMemo | None) -> list[int]:
    """The engine's anchors (``source.anchors``), with the model's memo asked only
    about the trees it does not know: whether a tree is an anchor depends on its
    own providers and the sharing providers linked to it, as its plan does."""
    if memo is None or plan.hopeless or not isinstance(source, model_mod.ModelSource):
        return source.anchors(plan, None)
    examined = source.model.roots if plan.roots is None else plan.roots
    known = memo.table((ANCHORS, tree_memo.signature(plan.request, plan.in_tree_roots)))
    missing = [root for root in examined if root not in known]
    found = tally.anchors_among(source, plan, missing, whole=len(missing) == len(examined))
    for root in missing:
        known[root] = root in found
    return [root for root in examined if known[root]]


def _explain(
    conn: Connection, request: CandidateRequest, options: SearchOptions, source: Source
) -> dict[str, Any]:
    plan = source.plan(request, False)
    universe = _whole(conn, source, plan)
    searched = dataclasses.replace(request, limit=None)
    cap = COUNT_CAP if options.max_candidates < 0 else min(COUNT_CAP, options.max_candidates)
    if isinstance(source, model_mod.ModelSource):
        # The model keeps the funnels' sums tree by tree (tally.py).
        memo = source.model.tree_memo
        groups = tally.group_funnels(universe, plan, searched, memo)
        if all(g.zero_step is None for g in groups):
            found = tally.tree_counts(universe, source, plan, searched, memo, COUNT_CAP)
            if found is not None:
                before = min(found.candidates, cap)
                returned = before if request.limit is None else min(before, request.limit)
                if returned:
                    return _document(conn, request, groups, found.tree, before, returned, universe)
    else:
        groups = [
            funnel_mod.group_funnel(universe, group, plan.in_tree_roots.get(group.suffix))
            for group in request.groups
        ]
    served = all(g.zero_step is None for g in groups)
    watcher = trees_mod.Watcher(searched, _memo(source))
    before = 0
    if served:
        # A group's funnel ending at zero means no candidate (each of its tests
        # is necessary): the anchors and the count are only needed otherwise.
        universe.anchors = _anchors(source, plan, watcher.tree_memo)
        # The engine's plan of every anchor, its candidates counted without
        # limit (built only where counting cannot tell, see counting.py).
        counted = counting.count_candidates(
            universe,
            searched,
            plan.in_tree_roots,
            strategy=options.strategy,
            stop_after=cap,
            observer=watcher,
            trees=watcher.trees(universe, searched, plan.in_tree_roots),
        )
        before = counted.total
        watcher.produced.update(counted.per_anchor)
        watcher.stopped = counted.stopped
    returned = before if request.limit is None else min(before, request.limit)
    tree = trees_mod.tree_funnel(universe, searched, plan.in_tree_roots, watcher, served)
    document = _document(conn, request, groups, tree, before, returned, universe)
    watcher.done()
    return document


def _document(
    conn: Connection,
    request: CandidateRequest,
    groups: list[funnel_mod.GroupFunnel],
    tree: trees_mod.TreeFunnel,
    before: int,
    returned: int,
    universe: Universe,
) -> dict[str, Any]:
    names = _names(conn, groups, tree)
    tree_misses = []
    verdict = _verdict(groups, tree, before, returned)
    if verdict["group"] is None and verdict["step"] in tree.removed:
        tree_misses = [
            {**_who(miss.root, miss.root, universe, names), "lacks": miss.lacks}
            for miss in tree.removed[verdict["step"]]
        ]
    document: dict[str, Any] = {
        "verdict": verdict,
        "candidates": {
            "before_limit": before,
            "returned": returned,
            "limit": request.limit,
            "complete": before < COUNT_CAP,
        },
        "groups": [_group_doc(g, universe, names) for g in groups],
        "tree_funnel": [{"step": step, "remaining": n} for step, n in tree.funnel],
        "tree_nearest_misses": tree_misses,
    }
    verdict["nearest_misses"] = tree_misses
    for group_doc in document["groups"]:
        if verdict["group"] is not None and group_doc["suffix"] == verdict["group"]:
            verdict["nearest_misses"] = group_doc["nearest_misses"]
    return document


def _who(pid: int, root: int, universe: Any, names: dict[int, str | None]) -> dict[str, Any]:
    providers = universe.providers
    return {
        "uuid": providers[pid].uuid,
        "name": names.get(pid),
        "root_uuid": providers[root].uuid,
        "root_name": names.get(root),
    }


def _names(
    conn: Connection, groups: list[funnel_mod.GroupFunnel], tree: trees_mod.TreeFunnel
) -> dict[int, str | None]:
    ids: set[int] = set()
    for group in groups:
        for miss in group.misses:
            ids |= {miss.provider.id, miss.provider.root_id}
    for misses in tree.removed.values():
        ids |= {miss.root for miss in misses}
    if not ids:
        return {}
    rows = conn.execute(sa.select(rp.c.id, rp.c.name).where(rp.c.id.in_(sorted(ids)))).all()
    return dict(rows)


def _group_label(group: RequestGroup) -> str:
    return "the unnumbered group" if group.suffix == UNNUMBERED else f"group {group.suffix!r}"


def _group_doc(
    found: funnel_mod.GroupFunnel, universe: Any, names: dict[int, str | None]
) -> dict[str, Any]:
    group = found.group
    doc: dict[str, Any] = {
        "suffix": group.suffix,
        "resources": dict(group.resources),
        "required": sorted(sorted(s) for s in group.required),
        "forbidden": sorted(group.forbidden),
        "member_of": sorted(sorted(s) for s in group.member_of),
        "forbidden_aggregates": sorted(group.forbidden_aggs),
        "in_tree": group.in_tree,
        "funnel": [],
        "zero_step": found.zero_step,
        "zero_class": found.zero_class,
        "nearest_misses": [
            {**_who(m.provider.id, m.provider.root_id, universe, names), "lacks": m.lacks}
            for m in found.misses
        ],
    }
    for i, (step, remaining) in enumerate(found.funnel):
        entry: dict[str, Any] = {"step": step, "remaining": remaining}
        if found.by_class and i > 0:
            entry["by_class"] = {rc: counts[i - 1] for rc, counts in found.by_class.items()}
        doc["funnel"].append(entry)
    return doc


_GROUP_MESSAGES = {
    funnel_mod.CLASSES: "no provider has inventory of {what}",
    funnel_mod.MIN_UNIT: "no provider's min_unit allows {what}",
    funnel_mod.MAX_UNIT: "no provider's max_unit allows {what}",
    funnel_mod.STEP_SIZE: "no provider's step_size allows {what}",
    funnel_mod.CAPACITY: "no provider has free capacity for {what}",
    funnel_mod.REQUIRED: "no provider with {what} has the required traits",
    funnel_mod.FORBIDDEN: "every provider with {what} has a forbidden trait",
    funnel_mod.ANY_OF: "no provider with {what} has one of the any-of traits",
    funnel_mod.MEMBER_OF: "no provider with {what} is in the requested aggregates",
    funnel_mod.FORBIDDEN_AGGS: "every provider with {what} is in a forbidden aggregate",
    funnel_mod.IN_TREE: "no provider with {what} is in the requested tree",
}
_TREE_MESSAGES = {
    trees_mod.SHARING_JOINED: "no tree, even with its linked sharing providers, serves every group",
    trees_mod.ROOT_REQUIRED: "no tree that serves every group has a root matching root_required",
    trees_mod.COMBINATION: "no tree can serve every group at once "
    "(amounts summed on one provider, the unnumbered group's traits, one provider per tree)",
    trees_mod.SAME_SUBTREE: "no tree can place the same_subtree groups under one provider",
    trees_mod.ISOLATE_STEP: "no tree can give every suffixed group its own provider "
    "(group_policy=isolate)",
}


def _amounts(found: funnel_mod.GroupFunnel) -> str:
    resources = found.group.resources
    if found.zero_class is not None:
        resources = {found.zero_class: resources[found.zero_class]}
    text = ", ".join(f"{rc}:{n}" for rc, n in sorted(resources.items()))
    return text or "no resources"


def _verdict(
    groups: list[funnel_mod.GroupFunnel], tree: trees_mod.TreeFunnel, before: int, returned: int
) -> dict[str, Any]:
    for found in groups:
        if found.zero_step is not None:
            message = _GROUP_MESSAGES[found.zero_step].format(what=_amounts(found))
            return {
                "group": found.group.suffix,
                "step": found.zero_step,
                "message": f"{_group_label(found.group)}: {message}",
            }
    for step, remaining in tree.funnel[1:]:
        if remaining == 0:
            return {"group": None, "step": step, "message": _TREE_MESSAGES[step]}
    if before == 0 or returned == 0:
        return {"group": None, "step": LIMIT, "message": "max_allocation_candidates is 0"}
    return {
        "group": None,
        "step": PASSED,
        "message": f"{before} candidates, {returned} returned",
    }


def log_line(document: dict[str, Any], request_id: str) -> str:
    """The funnel counts of ``document`` on one line (for the DEBUG log)."""
    parts = []
    for group in document["groups"]:
        steps = " > ".join(f"{e['step']} {e['remaining']}" for e in group["funnel"])
        parts.append(f"group {group['suffix']!r}: {steps}")
    parts.append(
        "trees: " + " > ".join(f"{e['step']} {e['remaining']}" for e in document["tree_funnel"])
    )
    verdict = document["verdict"]
    return (
        f"No allocation candidates for request {request_id or '-'}: "
        f"{verdict['step']}: {verdict['message']}; " + "; ".join(parts)
    )
