"""Explain's numbers summed tree by tree, kept by the in-memory model between explains.

When a request has candidates, every number of its explanation is a sum over
the trees of the cloud: the providers failing each step of a group's funnel
first (but the sharing providers, below), the candidates counted under each
anchor, the trees each tree step removes. What a tree adds to those sums
depends only on the request and on the tree's providers and the sharing
providers linked to it: what ``tree_memo`` keys on and forgets as the change
feed replaces them. So the model keeps, per request signature, each tree's
share and the running sums (``GroupTally`` and ``TreeTally``, each a
``tree_memo.Summed``): forgetting a tree takes its share out of the sums and
marks it pending, and the next explain only looks at the pending trees. A
warm explain then costs the trees changed since the last one, where the full
funnel (``funnel.group_funnel``, ``trees.tree_funnel``) walks the cloud.

Not additive, so judged on every explain: a sharing provider's place in the
group funnels (its trait test for the unnumbered group looks at every tree
linked to it). A group funnel ending at zero takes one more scan of the
providers for its nearest misses (``funnel.find_misses``). Left to the full
path (``tree_counts`` answers None): a request where no tree is left or no
candidate is counted (the verdict's nearest misses are trees), and one with
anchors whose candidates may use sharing providers only (the engine's
generator de-duplicates those across anchors).

The memo is bounded in entries (``tree_memo.MAX_ENTRIES``), so an entry is
kept small: a tuple shared by every tree with the same codes, an int.

Every per-provider and per-tree test is the full path's own function
(``funnel.first_stop``, ``trees.TreeSteps``, ``counting.TreeCounts``): a
property test checks the two paths agree after random writes
(tests/functional/store/test_explain_memo.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from allotment.store.candidates import tree_memo
from allotment.store.candidates.model import ModelSource
from allotment.store.candidates.request import CandidateRequest
from allotment.store.candidates.research import Plan
from allotment.store.candidates.tree_memo import Summed, TreeMemo
from allotment.store.candidates.universe import Universe
from allotment.store.explain import funnel as funnel_mod
from allotment.store.explain import trees as trees_mod

# A provider's share of a group funnel is one code: slot * WIDTH + the index of
# the first step it fails (len(funnel.STEPS): none); a slot is one (group, key)
# of ``funnel.judges``.
WIDTH = len(funnel_mod.STEPS) + 1
PASSES = len(trees_mod.STEPS)
GROUPS = "tally: groups"
TREES = "tally: trees"


class GroupTally(Summed):
    """Every tree's group-funnel codes for one request signature (a tuple per
    tree: its providers' codes, but sharing providers'), and how many of each."""

    def __init__(self, slots: int) -> None:
        super().__init__()
        self.failed = [0] * (slots * WIDTH)
        # One tuple object per distinct tuple of codes: most trees share a few.
        self.shared: dict[tuple[int, ...], tuple[int, ...]] = {}

    def add(self, entry: tuple[int, ...], sign: int) -> None:
        failed = self.failed
        for code in entry:
            failed[code] += sign

    def put(self, root: int, entry: tuple[int, ...]) -> None:
        if len(self.shared) > 2 * len(self) + 1000:
            # Tuples no tree uses any more pile up as trees change: start again
            # (the entries keep theirs).
            self.shared.clear()
        super().put(root, self.shared.setdefault(entry, entry))


# A tree's share of the tree funnel and the count is one int, small for most
# trees (Python keeps one object per small int): the memo holds one a tree.
_REPEATS = 1
_STEP_SHIFT = 1  # 0: not a tree (its root is not a provider); else 1 + the step's index
_COUNT_SHIFT = 4
assert PASSES + 1 < 1 << (_COUNT_SHIFT - _STEP_SHIFT), "a step code must fit in its bits"


def tree_share(candidates: int, step: int | None, repeats: bool) -> int:
    """One tree's share: the candidates counted under it as an anchor (at most the
    count cap), the index in trees.STEPS of the step that removes it (PASSES: none;
    None: not counted as a tree), and whether it is an anchor whose candidates may
    use sharing providers only."""
    step_code = 0 if step is None else step + 1
    return (candidates << _COUNT_SHIFT) | (step_code << _STEP_SHIFT) | (_REPEATS if repeats else 0)


class TreeTally(Summed):
    """Every tree's ``tree_share`` for one request signature, and their sums."""

    def __init__(self) -> None:
        super().__init__()
        self.trees = 0
        self.removed = [0] * (PASSES + 1)
        self.candidates = 0
        self.repeating = 0

    def add(self, entry: int, sign: int) -> None:
        self.candidates += sign * (entry >> _COUNT_SHIFT)
        self.repeating += sign * (entry & _REPEATS)
        step_code = (entry >> _STEP_SHIFT) & 0b111
        if step_code:
            self.trees += sign
            self.removed[step_code - 1] += sign


Slots = list[tuple[str, dict[str, int], funnel_mod._Judge]]


def group_funnels(
    universe: Universe, plan: Plan, searched: CandidateRequest, memo: TreeMemo
) -> list[funnel_mod.GroupFunnel]:
    """Every group's funnel (``funnel.group_funnel``'s answer) from the model's tally,
    brought up to date; a group ending at zero gets its nearest misses (one scan of
    the providers).

    The first time, the full funnel answers, and the tally is built from the first
    failed step it found for each provider only if every group is served: an empty
    answer then costs what it did without a tally.
    """
    in_tree_roots = plan.in_tree_roots
    key = (GROUPS, tree_memo.signature(searched, in_tree_roots))
    known = memo.peek(key)
    if not isinstance(known, GroupTally) or not known.built:
        return _first_group_funnels(universe, searched, in_tree_roots, memo, key)
    tally = known
    memo.summed(key, lambda: tally)  # the most recent table now
    per_group = [
        funnel_mod.judges(universe, group, in_tree_roots.get(group.suffix))
        for group in searched.groups
    ]
    slots: Slots = [slot for judged in per_group for slot in judged]
    providers, sharing = universe.providers, universe.sharing_ids
    with _kept_whole(memo, key):
        for root in _pending(tally, universe):
            codes = tuple(
                slot * WIDTH + funnel_mod.first_stop(providers[pid], resources, judge)
                for pid in universe.trees[root]
                if pid not in sharing
                for slot, (_key, resources, judge) in enumerate(slots)
            )
            tally.put(root, codes)
    failed = list(tally.failed)
    for pid in sharing:
        provider = providers[pid]
        for slot, (_key, resources, judge) in enumerate(slots):
            failed[slot * WIDTH + funnel_mod.first_stop(provider, resources, judge)] += 1
    total = len(providers)
    out = []
    slot = 0
    for group, judged in zip(searched.groups, per_group, strict=True):
        remaining = {}
        for name, _resources, _judge in judged:
            counts = failed[slot * WIDTH : (slot + 1) * WIDTH]
            remaining[name] = funnel_mod.remaining_after(counts, total)
            slot += 1
        found = funnel_mod.summarise(group, total, remaining)
        if found.zero_step is not None:
            funnel_mod.find_misses(universe, found, judged)
        out.append(found)
    return out


def _first_group_funnels(
    universe: Universe,
    searched: CandidateRequest,
    in_tree_roots: dict[str, int | None],
    memo: TreeMemo,
    key: Hashable,
) -> list[funnel_mod.GroupFunnel]:
    """The full funnels; the tally built from them when every group is served."""
    stops: list[dict[int, int]] = []
    groups = [
        funnel_mod.group_funnel(universe, group, in_tree_roots.get(group.suffix), stops)
        for group in searched.groups
    ]
    if any(g.zero_step is not None for g in groups):
        return groups
    tally = memo.summed(key, lambda: GroupTally(len(stops)))
    assert isinstance(tally, GroupTally)
    sharing = universe.sharing_ids
    with _kept_whole(memo, key):
        for root in _pending(tally, universe):
            codes = tuple(
                slot * WIDTH + found[pid]
                for pid in universe.trees[root]
                if pid not in sharing
                for slot, found in enumerate(stops)
            )
            tally.put(root, codes)
    return groups


@dataclass
class Trees:
    tree: trees_mod.TreeFunnel
    # Candidates before the limit, summed over the anchors (each at most the cap).
    candidates: int


def tree_counts(
    universe: Universe,
    source: ModelSource,
    plan: Plan,
    searched: CandidateRequest,
    memo: TreeMemo,
    count_cap: int,
) -> Trees | None:
    """The tree funnel and the count of ``searched`` (every group served) from the
    model's tally, brought up to date; None where the full path must answer (see the module)."""
    key = (TREES, tree_memo.signature(searched, plan.in_tree_roots))
    tally = memo.summed(key, TreeTally)
    assert isinstance(tally, TreeTally)
    with _kept_whole(memo, key):
        pending = _pending(tally, universe)
        if pending:
            _add_trees(tally, pending, universe, source, plan, searched, count_cap)
    if tally.repeating:
        return None
    tree = trees_mod.TreeFunnel([(trees_mod.TREES, tally.trees)])
    alive = tally.trees
    for i, step in enumerate(trees_mod.STEPS):
        alive -= tally.removed[i]
        tree.funnel.append((step, alive))
    if alive == 0 or tally.candidates == 0:
        return None
    return Trees(tree, tally.candidates)


@contextmanager
def _kept_whole(memo: TreeMemo, key: Hashable) -> Iterator[None]:
    """Half-updated sums must not outlive a failed explain: its table is dropped."""
    try:
        yield
    except BaseException:
        memo.drop(key)
        raise
    memo.trim()


def _pending(tally: Summed, universe: Universe) -> list[int]:
    """The trees to (re)compute, in id order (every tree the first time); none after."""
    if tally.built:
        pending = sorted(root for root in tally.pending if root in universe.trees)
    else:
        pending = sorted(universe.trees)
    tally.pending = set()
    tally.built = True
    return pending


def _add_trees(
    tally: TreeTally,
    pending: list[int],
    universe: Universe,
    source: ModelSource,
    plan: Plan,
    searched: CandidateRequest,
    count_cap: int,
) -> None:
    """Put the share of every pending tree in the sums."""
    anchors = anchors_among(source, plan, pending, whole=len(pending) == len(universe.trees))
    watcher = trees_mod.Watcher(searched)
    counts = watcher.trees(universe, searched, plan.in_tree_roots)
    candidates: dict[int, int] = {}
    repeating: set[int] = set()
    for root in pending:
        if root not in anchors:
            continue
        outcome = counts.outcome(root)
        if outcome.repeats:
            repeating.add(root)
            continue
        watcher.planned(universe, root, outcome.slots)
        if outcome.slots is not None:
            found = counts.count(root, count_cap)
            if found:
                candidates[root] = found
                watcher.produced.add(root)
            # Counted: nothing reads this plan again (the tree steps know the
            # anchor was planned), and 50,000 of them are a worker's peak memory.
            outcome.slots = []
    steps = trees_mod.TreeSteps(universe, searched, plan.in_tree_roots, watcher)
    for root in pending:
        step: int | None = None
        if root in universe.providers:
            # A repeating anchor's step is never read: tree_counts() leaves such requests.
            removed = None if root in repeating else steps.removed_at(root)
            step = PASSES if removed is None else trees_mod.STEPS.index(removed)
        tally.put(root, tree_share(candidates.get(root, 0), step, root in repeating))


def anchors_among(source: ModelSource, plan: Plan, pending: list[int], whole: bool) -> set[int]:
    """The engine's anchors among ``pending`` (``source.anchors``; ``whole``: pending is
    every tree the plan examines): whether a tree is one depends on its own providers
    and the sharing providers linked to it, so asking about a few is enough."""
    if whole or plan.hopeless:
        return set(source.anchors(plan, None))
    if plan.roots is not None:
        examined = set(plan.roots)
        pending = [root for root in pending if root in examined]
    if not pending:
        return set()
    return set(source.anchors(dataclasses.replace(plan, roots=pending), None))
