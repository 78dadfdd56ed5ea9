"""A per-worker in-memory model of the provider universe, kept fresh by the change feed.

The model holds every provider as the ``Provider`` the assembler reads (tree,
inventories with usage, traits, aggregates), with the indexes a search needs:
trees by root, roots in id order, members of each aggregate, the sharing
providers and (cached) the roots each sharing provider may serve. It is loaded
on the first search and then only changes by the trees the change feed
(``allotment.store.changes``) names.

Freshness (read-your-writes across processes): every search first polls the
feed in one primary-key range query on its own connection and reloads the
trees of the providers named by rows it has not applied yet, before reading
the model; for a row that says only the provider's usage changed (an
allocation write), only that provider's inventories and usage. A write's
feed rows commit with the write, so once a write is committed, the next
search in any worker, process or host sees it.

Out-of-order commits: feed ids are taken when a row is inserted, but become
visible at commit, so id 11 can be visible while id 10 is not yet (two
concurrent transactions; Galera; several hosts). The model remembers the
highest id it has seen (``top``) and every lower id it has not seen (the
``gaps``); each poll asks for ``id > top OR id IN (gaps)``. A gap that stays
empty for ``GAP_SECONDS`` is forgotten: a rolled-back transaction never fills
its id (PostgreSQL sequences, InnoDB auto-increment).

Only searches read the model. Writes (capacity checks and generation
compare-and-swap of ``PUT/POST /allocations``) stay in SQL: the database is
the only source of truth.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import gc
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

from allotment.store import changes
from allotment.store.candidates import poll, research, trees
from allotment.store.candidates.fragments import FragmentCache
from allotment.store.candidates.model_source import ModelSource
from allotment.store.candidates.request import CandidateRequest
from allotment.store.candidates.research import Facts, Found, Plan, Window
from allotment.store.candidates.tree_memo import TreeMemo
from allotment.store.candidates.universe import Inventory, Provider, sharing_by_anchor
from allotment.store.engine import utcnow

# A feed id not visible after this long belongs to a rolled-back transaction.
GAP_SECONDS = 30.0
# Without a poll for this long, rows may have been pruned: reload everything.
STALE_SECONDS = changes.RETENTION.total_seconds() / 2
# At a full load, the ids this far below the high-water mark are checked for gaps
# (transactions that took an id before the load and commit after it).
LOOK_BACK = 1000


class ProviderModel:
    """Every provider of one database, indexed for candidate searches."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.providers: dict[int, Provider] = {}
        self.trees: dict[int, list[int]] = {}  # root id -> provider ids, sorted
        self.roots: list[int] = []  # sorted root ids
        self.members: dict[str, set[int]] = {}  # aggregate uuid -> provider ids
        self.sharing: set[int] = set()
        self.by_uuid: dict[str, int] = {}
        self._links: dict[int, frozenset[int]] | None = None
        # (the links it was computed from, sharing_by_anchor)
        self._by_anchor: tuple[dict[int, frozenset[int]], dict[int, list[int]]] | None = None
        self._class_roots: dict[str, list[int]] | None = None
        self.loaded = False
        self.top = 0
        self.gaps: dict[int, float] = {}  # feed id -> when first missed
        self.polled_at = 0.0
        # Rendered provider summaries, fresh while their Provider object is the model's.
        self.fragments = FragmentCache()
        # Explain's plan and count of each tree per request, dropped as trees change.
        self.tree_memo = TreeMemo()
        # Counters (tests and benchmarks read them).
        self.full_loads = 0
        self.trees_reloaded = 0
        self.usage_reloaded = 0

    # -- freshness ---------------------------------------------------------

    def refresh(self, conn: Connection) -> None:
        """Apply every committed change this model has not seen yet."""
        now = time.monotonic()
        if not self.loaded or now - self.polled_at > STALE_SECONDS:
            self._load_all(conn, now)
            return
        polled = poll.poll(conn, self.top, self.gaps)
        self.polled_at = now
        self._apply(conn, polled, now)

    def _load_all(self, conn: Connection, now: float) -> None:
        high = changes.high_water(conn)
        rows = changes.written_since(conn, max(0, high - LOOK_BACK))
        # Ids missing between the visible rows of the look-back window may
        # still commit: they are gaps. Below the lowest visible one, rows were
        # pruned or deleted (a reset), not pending.
        self.top = rows[0][0] - 1 if rows else high
        self.gaps = {}
        self._note_ids([row[0] for row in rows], now)
        self._age_gaps(rows, now)
        self._replace_everything(research.load_trees(conn, None))
        self.loaded = True
        self.polled_at = now
        self.full_loads += 1
        # The model is most of the heap and lives as long as the worker: keep
        # the garbage collector from walking it on every full collection.
        gc.collect()
        gc.freeze()

    def _age_gaps(self, rows: list[tuple[int, datetime.datetime]], now: float) -> None:
        """Date each gap found at a full load by the row written just after it.

        A missing id was taken before the next visible one was written, so
        its transaction is at least that old: one older than ``GAP_SECONDS``
        rolled back (a worker polling all along would have forgotten it
        already). Without this, a worker started after a busy spell (a bulk
        load, retried deadlocks) carried hundreds of dead ids in every poll
        for its first ``GAP_SECONDS``.
        """
        if not self.gaps:
            return
        ids = [row[0] for row in rows]
        wall_now = utcnow()
        for gap in sorted(self.gaps):
            after = rows[bisect.bisect_right(ids, gap)][1]
            age = max(0.0, (wall_now - after).total_seconds())
            if age > GAP_SECONDS:
                del self.gaps[gap]
            else:
                self.gaps[gap] = now - age

    def _apply(self, conn: Connection, polled: poll.Polled, now: float) -> None:
        fresh = [row for row in polled.rows if row[0] > self.top or row[0] in self.gaps]
        self._note_ids([row[0] for row in fresh], now)
        if fresh:
            if any(row[1] is None for row in fresh):
                self._replace_everything(research.load_trees(conn, None))
                self.full_loads += 1
            else:
                # A usage row of a provider this model holds needs only that
                # provider's inventories; anything else, its whole tree.
                usage: set[int] = set()
                whole = []
                for row in fresh:
                    if row[3] and row[1] in self.providers:
                        usage.add(row[1])
                    else:
                        whole.append(row)
                reloaded = self._reload(conn, whole) if whole else set()
                self._reload_usage(conn, usage - reloaded, polled.usage)
        for gap, since in list(self.gaps.items()):
            if now - since > GAP_SECONDS:
                del self.gaps[gap]

    def _note_ids(self, ids: Iterable[int], now: float) -> None:
        """Mark ``ids`` seen; every unseen id below the new top becomes a gap."""
        seen = set(ids)
        for i in seen:
            self.gaps.pop(i, None)
        above = [i for i in seen if i > self.top]
        if not above:
            return
        new_top = max(above)
        for i in range(self.top + 1, new_top):
            if i not in seen:
                self.gaps[i] = now
        self.top = new_top

    # -- loading -----------------------------------------------------------

    def _replace_everything(self, providers: list[Provider]) -> None:
        self.providers = {}
        self.trees = {}
        self.members = {}
        self.sharing = set()
        self.by_uuid = {}
        self._links = None
        self._class_roots = None
        self.fragments.clear()
        self.tree_memo.clear()
        for provider in sorted(providers, key=_pid):
            self.providers[provider.id] = provider
            self.trees.setdefault(provider.root_id, []).append(provider.id)
            self._index(provider)
        self.roots = sorted(self.trees)

    def _reload(self, conn: Connection, rows: list[changes.FeedRow]) -> set[int]:
        """Reload whole the trees holding the rows' providers, before and now; the
        ids of the providers reloaded."""
        roots = {self.providers[row[1]].root_id for row in rows if row[1] in self.providers}
        roots |= {row[2] for row in rows if row[2] is not None}
        if not roots:
            return set()
        fresh = trees.load_few_trees(conn, roots)
        before = {pid: self.providers[pid] for r in roots for pid in self.trees.get(r, ())}
        # Trees served by a sharing provider that changes see it change too.
        changed = set(roots) | self._linked_to(before.values())
        for pid in before:
            self._remove(pid)
        for provider in fresh:
            if provider.id in self.providers:  # moved here by a change not yet seen
                before[provider.id] = self.providers[provider.id]
                changed |= self._linked_to([before[provider.id]])
                self._remove(provider.id)
            self._add(provider)
        self.trees_reloaded += len(roots)
        if self._links is not None and _shape(before.values()) != _shape(fresh):
            self._links = None
        changed |= {p.root_id for p in before.values()} | {p.root_id for p in fresh}
        self.tree_memo.forget(changed | self._linked_to(fresh))
        if self._class_roots is not None and _classes(before.values()) != _classes(fresh):
            self._class_roots = None
        return {p.id for p in fresh}

    def _reload_usage(
        self, conn: Connection, pids: set[int], known: dict[int, dict[str, Inventory]] | None
    ) -> None:
        """Reload the inventories and usage of these providers (held by the model;
        ``known``: as the poll read them): an allocation write changed nothing else."""
        if not pids:
            return
        found = trees.load_inventories(conn, pids) if known is None else known
        before = [self.providers[pid] for pid in sorted(pids)]
        after = [dataclasses.replace(p, inventories=found.get(p.id, {})) for p in before]
        for provider in after:
            # Same tree, traits and aggregates: the indexes stay; a new object
            # makes its cached summary fragment stale.
            self.providers[provider.id] = provider
        self.usage_reloaded += len(after)
        self.tree_memo.forget({p.root_id for p in after} | self._linked_to(after))
        if self._class_roots is not None and _classes(before) != _classes(after):
            self._class_roots = None

    def _index(self, provider: Provider) -> None:
        self.by_uuid[provider.uuid] = provider.id
        for agg in provider.aggregates:
            self.members.setdefault(agg, set()).add(provider.id)
        if provider.sharing:
            self.sharing.add(provider.id)

    def _remove(self, pid: int) -> None:
        provider = self.providers.pop(pid)
        tree = self.trees.get(provider.root_id)
        if tree is not None:
            tree.remove(pid)
            if not tree:
                del self.trees[provider.root_id]
                index = bisect.bisect_left(self.roots, provider.root_id)
                if index < len(self.roots) and self.roots[index] == provider.root_id:
                    del self.roots[index]
        if self.by_uuid.get(provider.uuid) == pid:
            del self.by_uuid[provider.uuid]
        for agg in provider.aggregates:
            members = self.members.get(agg)
            if members is not None:
                members.discard(pid)
                if not members:
                    del self.members[agg]
        self.sharing.discard(pid)

    def _add(self, provider: Provider) -> None:
        self.providers[provider.id] = provider
        tree = self.trees.get(provider.root_id)
        if tree is None:
            self.trees[provider.root_id] = [provider.id]
            bisect.insort(self.roots, provider.root_id)
        else:
            bisect.insort(tree, provider.id)
        self._index(provider)

    def _linked_to(self, providers: Iterable[Provider]) -> set[int]:
        """Roots of the trees the sharing providers among ``providers`` may serve."""
        sharing = [p.id for p in providers if p.sharing]
        if not sharing or not len(self.tree_memo):
            return set()
        links = self.links
        return {root for pid in sharing for root in links.get(pid, ())}

    # -- what searches read ----------------------------------------------------

    @property
    def links(self) -> dict[int, frozenset[int]]:
        """Sharing provider id -> roots of the trees it may serve (cached until
        a tree, an aggregate membership or a sharing trait changes)."""
        if self._links is None:
            links: dict[int, frozenset[int]] = {}
            for sharing_id in self.sharing:
                roots: set[int] = set()
                for agg in self.providers[sharing_id].aggregates:
                    roots.update(self.providers[m].root_id for m in self.members.get(agg, ()))
                if roots:
                    links[sharing_id] = frozenset(roots)
            self._links = links
        return self._links

    @property
    def sharing_by_anchor(self) -> dict[int, list[int]]:
        """``Universe.sharing_by_anchor`` of every tree (cached with ``links``)."""
        links = self.links
        if self._by_anchor is None or self._by_anchor[0] is not links:
            self._by_anchor = (links, sharing_by_anchor(links, self.providers))
        return self._by_anchor[1]

    def class_roots(self, name: str) -> list[int]:
        """Roots of the trees with an inventory of class ``name``, in id order (cached
        until a tree gains or loses a class: allocations never change it)."""
        if self._class_roots is None:
            found: dict[str, set[int]] = {}
            for provider in self.providers.values():
                for rc in provider.inventories:
                    found.setdefault(rc, set()).add(provider.root_id)
            self._class_roots = {rc: sorted(roots) for rc, roots in found.items()}
        return self._class_roots.get(name, [])

    def rarest_roots(self, request: CandidateRequest) -> list[int] | None:
        """The roots holding the request's rarest class, when no sharing provider has it.

        Every candidate takes every requested class from its tree or from a
        sharing provider, so a class no sharing provider offers can only come
        from the anchor's own tree: the other roots cannot be anchors.
        """
        shared = {rc for pid in self.sharing for rc in self.providers[pid].inventories}
        local = [rc for rc in sorted(request.resource_classes()) if rc not in shared]
        if not local:
            return None
        return min((self.class_roots(rc) for rc in local), key=len)

    def facts(self, plan: Plan, provider_ids: Iterable[int]) -> Facts:
        """The same per-provider facts ``research`` reads by SQL, from memory."""
        class_names = {rc_id: name for name, rc_id in plan.rc_ids.items()}
        wanted = [
            (key, class_names[key[0]], key[1])
            for key in sorted(research.amounts(plan.request, plan.rc_ids))
        ]
        fits: dict[tuple[int, int], Found] = {key: {} for key, _, _ in wanted}
        trait_names = frozenset(plan.trait_ids)
        uuids = frozenset(plan.request.aggregate_uuids())
        traits: dict[str, Found] = {}
        aggregates: dict[str, Found] = {}
        providers = self.providers
        for pid in provider_ids:
            provider = providers[pid]
            root = provider.root_id
            inventories = provider.inventories
            for key, name, amount in wanted:
                inventory = inventories.get(name)
                if inventory is not None and inventory.fits(amount):
                    fits[key][pid] = root
            if trait_names:
                for name in provider.traits & trait_names:
                    traits.setdefault(name, {})[pid] = root
            if uuids:
                for uuid in provider.aggregates & uuids:
                    aggregates.setdefault(uuid, {})[pid] = root
        return Facts(fits=fits, traits=traits, aggregates=aggregates)

    def window_roots(self, roots: list[int], window: Window) -> list[int]:
        """The ``roots`` (sorted) inside ``window``."""
        if window is None:
            return roots
        low = bisect.bisect_left(roots, window[0])
        high = bisect.bisect_left(roots, window[1])
        return roots[low:high]


# ---------------------------------------------------------------------------
# One model per engine (that is, per database and worker process)

_models: weakref.WeakKeyDictionary[Engine, ProviderModel] = weakref.WeakKeyDictionary()
_models_lock = threading.Lock()


def model_for(engine: Engine) -> ProviderModel:
    with _models_lock:
        model = _models.get(engine)
        if model is None:
            model = _models[engine] = ProviderModel()
        return model


@contextmanager
def open_source(conn: Connection) -> Iterator[ModelSource | None]:
    """The refreshed model of ``conn``'s database, locked for one search.

    None when the database has no change feed yet (schema not upgraded): the
    caller then researches by SQL.
    """
    if not changes.present(conn):
        yield None
        return
    model = model_for(conn.engine)
    with model.lock:
        model.refresh(conn)
        yield ModelSource(model, conn)


def _pid(provider: Provider) -> int:
    return provider.id


def _classes(providers: Iterable[Provider]) -> set[tuple[int, str]]:
    """What ``class_roots`` depends on: which trees hold which classes."""
    return {(p.root_id, rc) for p in providers for rc in p.inventories}


def _shape(providers: Iterable[Provider]) -> set[tuple[int, int, frozenset[str], bool]]:
    """What sharing links depend on: trees, aggregate memberships, sharing traits."""
    return {(p.id, p.root_id, p.aggregates, p.sharing) for p in providers}
