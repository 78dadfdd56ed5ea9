"""Research + assembly through the database agree with the brute-force reference.

Random small worlds are written with ``TreeBuilder`` on every backend; the
SQL pre-filtering must never lose (or invent) a candidate.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment.store import schema
from allotment.store.candidates.search import SearchOptions, find_candidates, summarised_providers
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder
from tests.unit.store.candidates.reference import TRAITS, reference, requests, worlds


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_database_search_matches_brute_force(db: Database, data: st.DataObject) -> None:
    providers = data.draw(worlds())
    request = data.draw(requests(providers))
    schema.reset_data(db)
    with db.write() as conn:
        builder = TreeBuilder(conn)
        for name in TRAITS:
            builder._trait_id(name)  # every trait a request may name exists
        builder.add_world(providers)
    with db.read() as conn:
        result = find_candidates(conn, request)
    keys = [c.key() for c in result.candidates]
    assert len(keys) == len(set(keys))
    assert set(keys) == reference(builder.providers.values(), request)
    used_roots = {builder.providers[p].root_id for c in result.candidates for p in c.provider_ids()}
    expected = sorted(p.id for p in builder.providers.values() if p.root_id in used_roots)
    if request.nested_aware:
        assert result.summarised == expected
    _limited_search_is_a_prefix(db, request, data)


def _limited_search_is_a_prefix(db: Database, request, data: st.DataObject) -> None:
    """With a limit, roots are searched in windows and loaded in chunks (here of one
    id and one tree): the answer must be the first candidates of the unlimited order."""
    strategy = data.draw(st.sampled_from(["depth-first", "breadth-first"]))
    with db.read() as conn:
        every = find_candidates(conn, request, SearchOptions(strategy=strategy))
        limit = data.draw(st.integers(1, len(every.candidates) + 1))
        limited = find_candidates(
            conn,
            replace(request, limit=limit),
            SearchOptions(
                strategy=strategy,
                first_window=data.draw(st.integers(1, 3)),
                max_chunk=data.draw(st.integers(1, 2)),
            ),
        )
    assert [c.key() for c in limited.candidates] == [c.key() for c in every.candidates[:limit]]
    assert limited.summarised == summarised_providers(
        every.universe, limited.candidates, request.nested_aware
    )
    used = set().union(*(c.provider_ids() for c in limited.candidates))
    for pid in used | set(limited.summarised):
        assert limited.universe.providers[pid] == every.universe.providers[pid]
