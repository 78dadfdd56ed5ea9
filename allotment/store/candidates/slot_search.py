"""The depth-first search over the slots of one anchor (no SQL).

It picks one provider per slot (``plan.Slot``), checking as it goes:

* the summed amount per (provider, class) against capacity and max_unit,
* ``group_policy=isolate`` (suffixed groups on pairwise different providers),
* ``same_subtree`` as soon as every suffix of a set has a provider,
* the unnumbered group's required traits on the union of the providers it uses,
* below 1.29, at most one provider per tree.

Cheap bounds cut dead anchors and branches early, so that trees with many
identical children never explode: before searching an anchor with more than
``BOUND_ABOVE`` combinations (a smaller search costs less than the bounds),
per class, the whole demand must not exceed the free capacity of the
providers that could take it, and with ``isolate`` the suffixed slots must
have a bipartite matching onto distinct providers; while searching with
``isolate``, every suffixed slot still open must keep a provider not yet
taken. Nothing is materialised beyond the candidates actually yielded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from allotment.store.candidates.plan import Candidate, Slot, isolate_feasible
from allotment.store.candidates.request import UNNUMBERED, CandidateRequest
from allotment.store.candidates.universe import Universe

# Searches with more combinations than this are bounded before they start.
BOUND_ABOVE = 64


@dataclass(slots=True)
class _Choice:
    """One provider for one slot, with the (provider, class) cells it adds to."""

    pid: int
    root: int
    # (cell index, class index, amount, class name)
    cells: tuple[tuple[int, int, int, str], ...]


class SlotSearch:
    """Iterative depth-first search over the slots of one anchor.

    (provider, class) pairs are numbered "cells" whose running sums live in a
    list; classes are numbered too. This keeps the inner loop to list indexing.
    """

    def __init__(
        self, universe: Universe, anchor: int, request: CandidateRequest, slots: list[Slot]
    ) -> None:
        self.universe = universe
        self.anchor = anchor
        self.slots = slots
        self.isolate = request.isolate
        self.nested_aware = request.nested_aware
        self.unnumbered_required = request.unnumbered.required if request.unnumbered else ()
        self.suffixes = [slot.suffix for slot in slots]
        self.suffixed = [slot.suffix != UNNUMBERED for slot in slots]
        self.cell_used: list[int] = []
        self.cell_cap: list[float] = []
        self.cell_max: list[int] = []
        self.rc_index: dict[str, int] = {}
        self._cells: dict[tuple[int, str], int] = {}  # (provider, class) -> cell
        self.choices = [self._choices(slot) for slot in slots]
        self.sums = [0] * len(self.cell_used)
        self.chosen: list[_Choice | None] = [None] * len(slots)
        self.taken: dict[int, int] = {}  # provider -> suffixed slots (isolate)
        self.per_root: dict[int, dict[int, int]] = {}  # root -> provider -> uses (<1.29)
        self._init_bounds()

    def _choices(self, slot: Slot) -> list[_Choice]:
        out = []
        cells = self._cells
        rc_index = self.rc_index
        providers = self.universe.providers
        cell_used, cell_cap, cell_max = self.cell_used, self.cell_cap, self.cell_max
        amounts = []
        for rc, amount in slot.amounts.items():
            rc_i = rc_index.get(rc)
            if rc_i is None:
                rc_i = rc_index[rc] = len(rc_index)
            amounts.append((rc, rc_i, amount))
        for pid in slot.choices:
            provider = providers[pid]
            entry = []
            for rc, rc_i, amount in amounts:
                cell = cells.get((pid, rc))
                if cell is None:
                    inventory = provider.inventories[rc]
                    cell = cells[(pid, rc)] = len(cell_used)
                    cell_used.append(inventory.used)
                    cell_cap.append(inventory.capacity)
                    cell_max.append(inventory.max_unit)
                entry.append((cell, rc_i, amount, rc))
            out.append(_Choice(pid, provider.root_id, tuple(entry)))
        return out

    def _init_bounds(self) -> None:
        # Isolate forward checking: how many providers each suffixed slot still
        # has, and which slots each provider appears in.
        self.available = [len(choices) for choices in self.choices]
        self.slots_of: dict[int, list[int]] = {}
        if self.isolate:
            for i, choices in enumerate(self.choices):
                if self.suffixed[i]:
                    for choice in choices:
                        self.slots_of.setdefault(choice.pid, []).append(i)

    def _worth_bounding(self) -> bool:
        """Whether the bounds may pay: they only cut, and a small search
        (a compute node with a few NUMA cells) costs less than they do."""
        size = 1
        for choices in self.choices:
            size *= len(choices)
            if size > BOUND_ABOVE:
                return True
        return False

    def _more_demand_than_supply(self) -> bool:
        """Per class: the whole demand against the free capacity of every provider
        some slot could use for it (an upper bound on what fits)."""
        demand = [0] * len(self.rc_index)
        supply = [0.0] * len(self.rc_index)
        seen: set[int] = set()
        for slot, choices in zip(self.slots, self.choices, strict=True):
            for rc, amount in slot.amounts.items():
                demand[self.rc_index[rc]] += amount
            for choice in choices:
                for cell, rc_i, _amount, _rc in choice.cells:
                    if cell not in seen:
                        seen.add(cell)
                        free = min(
                            self.cell_cap[cell] - self.cell_used[cell], float(self.cell_max[cell])
                        )
                        supply[rc_i] += max(0.0, free)
        return any(d > s for d, s in zip(demand, supply, strict=True))

    def run(self) -> Iterator[Candidate]:
        if self._worth_bounding():
            if self._more_demand_than_supply():
                return
            if self.isolate and not isolate_feasible(self.slots):
                return
        # Depth-first, one position per slot (-1: none yet); the loop that
        # picks the next legal choice is inline, as it runs for every step.
        place, unplace, consistent = self._place, self._unplace, self._consistent
        choices_at = self.choices
        last = len(self.slots) - 1
        position = [-1] * len(self.slots)
        depth = 0
        while depth >= 0:
            choices = choices_at[depth]
            start = position[depth]
            if start >= 0:
                unplace(depth, choices[start])
            found = -1
            for index in range(start + 1, len(choices)):
                choice = choices[index]
                if place(depth, choice):
                    if consistent(depth, choice):
                        found = index
                        break
                    unplace(depth, choice)
            position[depth] = found
            if found < 0:
                depth -= 1
            elif depth == last:
                yield self._candidate()
            else:
                depth += 1

    # -- placing and removing one provider ---------------------------------

    def _place(self, depth: int, choice: _Choice) -> bool:
        """Tentatively give slot ``depth`` to ``choice``; False (nothing changed) if illegal."""
        pid = choice.pid
        isolated = self.isolate and self.suffixed[depth]
        if isolated and self.taken.get(pid):
            return False
        if not self.nested_aware:
            if any(other != pid for other in self.per_root.get(choice.root, ())):
                return False
        sums, used, cap, most = self.sums, self.cell_used, self.cell_cap, self.cell_max
        for cell, _rc, amount, _name in choice.cells:
            total = sums[cell] + amount
            if used[cell] + total > cap[cell] or total > most[cell]:
                return False
        for cell, _rc, amount, _name in choice.cells:
            sums[cell] += amount
        if isolated:
            self.taken[pid] = 1
            for i in self.slots_of.get(pid, ()):
                self.available[i] -= 1
        if not self.nested_aware:
            uses = self.per_root.setdefault(choice.root, {})
            uses[pid] = uses.get(pid, 0) + 1
        self.chosen[depth] = choice
        return True

    def _unplace(self, depth: int, choice: _Choice) -> None:
        pid = choice.pid
        for cell, _rc, amount, _name in choice.cells:
            self.sums[cell] -= amount
        if self.isolate and self.suffixed[depth]:
            self.taken[pid] = 0
            for i in self.slots_of.get(pid, ()):
                self.available[i] += 1
        if not self.nested_aware:
            uses = self.per_root[choice.root]
            uses[pid] -= 1
            if not uses[pid]:
                del uses[pid]
        self.chosen[depth] = None

    # -- constraints checked after a placement ------------------------------

    def _consistent(self, depth: int, choice: _Choice) -> bool:
        if self.isolate and self.suffixed[depth]:
            for i in self.slots_of.get(choice.pid, ()):
                if i > depth and self.available[i] <= 0:
                    return False
        slot = self.slots[depth]
        for positions in slot.subtree_checks:
            if not self._same_subtree(positions):
                return False
        if slot.check_unnumbered_traits:
            return self._unnumbered_traits_ok(depth)
        return True

    def _pid(self, depth: int) -> int:
        choice = self.chosen[depth]
        assert choice is not None
        return choice.pid

    def _same_subtree(self, positions: tuple[int, ...]) -> bool:
        providers = {self._pid(i) for i in positions}
        return any(
            all(self.universe.is_ancestor_or_self(top, other) for other in providers)
            for top in providers
        )

    def _unnumbered_traits_ok(self, depth: int) -> bool:
        traits: set[str] = set()
        for i in range(depth + 1):
            if not self.suffixed[i]:
                traits |= self.universe.providers[self._pid(i)].traits
        return all(traits & any_of for any_of in self.unnumbered_required)

    def _candidate(self) -> Candidate:
        allocations: dict[int, dict[str, int]] = {}
        mappings: dict[str, list[int]] = {}
        for suffix, choice in zip(self.suffixes, self.chosen, strict=True):
            assert choice is not None
            pid = choice.pid
            for _cell, _rc, amount, name in choice.cells:
                target = allocations.get(pid)
                if target is None:
                    allocations[pid] = {name: amount}
                else:
                    target[name] = target.get(name, 0) + amount
            used = mappings.get(suffix)
            if used is None:
                mappings[suffix] = [pid]
            elif pid not in used:
                used.append(pid)
        return Candidate(self.anchor, allocations, {s: tuple(ps) for s, ps in mappings.items()})
