"""Per-tree results of explain's planning and counting, kept by the in-memory model.

An explanation plans and counts every tree of the cloud (``counting.TreeCounts``),
where a limited candidate query looks at a few hundred. What one tree's plan
and count come to depends only on the request and on that tree's providers
and the sharing providers linked to it (``Universe.eligible``). So the model
keeps them, per request signature (``signature``), and drops a tree's entry
whenever the change feed replaces the objects it was computed from
(``ProviderModel._reload`` calls ``forget`` with every tree it reloaded and
every tree linked to a sharing provider it reloaded); a full load drops
everything. A repeated or similar explain then only plans and counts the
trees that changed since.

Bounded: at most ``MAX_ENTRIES`` trees over every signature; the signatures
used least recently are dropped first. Read and written under the model's
lock (``model.open_source``), like the rest of the model.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from allotment.store.candidates.request import CandidateRequest

# Explain keeps two entries a tree and request (explain.tally: its group codes,
# a shared tuple, and its share of the tree funnel, an int: some 40 bytes each
# in a dictionary), or with the full path its anchor test and its count. Two
# requests over a cloud of 50,000 trees, twenty over 5,000: some 10 MiB.
MAX_ENTRIES = 250_000


def signature(request: CandidateRequest, in_tree_roots: dict[str, int | None]) -> Hashable:
    """Everything of a request (but its limit) that a tree's plan and count depend on."""
    groups = tuple(
        (
            g.suffix,
            tuple(sorted(g.resources.items())),
            g.required,
            g.forbidden,
            g.member_of,
            g.forbidden_aggs,
            g.in_tree,
            in_tree_roots.get(g.suffix),
        )
        for g in request.groups
    )
    return (
        groups,
        request.group_policy,
        request.root_required,
        request.root_forbidden,
        request.same_subtrees,
        request.nested_aware,
    )


class Summed(dict[int, Any]):
    """A table whose answer is a sum over its trees (explain's tally): the sums
    are kept beside the per-tree entries, so an answer costs the trees that
    changed. Dropping a tree takes its entry out of the sums and marks it
    ``pending``: to be looked at again (it may be new, changed or gone)."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: set[int] = set()
        # False until every tree has an entry (the first use fills it).
        self.built = False
        # Entries computed so far (tests and benchmarks read it).
        self.computed = 0

    def put(self, root: int, entry: Any) -> None:
        before = self.pop(root, None)
        if before is not None:
            self.add(before, -1)
        self[root] = entry
        self.add(entry, 1)
        self.computed += 1

    def drop(self, root: int) -> bool:
        """Take the tree out of the sums (its entry, if any); whether it had one."""
        if self.built:
            self.pending.add(root)
        entry = self.pop(root, None)
        if entry is None:
            return False
        self.add(entry, -1)
        return True

    def add(self, entry: Any, sign: int) -> None:
        """Add ``entry`` to the sums (``sign`` 1) or take it out (-1)."""
        raise NotImplementedError


class TreeMemo:
    """Root id -> a per-tree result, one table per request signature (see the module)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._tables: OrderedDict[Hashable, dict[int, Any]] = OrderedDict()
        # Counters (tests and benchmarks read them).
        self.forgotten = 0
        self.evicted = 0

    def summed(self, key: Hashable, factory: Callable[[], Summed]) -> Summed:
        """The ``Summed`` table of ``key``, made by ``factory`` if needed; the most recent now."""
        found = self._tables.get(key)
        if not isinstance(found, Summed):
            found = self._tables[key] = factory()
        self._tables.move_to_end(key)
        return found

    def peek(self, key: Hashable) -> dict[int, Any] | None:
        """The table of ``key`` if there is one (not made the most recent)."""
        return self._tables.get(key)

    def drop(self, key: Hashable) -> None:
        """Forget the whole table of ``key`` (an explain failed half-way through it)."""
        self._tables.pop(key, None)

    def table(self, key: Hashable) -> dict[int, Any]:
        """The (mutable) table of ``key``, created empty if needed; the most recent now."""
        found = self._tables.get(key)
        if found is None:
            found = self._tables[key] = {}
        else:
            self._tables.move_to_end(key)
        return found

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables.values())

    def tables(self) -> int:
        return len(self._tables)

    def roots(self) -> set[int]:
        """The trees something is known of (under any signature)."""
        return {root for table in self._tables.values() for root in table}

    def forget(self, roots: Iterable[int]) -> None:
        """Drop what is known of these trees (their providers changed)."""
        wanted = set(roots)
        if not wanted:
            return
        for table in self._tables.values():
            if isinstance(table, Summed):
                self.forgotten += sum(table.drop(root) for root in wanted)
            elif len(wanted) < len(table):
                for root in wanted:
                    if table.pop(root, None) is not None:
                        self.forgotten += 1
            else:
                for root in [r for r in table if r in wanted]:
                    del table[root]
                    self.forgotten += 1

    def clear(self) -> None:
        self._tables.clear()

    def trim(self) -> None:
        """Back within ``max_entries``: the least recently used tables go first (the
        most recent one too if it alone is over: the cloud outgrew the memo)."""
        size = len(self)
        while size > self.max_entries and self._tables:
            _key, table = self._tables.popitem(last=False)
            size -= len(table)
            self.evicted += len(table)
