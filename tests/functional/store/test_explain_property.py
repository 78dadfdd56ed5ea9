"""The explain funnel agrees with the real search on random small clouds (every backend).

For random worlds and requests (the generators of the candidate tests, some
with a feature forced on that the count's shortcuts must respect): the
funnel's final count is the number of candidates GET /allocation_candidates
returns without a limit, the verdict is "passed" exactly when there are
candidates, every funnel only ever shrinks, and no group funnel reaches zero
while candidates exist (its filters are necessary conditions of the engine's);
explain over the in-memory model gives the same document as over SQL research.
"""

from __future__ import annotations

import os
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment.store.candidates.search import SearchOptions, find_candidates
from allotment.store.engine import Database
from allotment.store.explain import PASSED, explain
from tests.functional.store.test_candidates_model import write_world
from tests.unit.store.candidates.reference import requests, worlds
from tests.unit.store.candidates.test_counting import FORCED


@settings(
    max_examples=int(os.environ.get("EXPLAIN_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_funnel_matches_the_search(db: Database, data: st.DataObject) -> None:
    providers = data.draw(worlds())
    # As drawn, or with a feature explain's counting shortcuts must respect
    # forced on (isolate, same_subtree, required traits, sharing, granular).
    feature = data.draw(st.sampled_from(sorted(FORCED)))
    request = FORCED[feature](data.draw(requests(providers)))
    limit = data.draw(st.none() | st.integers(1, 4))
    request = replace(request, limit=limit)
    builder = write_world(db, providers)
    with db.read() as conn:
        every = find_candidates(conn, replace(request, limit=None))
        document = explain(conn, request)
        # The in-memory model (the default source of GET /allocation_candidates)
        # explains exactly as the SQL research does.
        from_model = explain(conn, request, SearchOptions(in_memory=True))
    assert from_model == document
    count = len(every.candidates)
    assert document["candidates"]["before_limit"] == count
    assert document["candidates"]["returned"] == (count if limit is None else min(limit, count))
    if count:
        assert document["verdict"]["step"] == PASSED
        for group in document["groups"]:
            assert group["funnel"][-1]["remaining"] > 0, group
            assert group["zero_step"] is None
        assert document["tree_funnel"][-1]["remaining"] > 0
    else:
        assert document["verdict"]["step"] != PASSED
        assert document["verdict"]["message"]
    for funnel in [g["funnel"] for g in document["groups"]] + [document["tree_funnel"]]:
        counts = [entry["remaining"] for entry in funnel]
        assert counts == sorted(counts, reverse=True), funnel
    assert document["tree_funnel"][0]["remaining"] == len(
        {p.root_id for p in builder.providers.values()}
    )
