"""The answer rendered in pieces is byte for byte the answer rendered whole."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from allotment.http import microversion as mv
from allotment.http.handlers.allocation_candidate_render import (
    RequestPieces,
    body_pieces,
    render,
    summary_renderer,
)
from allotment.store.candidates.fragments import FragmentCache
from allotment.store.candidates.plan import Candidate
from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.search import SearchResult
from allotment.store.candidates.universe import Inventory, Provider, Universe

CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")
TRAITS = ("HW_CPU_X86_AVX2", "CUSTOM_FAST", "COMPUTE_STATUS_DISABLED")
VERSIONS = [mv.parse_version(v) for v in ("1.10", "1.12", "1.17", "1.27", "1.29", "1.34", "1.39")]


@st.composite
def universes(draw: st.DrawFn) -> Universe:
    """A few trees: roots with up to two children, random inventories and traits."""
    providers = []
    for root in range(1, draw(st.integers(1, 4)) + 1):
        ids = [root * 10]
        ids += [root * 10 + n for n in range(1, draw(st.integers(0, 2)) + 1)]
        for pid in ids:
            classes = draw(st.lists(st.sampled_from(CLASSES), min_size=1, unique=True))
            providers.append(
                Provider(
                    pid,
                    f"00000000-0000-0000-0000-{pid:012d}",
                    root * 10,
                    parent_id=None if pid == root * 10 else root * 10,
                    traits=frozenset(draw(st.lists(st.sampled_from(TRAITS), unique=True))),
                    inventories={
                        rc: Inventory(total=draw(st.integers(1, 64)), used=draw(st.integers(0, 8)))
                        for rc in classes
                    },
                )
            )
    return Universe(providers)


@st.composite
def answers(draw: st.DrawFn) -> tuple[Universe, list[Candidate]]:
    universe = draw(universes())
    pids = sorted(universe.providers)
    candidates = []
    for _ in range(draw(st.integers(0, 12))):
        used = draw(st.lists(st.sampled_from(pids), min_size=1, max_size=3, unique=True))
        allocations = {
            pid: {rc: draw(st.integers(1, 4)) for rc in universe.providers[pid].inventories}
            for pid in used
        }
        mappings = {"": tuple(used)}
        if draw(st.booleans()):
            mappings["_NET"] = (draw(st.sampled_from(used)),)
        candidates.append(Candidate(universe.providers[used[0]].root_id, allocations, mappings))
    return universe, candidates


def _reference(
    result: SearchResult, request: CandidateRequest, version: mv.Version
) -> dict[str, Any]:
    """The answer as the API reference describes it, written out plainly."""
    uuid = {pid: p.uuid for pid, p in result.universe.providers.items()}
    requests: list[dict[str, Any]] = []
    for candidate in result.candidates:
        if not version.matches(mv.ALLOCATIONS_DICT_FORM):
            requests.append(
                {
                    "allocations": [
                        {"resource_provider": {"uuid": uuid[pid]}, "resources": res}
                        for pid, res in candidate.allocations.items()
                    ]
                }
            )
            continue
        entry: dict[str, Any] = {
            "allocations": {
                uuid[pid]: {"resources": res} for pid, res in candidate.allocations.items()
            }
        }
        if version.matches(mv.CANDIDATE_MAPPINGS):
            entry["mappings"] = {s: [uuid[p] for p in ps] for s, ps in candidate.mappings.items()}
        requests.append(entry)
    plain = SearchResult([], result.universe, result.summarised)
    summary = summary_renderer(plain, request, version)
    return {
        "allocation_requests": requests,
        "provider_summaries": {uuid[pid]: summary(pid) for pid in result.summarised},
    }


@settings(max_examples=150, deadline=None)
@given(
    answer=answers(),
    version=st.sampled_from(VERSIONS),
    batch=st.integers(1, 5),
    per_piece=st.integers(1, 4),
    cached=st.booleans(),
)
def test_pieces_join_to_the_whole_answer(
    answer: tuple[Universe, list[Candidate]],
    version: mv.Version,
    batch: int,
    per_piece: int,
    cached: bool,
) -> None:
    universe, candidates = answer
    request = CandidateRequest(groups=(RequestGroup(resources={"VCPU": 1, "DISK_GB": 1}),))
    used = {pid for c in candidates for pid in c.provider_ids()}
    fragments = FragmentCache() if cached else None
    whole = SearchResult(candidates, universe, sorted(used), fragments)
    expected = orjson.dumps(_reference(whole, request, version))
    assert orjson.dumps(render(whole, request, version)) == expected

    # As a search hands them over: in batches, none kept.
    sink = RequestPieces(version)
    for start in range(0, len(candidates), batch):
        sink(candidates[start : start + batch], universe.providers)
    assert sink.size == sum(len(piece) for piece in sink.pieces)
    handed = SearchResult([], universe, sorted(used), fragments, handed_over=len(candidates))
    pieces = list(body_pieces(sink.pieces, handed, request, version, per_piece))
    assert b"".join(pieces) == expected
    assert all(piece == b"" for piece in sink.pieces)  # each released once sent
    orjson.loads(expected)  # and it is JSON


def test_no_candidates_is_the_empty_answer() -> None:
    request = CandidateRequest(groups=(RequestGroup(resources={"VCPU": 1}),))
    empty = SearchResult([], Universe([]), [])
    body = b"".join(body_pieces([], empty, request, mv.MAX_VERSION))
    assert body == b'{"allocation_requests":[],"provider_summaries":{}}'
