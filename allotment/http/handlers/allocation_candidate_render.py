"""GET /allocation_candidates: the answer's JSON per microversion, whole or in pieces.

A limited answer is rendered whole: ``render`` gives the
dict that ``json_response`` serialises. An answer without a limit can hold
100,000 candidates and more (tens of MB of JSON): its allocation requests
are rendered batch by batch while the search hands them over
(``RequestPieces``, a ``BatchSink``), so no candidate object outlives its
batch, and ``body_pieces`` then yields the whole answer piece by piece,
rendering the provider summaries only as the body is sent. Both give the
very same bytes: ``b"".join(body_pieces(...)) == orjson.dumps(render(...))``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

import orjson

from allotment.http import microversion as mv
from allotment.store.candidates.plan import Candidate
from allotment.store.candidates.request import CandidateRequest
from allotment.store.candidates.search import BATCH_SIZE, SearchResult
from allotment.store.candidates.universe import Provider, Universe

_REQUESTS_OPEN = b'{"allocation_requests":['
_SUMMARIES_OPEN = b'],"provider_summaries":{'
_CLOSE = b"}}"


def render(result: SearchResult, request: CandidateRequest, version: mv.Version) -> dict[str, Any]:
    providers = result.universe.providers
    candidates = result.candidates
    pieces = [
        render_requests(candidates[start : start + BATCH_SIZE], providers, version)
        for start in range(0, len(candidates), BATCH_SIZE)
    ]
    summary = summary_renderer(result, request, version)
    return {
        "allocation_requests": orjson.Fragment(b"[" + b",".join(pieces) + b"]"),
        "provider_summaries": {providers[pid].uuid: summary(pid) for pid in result.summarised},
    }


def render_requests(
    candidates: Sequence[Candidate], providers: Mapping[int, Provider], version: mv.Version
) -> bytes:
    """Some allocation requests as JSON, comma-separated, without the brackets.

    Rendered a batch at a time: kept as dicts until the whole answer is
    written, tens of thousands of candidates are half a dozen containers
    each that the garbage collector walks again and again while the list
    grows; a batch is one flat bytes object, its dicts freed at once.
    """
    if version.matches(mv.ALLOCATIONS_DICT_FORM):
        entries = _dict_requests(candidates, providers, version.matches(mv.CANDIDATE_MAPPINGS))
    else:
        entries = [
            {
                "allocations": [
                    {"resource_provider": {"uuid": providers[pid].uuid}, "resources": res}
                    for pid, res in candidate.allocations.items()
                ]
            }
            for candidate in candidates
        ]
    return orjson.dumps(entries)[1:-1]


def _dict_requests(
    candidates: Iterable[Candidate], providers: Mapping[int, Provider], mappings: bool
) -> list[dict[str, Any]]:
    """Allocation requests in the dict form (1.12 on).

    Plain loops: a comprehension per candidate costs a function call each.
    Candidates are fresh objects: their dicts are rendered without copies.
    """
    requests: list[dict[str, Any]] = []
    append = requests.append
    for candidate in candidates:
        allocations: dict[str, Any] = {}
        for pid, res in candidate.allocations.items():
            allocations[providers[pid].uuid] = {"resources": res}
        entry: dict[str, Any] = {"allocations": allocations}
        if mappings:
            mapped: dict[str, list[str]] = {}
            for suffix, pids in candidate.mappings.items():
                mapped[suffix] = (
                    [providers[pids[0]].uuid]
                    if len(pids) == 1
                    else [providers[p].uuid for p in pids]
                )
            entry["mappings"] = mapped
        append(entry)
    return requests


# ---------------------------------------------------------------------------
# In pieces


class RequestPieces:
    """A ``BatchSink``: renders each batch of allocation requests as it is handed over."""

    def __init__(self, version: mv.Version) -> None:
        self.version = version
        self.pieces: list[bytes] = []
        self.size = 0

    def __call__(self, batch: list[Candidate], providers: Mapping[int, Provider]) -> None:
        piece = render_requests(batch, providers, self.version)
        self.pieces.append(piece)
        self.size += len(piece)


def body_pieces(
    pieces: list[bytes],
    result: SearchResult,
    request: CandidateRequest,
    version: mv.Version,
    summaries_per_piece: int = BATCH_SIZE,
) -> Iterator[bytes]:
    """The whole answer, piece by piece: the rendered allocation requests (each
    dropped from ``pieces`` once yielded), then the provider summaries, rendered
    ``summaries_per_piece`` providers at a time as they are asked for."""
    yield from _joined(_drained(pieces), _REQUESTS_OPEN, b"")
    summaries = _summary_pieces(result, request, version, summaries_per_piece)
    yield from _joined(summaries, _SUMMARIES_OPEN, _CLOSE)


def _drained(pieces: list[bytes]) -> Iterator[bytes]:
    """Each piece in turn, its list slot emptied as it goes (the bytes are freed once sent)."""
    for index in range(len(pieces)):
        piece, pieces[index] = pieces[index], b""
        yield piece


def _joined(pieces: Iterable[bytes], opening: bytes, closing: bytes) -> Iterator[bytes]:
    """``opening + b",".join(pieces) + closing``, one piece at a time."""
    first = True
    for piece in pieces:
        yield (opening if first else b",") + piece
        first = False
    yield (opening if first else b"") + closing


def _summary_pieces(
    result: SearchResult, request: CandidateRequest, version: mv.Version, size: int
) -> Iterator[bytes]:
    providers = result.universe.providers
    summary = summary_renderer(result, request, version)
    pids = iter(result.summarised)
    while chunk := list(islice(pids, size)):
        yield orjson.dumps({providers[pid].uuid: summary(pid) for pid in chunk})[1:-1]


# ---------------------------------------------------------------------------
# Provider summaries


def summary_renderer(
    result: SearchResult, request: CandidateRequest, version: mv.Version
) -> Callable[[int], Any]:
    """Provider id -> its summary; from the model's rendered fragments where it has them."""
    universe = result.universe
    wanted = None if version.matches(mv.SUMMARIES_ALL_CLASSES) else request.resource_classes()
    traits = version.matches(mv.CANDIDATES_REQUIRED)
    nested = version.matches(mv.NESTED_CANDIDATES)
    providers = universe.providers

    def summary(provider: Provider) -> dict[str, Any]:
        return _summary(universe, provider, wanted, traits, nested)

    if result.fragments is None:
        return lambda pid: summary(providers[pid])
    cache, key = (
        result.fragments,
        (frozenset(wanted) if wanted is not None else None, traits, nested),
    )
    return lambda pid: cache.fragment(providers[pid], key, summary)


def _summary(
    universe: Universe, provider: Provider, wanted: set[str] | None, traits: bool, nested: bool
) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "resources": {
            rc: {"capacity": inventory.summary_capacity, "used": inventory.used}
            for rc, inventory in provider.inventories.items()
            if wanted is None or rc in wanted
        }
    }
    if traits:
        summary["traits"] = list(provider.trait_order) or sorted(provider.traits)
    if nested:
        parent = (
            universe.providers.get(provider.parent_id) if provider.parent_id is not None else None
        )
        summary["parent_provider_uuid"] = parent.uuid if parent else None
        summary["root_provider_uuid"] = universe.providers[provider.root_id].uuid
    return summary
