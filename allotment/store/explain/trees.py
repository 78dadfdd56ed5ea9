"""The tree-level funnel of an explanation (no SQL).

Counts trees (roots), each step keeping the trees that passed every step before:

* ``trees``: every tree loaded.
* ``sharing_joined``: every request group finds providers in the tree itself
  or among the sharing providers linked to it (``plan.unnumbered_choices``
  and ``plan.suffixed_choices``, the engine's own).
* ``root_required``: the root has the ``root_required`` traits and none of the
  forbidden ones (``plan.root_ok``).
* ``combination``: the engine's search finds a candidate when ``same_subtree``
  and ``group_policy=isolate`` are left out. What stops it here: amounts of
  several groups summed on one provider, the unnumbered group's required
  traits on the providers it uses, and below 1.29 one provider per tree.
* ``same_subtree``: the same search with ``same_subtree``.
* ``group_policy_isolate``: the real request; these are the trees the real
  count (``counting.count_candidates``, watched as an ``assemble.Observer``)
  found candidates in.

Each tree is planned by the engine (``plan.plan_anchor``) at most once per
request variant: an anchor the count planned is not planned again, and only
trees without candidates are searched, each counted up to its first candidate
(``counting.AnchorCounter``), not built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

from allotment.store.candidates import counting, plan, tree_memo
from allotment.store.candidates.plan import Candidate, Slot
from allotment.store.candidates.request import ISOLATE, NONE, UNNUMBERED, CandidateRequest
from allotment.store.candidates.tree_memo import TreeMemo
from allotment.store.candidates.universe import Universe

MAX_MISSES = 5

TREES = "trees"
SHARING_JOINED = "sharing_joined"
ROOT_REQUIRED = "root_required"
COMBINATION = "combination"
SAME_SUBTREE = "same_subtree"
ISOLATE_STEP = "group_policy_isolate"
STEPS = (SHARING_JOINED, ROOT_REQUIRED, COMBINATION, SAME_SUBTREE, ISOLATE_STEP)


class Watcher:
    """An ``assemble.Observer``: which anchors the real search produced candidates for."""

    def __init__(
        self, searched: CandidateRequest | None = None, memo: TreeMemo | None = None
    ) -> None:
        # The request the real search (or its count) ran: its outcome per
        # planned anchor answers the tree funnel's searches of that request.
        self.searched = searched
        self.planned_anchors: set[int] = set()
        # Anchors planned to slots (every group served, root rules passed).
        self.slotted: set[int] = set()
        self.produced: set[int] = set()
        # Set by the caller when the search stopped at a cap before every anchor.
        self.stopped = False
        # (root, id(request)) -> whether a search of that tree finds a candidate.
        self.memo: dict[tuple[int, int], bool] = {}
        # Where each tree's plan and count are kept across explains (the model's).
        self.tree_memo = memo
        # id(request) -> its trees' plans and counts (the request is kept alive).
        self._counts: dict[int, tuple[CandidateRequest, counting.TreeCounts]] = {}

    def trees(
        self, universe: Universe, request: CandidateRequest, in_tree_roots: dict[str, int | None]
    ) -> counting.TreeCounts:
        """The engine's plan and count of each tree for ``request`` (once per explain, or
        once per change of the tree with the model's ``tree_memo``)."""
        found = self._counts.get(id(request))
        if found is None:
            table = None
            if self.tree_memo is not None:
                table = self.tree_memo.table(tree_memo.signature(request, in_tree_roots))
            counts = counting.TreeCounts(universe, request, in_tree_roots, table)
            found = self._counts[id(request)] = (request, counts)
        return found[1]

    def done(self) -> None:
        """The explain is over: what the model's memo keeps is made small and bounded."""
        if self.tree_memo is not None:
            for _request, counts in self._counts.values():
                counts.release()
            self.tree_memo.trim()

    def planned(self, universe: Universe, anchor: int, slots: object) -> None:
        self.planned_anchors.add(anchor)
        if slots is not None:
            self.slotted.add(anchor)

    def watch(self, anchor: int, candidates: Iterator[Candidate]) -> Iterator[Candidate]:
        for candidate in candidates:
            self.produced.add(anchor)
            yield candidate


@dataclass
class TreeMiss:
    root: int
    lacks: list[str]


@dataclass
class TreeFunnel:
    funnel: list[tuple[str, int]]
    # Trees removed by each step (root ids, in id order), with why.
    removed: dict[str, list[TreeMiss]] = field(default_factory=dict)


def _groups_served(
    universe: Universe,
    root: int,
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None],
) -> list[str]:
    """What the tree lacks to serve every group (empty: every group is served)."""
    lacks = []
    for group in request.groups:
        in_tree_root = in_tree_roots.get(group.suffix)
        if group.suffix == UNNUMBERED:
            if not group.resources:
                continue
            for rc, amount in sorted(group.resources.items()):
                single = dataclasses.replace(group, resources={rc: amount})
                if plan.unnumbered_choices(universe, root, single, in_tree_root) is None:
                    lacks.append(
                        f"group '': no provider for {rc}:{amount} in the tree "
                        "or its linked sharing providers"
                    )
        elif not plan.suffixed_choices(universe, root, group, in_tree_root):
            lacks.append(
                f"group '{group.suffix}': no single provider of the tree "
                "or its linked sharing providers meets it"
            )
    return lacks


def _plan(
    universe: Universe,
    root: int,
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None],
    watcher: Watcher,
) -> list[Slot] | None:
    """The engine's plan of ``root`` for ``request`` (once per root and request)."""
    return watcher.trees(universe, request, in_tree_roots).outcome(root).slots


def _finds(
    universe: Universe,
    root: int,
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None],
    watcher: Watcher,
) -> bool:
    """Whether the engine finds a candidate anchored at ``root`` (once per root and request):
    its plan of the tree, then its candidates counted up to the first."""
    key = (root, id(request))
    found = watcher.memo.get(key)
    if found is None:
        counts = watcher.trees(universe, request, in_tree_roots)
        found = watcher.memo[key] = counts.count(root, 1) > 0
    return found


def tree_funnel(
    universe: Universe,
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None],
    watcher: Watcher,
    group_served: bool = True,
) -> TreeFunnel:
    """Trees left after each step; a tree the real search produced for passes them all.

    ``group_served`` False: some group's funnel ended at zero, so no tree serves
    it and every step after ``trees`` is zero (without searching each tree).
    """
    roots = sorted(r for r in universe.trees if r in universe.providers)
    if not group_served:
        return TreeFunnel(
            [(TREES, len(roots)), *((step, 0) for step in STEPS)], {s: [] for s in STEPS}
        )
    steps = TreeSteps(universe, request, in_tree_roots, watcher)
    removed: dict[str, list[int]] = {step: [] for step in STEPS}
    for root in roots:
        step = steps.removed_at(root)
        if step is not None:
            removed[step].append(root)
    out = TreeFunnel([(TREES, len(roots))])
    alive = len(roots)
    for step in STEPS:
        alive -= len(removed[step])
        out.funnel.append((step, alive))
        out.removed[step] = [
            TreeMiss(root, lacks(step, universe, root, request, in_tree_roots, watcher))
            for root in removed[step][:MAX_MISSES]
        ]
    return out


class TreeSteps:
    """The tree funnel's tests, one tree at a time: ``tree_funnel`` asks them of every
    tree, explain's tally (``explain.tally``) of the trees that changed."""

    def __init__(
        self,
        universe: Universe,
        request: CandidateRequest,
        in_tree_roots: dict[str, int | None],
        watcher: Watcher,
    ) -> None:
        self.universe = universe
        self.request = request
        self.in_tree_roots = in_tree_roots
        self.watcher = watcher
        relaxed = dataclasses.replace(
            request, same_subtrees=(), group_policy=NONE if request.group_policy else None
        )
        subtree_only = dataclasses.replace(relaxed, same_subtrees=request.same_subtrees)
        # Without same_subtree and isolate the three searches are one: search each tree once.
        self.relaxed = request if relaxed == request else relaxed
        self.subtree_only = request if subtree_only == request else subtree_only
        watcher.memo = {}
        self.trusted = watcher.searched == request
        if self.trusted:
            # A planned anchor was searched (or counted) whole: no need to search it again.
            key = id(request)
            watcher.memo = {(a, key): a in watcher.produced for a in watcher.planned_anchors}

    def removed_at(self, root: int) -> str | None:
        """The step that removes the tree (None: it passes every one)."""
        universe, request, in_tree_roots, watcher = (
            self.universe,
            self.request,
            self.in_tree_roots,
            self.watcher,
        )
        if root in watcher.produced:
            return None
        planned = (self.trusted and root in watcher.slotted) or (
            _plan(universe, root, request, in_tree_roots, watcher) is not None
        )
        for step in STEPS:
            if step in (SHARING_JOINED, ROOT_REQUIRED) and planned:
                continue  # the engine's plan of this tree passed both
            if step == SHARING_JOINED and plan.root_ok(universe, root, request):
                # The plan checks the root first, then that every group is served.
                return step
            if step == ISOLATE_STEP:
                passed = _final(universe, root, request, in_tree_roots, watcher) is None
            else:
                passed = _passes(
                    step,
                    universe,
                    root,
                    request,
                    self.relaxed,
                    self.subtree_only,
                    in_tree_roots,
                    watcher,
                )
            if not passed:
                return step
        return None


def _passes(
    step: str,
    universe: Universe,
    root: int,
    request: CandidateRequest,
    relaxed: CandidateRequest,
    subtree_only: CandidateRequest,
    in_tree_roots: dict[str, int | None],
    watcher: Watcher,
) -> bool:
    if step == SHARING_JOINED:
        return _served(universe, root, request, in_tree_roots)
    if step == ROOT_REQUIRED:
        return plan.root_ok(universe, root, request)
    if step == COMBINATION:
        return _finds(universe, root, relaxed, in_tree_roots, watcher)
    if step == SAME_SUBTREE:
        return not request.same_subtrees or _finds(
            universe, root, subtree_only, in_tree_roots, watcher
        )
    raise ValueError(step)


def _served(
    universe: Universe, root: int, request: CandidateRequest, in_tree_roots: dict[str, int | None]
) -> bool:
    for group in request.groups:
        in_tree_root = in_tree_roots.get(group.suffix)
        if group.suffix == UNNUMBERED:
            if group.resources and (
                plan.unnumbered_choices(universe, root, group, in_tree_root) is None
            ):
                return False
        elif not plan.suffixed_choices(universe, root, group, in_tree_root):
            return False
    return True


def lacks(
    step: str,
    universe: Universe,
    root: int,
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None],
    watcher: Watcher,
) -> list[str]:
    """Why a tree failed ``step`` (one line per reason)."""
    if step == SHARING_JOINED:
        return _groups_served(universe, root, request, in_tree_roots)
    if step == ROOT_REQUIRED:
        traits = universe.providers[root].traits
        out = [f"root lacks trait {t}" for t in sorted(request.root_required - traits)]
        return out + [
            f"root has forbidden trait {t}" for t in sorted(traits & request.root_forbidden)
        ]
    if step == COMBINATION:
        return ["no combination of its providers satisfies every group at once"]
    if step == SAME_SUBTREE:
        return ["no combination places each same_subtree set under one of its providers"]
    return _final(universe, root, request, in_tree_roots, watcher) or []


def _final(
    universe: Universe,
    root: int,
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None],
    watcher: Watcher,
) -> list[str] | None:
    """The real request: what the real search found (it may have stopped before the tree)."""
    if root in watcher.produced:
        return None
    if root not in watcher.planned_anchors:
        if watcher.stopped and _finds(universe, root, request, in_tree_roots, watcher):
            return None
        if not watcher.stopped:
            return ["the research step found no way to anchor a candidate here"]
    if request.group_policy == ISOLATE:
        return ["no combination gives every suffixed group a provider of its own"]
    return ["no candidate (its candidates repeat another tree's)"]
