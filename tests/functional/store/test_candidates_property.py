"""Research + assembly through the database agree with the brute-force reference.

Random small worlds are written with ``TreeBuilder`` on every backend; the
SQL pre-filtering must never lose (or invent) a candidate.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment.store import schema
from allotment.store.candidates.search import find_candidates
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder
from tests.unit.store.candidates.reference import TRAITS, reference, requests, worlds


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
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
    used_roots = {builder.providers[p].root_id for c in result.candidates
                  for p in c.provider_ids()}
    expected = sorted(p.id for p in builder.providers.values() if p.root_id in used_roots)
    if request.nested_aware:
        assert result.summarised == expected
