"""``CandidateSource`` answered from a worker's in-memory ``ProviderModel``.

The model (``candidates.model``) holds the providers and keeps itself fresh
from the change feed; this is how a search reads it: the plan, the windows
of roots, the anchors in each window and the trees they need.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from allotment.store import resource_class
from allotment.store.candidates import lookup_order, research
from allotment.store.candidates.request import CandidateRequest
from allotment.store.candidates.research import Facts, Plan, Window
from allotment.store.candidates.sources import MIN_WINDOW
from allotment.store.candidates.universe import Universe

if TYPE_CHECKING:
    from allotment.store.candidates.model import ProviderModel


class ModelSource:
    """``CandidateSource`` answered from a refreshed ``ProviderModel``.

    Names are still checked in SQL (a custom class or trait created or deleted
    does not touch any provider, so the feed does not carry it): one indexed
    query each for the classes and the traits a request names.
    """

    def __init__(self, model: ProviderModel, conn: Connection) -> None:
        self.model = model
        self.conn = conn

    def first_window(self, stop: int) -> int:
        # A window costs only the roots it holds: start small (a shape with
        # several candidates per tree needs few trees), double as needed.
        return max(MIN_WINDOW, stop // 2)

    def plan(self, request: CandidateRequest, windowed: bool) -> Plan:
        model = self.model
        rc_ids = resource_class.ids_for_names(self.conn, request.resource_classes())
        trait_ids = lookup_order.trait_ids(self.conn, request)
        in_tree: dict[str, int | None] = {}
        for group in request.groups:
            if group.in_tree is not None:
                pid = model.by_uuid.get(group.in_tree)
                in_tree[group.suffix] = None if pid is None else model.providers[pid].root_id
        found = Plan(request, rc_ids, trait_ids or {}, sharing=Facts(in_tree_roots=in_tree))
        if trait_ids is None or any(root is None for root in in_tree.values()):
            found.hopeless = True
            return found
        if model.sharing:
            facts = model.facts(found, sorted(model.sharing))
            if any(g.resourceless for g in request.suffixed):
                relevant = set(model.sharing)
            else:
                relevant = {pid for fit in facts.fits.values() for pid in fit}
            links = model.links
            facts.links = {s: links[s] for s in relevant if s in links}
            facts.in_tree_roots = in_tree
            found.sharing = facts
            found.sharing_roots = {s: model.providers[s].root_id for s in facts.links}
        found.roots = model.rarest_roots(request)
        unnumbered = request.unnumbered
        if windowed and model.roots and not (unnumbered is not None and unnumbered.in_tree):
            found.id_range = (model.roots[0], model.roots[-1])
        return found

    def windows(self, plan: Plan, first: int | None, grow: bool = True) -> Iterator[Window]:
        """Windows of ``first`` roots worth examining, then twice as many each
        time (or, not ``grow``, every one ``first`` roots)."""
        if plan.hopeless:
            return
        roots = self.model.roots if plan.roots is None else plan.roots
        if first is None or plan.id_range is None:
            yield None
            return
        start, width = 0, max(1, first)
        while start < len(roots):
            end = min(len(roots), start + width)
            yield (roots[start], roots[end] if end < len(roots) else roots[-1] + 1)
            start = end
            if grow:
                width *= 2

    def anchors(self, plan: Plan, window: Window) -> list[int]:
        if plan.hopeless:
            return []
        model = self.model
        examined = model.window_roots(model.roots if plan.roots is None else plan.roots, window)
        facts = model.facts(plan, (pid for root in examined for pid in model.trees[root]))
        facts.absorb(plan.sharing)
        if window is not None or plan.roots is not None:
            # Only the examined roots can be anchors here: cut each sharing
            # provider's links to them (a link set may hold a fifth of the
            # cloud; the intersection walks the smaller side).
            inside = set(examined)
            facts.links = {s: linked & inside for s, linked in facts.links.items()}
            roots = research.anchor_roots(plan.request, plan.rc_ids, facts) & inside
        else:
            roots = research.anchor_roots(plan.request, plan.rc_ids, facts)
        return sorted(root for root in roots if root in model.trees)

    def load(self, plan: Plan, anchors: list[int]) -> Universe:
        model = self.model
        wanted = set(anchors)
        roots = wanted | {
            plan.sharing_roots[s]
            for s, linked in plan.sharing.links.items()
            if s in plan.sharing_roots and not linked.isdisjoint(wanted)
        }
        providers = [model.providers[pid] for root in roots for pid in model.trees.get(root, ())]
        # The model's links, cut to these trees: what Universe.links would compute.
        everywhere = model.links
        links = {p.id: everywhere.get(p.id, frozenset()) & roots for p in providers if p.sharing}
        return Universe(providers, anchors=anchors, links=links)
