"""Run a candidate search: research, assemble, then the request-wide limits (spec J7)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from allotment.store.candidates.assemble import DEPTH_FIRST, Candidate, generate
from allotment.store.candidates.request import CandidateRequest
from allotment.store.candidates.research import Research, research
from allotment.store.candidates.universe import Universe


@dataclass
class SearchOptions:
    """Server settings that shape the result (``[placement]`` options)."""

    max_candidates: int = -1
    strategy: str = DEPTH_FIRST
    randomize: bool = False
    rng: random.Random = field(default_factory=random.Random)


@dataclass
class SearchResult:
    candidates: list[Candidate]
    universe: Universe
    summarised: list[int]


def find_candidates(conn: Connection, request: CandidateRequest,
                    options: SearchOptions | None = None) -> SearchResult:
    return select(research(conn, request), request, options or SearchOptions())


def select(found: Research, request: CandidateRequest, options: SearchOptions) -> SearchResult:
    """Generate, cap, limit (or sample) and pick the providers to summarise."""
    cap = options.max_candidates if options.max_candidates >= 0 else None
    stop = cap
    if request.limit is not None and not options.randomize:
        # Without randomisation the answer is the first ``limit`` candidates
        # of a deterministic order: no need to generate more.
        stop = request.limit if cap is None else min(cap, request.limit)
    candidates = generate(found.universe, request, found.in_tree_roots,
                          strategy=options.strategy, stop_after=stop)
    if options.randomize:
        if request.limit is not None and request.limit < len(candidates):
            candidates = options.rng.sample(candidates, request.limit)
        else:
            options.rng.shuffle(candidates)
    elif request.limit is not None:
        candidates = candidates[:request.limit]
    return SearchResult(candidates, found.universe,
                        summarised_providers(found.universe, candidates, request.nested_aware))


def summarised_providers(universe: Universe, candidates: list[Candidate],
                         nested_aware: bool) -> list[int]:
    """From 1.29 every provider of every tree a candidate uses; before, the used ones."""
    used: set[int] = set()
    for candidate in candidates:
        used |= candidate.provider_ids()
    if not nested_aware:
        return sorted(used)
    roots = {universe.providers[pid].root_id for pid in used}
    return sorted(pid for root in roots for pid in universe.trees.get(root, []))
