"""Run a candidate search: plan, find anchors, load and assemble lazily, then the limits (J7).

Without randomisation, a ``limit`` (or ``max_allocation_candidates``) means
the answer is the first candidates of a deterministic order: anchors in root
id order, each anchor's candidates in the assembler's order (or one per
anchor in turn with the breadth-first strategy). With such a stop the roots
are searched in windows (``first_window`` wide, by default as the source
prefers: twice the stop for SQL research, where each window costs queries,
half of it for the model, where a window costs only what it holds; at least
``MIN_WINDOW``; then twice as wide each time) and the anchors of a
window are loaded in chunks of at most ``max_chunk`` trees; nothing more is
read once enough candidates exist.
Without a stop every anchor is needed: one window, chunks of ``max_chunk``.

With randomisation and a ``limit`` the anchors are searched in random order
and at most ``RANDOM_POOL_FACTOR`` x ``limit`` candidates (fewer with
``max_allocation_candidates``) are generated, from which ``limit`` are drawn.
When the whole answer fits in that pool this is a uniform sample of it, as
upstream's; when it does not, the pool is drawn from randomly chosen trees
instead of generating an answer that may have millions of candidates.

Where the providers come from is a ``CandidateSource``: SQL research on the
request's connection, or (``SearchOptions.in_memory``) the worker's in-memory
model, refreshed from the change feed first (``model``).

SQL queries per request: at most 6 + (C + 2) to plan, C + 2 per window and 4
per chunk, with C the number of distinct (class, amount) pairs of the request.
With the model: one to poll the change feed, one or two to check names, and
5 per batch of trees changed since the last request.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain

from sqlalchemy.engine import Connection

from allotment.store.candidates import model as model_mod
from allotment.store.candidates.assemble import (
    DEPTH_FIRST,
    Observer,
    candidate_stream,
    generate_over,
)
from allotment.store.candidates.fragments import FragmentCache
from allotment.store.candidates.plan import Candidate
from allotment.store.candidates.request import CandidateRequest
from allotment.store.candidates.research import Research, Window, chunks
from allotment.store.candidates.sources import CandidateSource, SqlSource
from allotment.store.candidates.universe import Provider, Universe

# With randomisation and a limit: how many times ``limit`` candidates to draw from.
RANDOM_POOL_FACTOR = 10
# Candidates handed to a ``BatchSink`` at once (``find_candidates_in_batches``).
BATCH_SIZE = 1000

# Takes one batch of candidates with every provider loaded so far (by id).
BatchSink = Callable[[list[Candidate], Mapping[int, Provider]], None]


@dataclass
class SearchOptions:
    """Server settings that shape the result (``[placement]`` options), and chunking."""

    max_candidates: int = -1
    strategy: str = DEPTH_FIRST
    randomize: bool = False
    rng: random.Random = field(default_factory=random.Random)
    # With a stop: the width of the first window of roots searched (provider
    # ids on SQL, roots in the model); each next window is twice as wide.
    # None: twice the stop (a claim's limit=10 reads a few trees, not hundreds).
    first_window: int | None = None
    # At most this many anchor trees are loaded at once.
    max_chunk: int = 4096
    # Search the worker's in-memory model (kept fresh by the change feed)
    # instead of researching by SQL.
    in_memory: bool = False


@dataclass
class SearchResult:
    candidates: list[Candidate]
    universe: Universe
    summarised: list[int]
    # Rendered summaries to reuse (the model's); None: render every one.
    fragments: FragmentCache | None = None
    # Candidates handed to a sink as they were found, not kept in ``candidates``.
    handed_over: int = 0

    @property
    def found(self) -> int:
        """How many candidates the search found (kept or handed over)."""
        return len(self.candidates) + self.handed_over


def find_candidates(
    conn: Connection,
    request: CandidateRequest,
    options: SearchOptions | None = None,
    source: CandidateSource | None = None,
) -> SearchResult:
    options = options or SearchOptions()
    return _with_source(conn, options, source, lambda chosen: search(chosen, request, options))


def find_candidates_in_batches(
    conn: Connection,
    request: CandidateRequest,
    options: SearchOptions,
    sink: BatchSink,
    batch_size: int = BATCH_SIZE,
) -> SearchResult:
    """``find_candidates`` for a request without limit, whose candidates go to
    ``sink`` in batches as they are generated and are not kept.

    The answer is then the batches in order: the same candidates, in the same
    order, as ``find_candidates`` would list. A no-limit answer over a large
    cloud holds 100,000 candidates and more (about 0.8 KiB each as objects);
    a sink that renders each batch keeps only the rendered bytes. Everything
    (planning, loading, assembling) still runs here, under the model's lock or
    on the request's connection, so nothing of the search is left to fail later.

    Randomised, the same candidates come in a random order that is not held
    whole: the trees in random order, and each batch shuffled. (Shuffling
    the whole answer, as ``find_candidates`` does, held every candidate of
    it: 440 MiB for a worker answering 120,000 at N=50,000.) Without a
    limit, randomisation changes only the order: every candidate is there.
    """
    if request.limit is not None:
        raise ValueError("batches are for requests without limit")
    return _with_source(
        conn,
        options,
        None,
        lambda chosen: search_in_batches(chosen, request, options, sink, batch_size),
    )


def _with_source(
    conn: Connection,
    options: SearchOptions,
    source: CandidateSource | None,
    run: Callable[[CandidateSource], SearchResult],
) -> SearchResult:
    """``run`` on ``source``, or the worker's model (as configured), or SQL research."""
    if source is not None:
        return run(source)
    if options.in_memory:
        with model_mod.open_source(conn) as from_model:
            if from_model is not None:
                result = run(from_model)
                result.fragments = from_model.model.fragments
                return result
    return run(SqlSource(conn))


def search(
    source: CandidateSource, request: CandidateRequest, options: SearchOptions
) -> SearchResult:
    """Plan, then windows, anchors and chunks from ``source``, assembled lazily."""
    stop = _stop(request, options)
    in_tree_roots, universes = _universes(source, request, options, stop)
    return _select(universes, in_tree_roots, request, options)


def search_in_batches(
    source: CandidateSource,
    request: CandidateRequest,
    options: SearchOptions,
    sink: BatchSink,
    batch_size: int = BATCH_SIZE,
) -> SearchResult:
    """``search`` without limit, handing the candidates to ``sink`` (see
    ``find_candidates_in_batches``; ``_universes`` shuffles the anchors)."""
    stop = _stop(request, options)
    in_tree_roots, universes = _universes(source, request, options, stop)
    # Only the providers of past universes are kept, not the universes (their
    # trees, links and indexes): the answer needs nothing more of them.
    providers: dict[int, Provider] = {}
    first: list[Universe] = []  # the only universe, while there is one

    def remember() -> Iterator[Universe]:
        for count, universe in enumerate(universes):
            providers.update(universe.providers)
            first[:] = [universe] if count == 0 else []
            yield universe

    stream = candidate_stream(remember(), request, in_tree_roots, options.strategy, stop)
    used: set[int] = set()
    handed_over = 0
    batch: list[Candidate] = []
    for candidate in stream:
        batch.append(candidate)
        if len(batch) >= batch_size:
            handed_over += _hand_over(batch, providers, used, sink, options)
            batch = []
    if batch:
        handed_over += _hand_over(batch, providers, used, sink, options)
    universe = first[0] if first else _trees_used(providers, used)
    summarised = _summarised(universe, used, request.nested_aware)
    return SearchResult([], universe, summarised, handed_over=handed_over)


def _hand_over(
    batch: list[Candidate],
    providers: Mapping[int, Provider],
    used: set[int],
    sink: BatchSink,
    options: SearchOptions,
) -> int:
    if options.randomize:
        options.rng.shuffle(batch)
    used.update(used_providers(batch))
    sink(batch, providers)
    return len(batch)


def _universes(
    source: CandidateSource, request: CandidateRequest, options: SearchOptions, stop: int | None
) -> tuple[dict[str, int | None], Iterator[Universe]]:
    """The plan's in_tree roots, and the universes to assemble over (loaded lazily)."""
    # With a stop, the roots are searched in windows: in id order for a
    # deterministic prefix, or (randomised) windows of equal width in random
    # order, so that a random pool costs about its own size, not the cloud's.
    plan = source.plan(request, windowed=stop is not None)
    first = None
    if stop is not None:
        first = options.first_window or source.first_window(stop)
    windows: Iterable[Window] = source.windows(plan, first, grow=not options.randomize)
    if options.randomize and stop is not None:
        windows = list(windows)
        options.rng.shuffle(windows)

    def universes() -> Iterator[Universe]:
        for window in windows:
            anchors = source.anchors(plan, window)
            if options.randomize:
                options.rng.shuffle(anchors)
            for chunk in chunks(anchors, options.max_chunk):
                yield source.load(plan, chunk)

    return plan.in_tree_roots, universes()


def select(
    found: Research,
    request: CandidateRequest,
    options: SearchOptions,
    observer: Observer | None = None,
) -> SearchResult:
    """Generate, cap, limit (or sample) over an already loaded universe."""
    universe = found.universe
    if options.randomize:
        universe = copy.copy(universe)
        universe.anchors = list(universe.anchors)
        options.rng.shuffle(universe.anchors)
    return _select(iter([universe]), found.in_tree_roots, request, options, observer)


def _stop(request: CandidateRequest, options: SearchOptions) -> int | None:
    """How many candidates to generate at most (None: all of them)."""
    cap = options.max_candidates if options.max_candidates >= 0 else None
    if request.limit is None:
        return cap
    # Without randomisation the answer is the first ``limit`` candidates of a
    # deterministic order: no need to generate more. With it, a bounded pool.
    wanted = request.limit * RANDOM_POOL_FACTOR if options.randomize else request.limit
    return wanted if cap is None else min(cap, wanted)


def _select(
    universes: Iterator[Universe],
    in_tree_roots: dict[str, int | None],
    request: CandidateRequest,
    options: SearchOptions,
    observer: Observer | None = None,
) -> SearchResult:
    loaded: list[Universe] = []

    def remember() -> Iterator[Universe]:
        for universe in universes:
            loaded.append(universe)
            yield universe

    candidates = generate_over(
        remember(),
        request,
        in_tree_roots,
        strategy=options.strategy,
        stop_after=_stop(request, options),
        observer=observer,
    )
    if options.randomize:
        if request.limit is not None and request.limit < len(candidates):
            candidates = options.rng.sample(candidates, request.limit)
        else:
            options.rng.shuffle(candidates)
    elif request.limit is not None:
        candidates = candidates[: request.limit]
    used = used_providers(candidates)
    universe = _merged(loaded, used)
    return SearchResult(candidates, universe, _summarised(universe, used, request.nested_aware))


def used_providers(candidates: list[Candidate]) -> set[int]:
    """Every provider some candidate allocates from or maps a group to."""
    used: set[int] = set(chain.from_iterable(c.allocations for c in candidates))
    used.update(chain.from_iterable(chain.from_iterable(c.mappings.values() for c in candidates)))
    return used


def _merged(loaded: list[Universe], used: set[int]) -> Universe:
    """One universe holding the trees the candidates use (what rendering needs)."""
    if len(loaded) == 1:
        return loaded[0]
    providers: dict[int, Provider] = {}
    for universe in loaded:
        providers.update(universe.providers)
    return _trees_used(providers, used)


def _trees_used(providers: Mapping[int, Provider], used: set[int]) -> Universe:
    """A universe of the trees (among ``providers``) holding a used provider."""
    roots = {providers[pid].root_id for pid in used}
    return Universe([p for p in providers.values() if p.root_id in roots])


def summarised_providers(
    universe: Universe, candidates: list[Candidate], nested_aware: bool
) -> list[int]:
    """From 1.29 every provider of every tree a candidate uses; before, the used ones."""
    return _summarised(universe, used_providers(candidates), nested_aware)


def _summarised(universe: Universe, used: set[int], nested_aware: bool) -> list[int]:
    if not nested_aware:
        return sorted(used)
    roots = {universe.providers[pid].root_id for pid in used}
    return sorted(pid for root in roots for pid in universe.trees.get(root, []))
