"""``GET /resource_providers?resources=``'s filter against a brute force, after random writes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment.store import resource_provider as rp_store
from allotment.store.candidates import trees
from allotment.store.engine import Database
from tests.functional.store.test_candidates_model import _write, draw_writes, write_world
from tests.unit.store.candidates.reference import RCS, worlds


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_resources_filter_keeps_exactly_the_providers_with_room(
    db: Database, data: st.DataObject
) -> None:
    write_world(db, data.draw(worlds()))
    claims: list[str] = []
    for kind, pick in draw_writes(data, 5):
        _write(db, kind, pick, claims)
    wanted = data.draw(
        st.dictionaries(st.sampled_from(RCS), st.integers(1, 6), min_size=1, max_size=3)
    )
    with db.read() as conn:
        stored = trees.load_trees(conn, None)
        known = {rc for p in stored for rc in p.inventories}
        if not set(wanted) <= known:
            return  # an unknown class is a 400, tested elsewhere
        expected = sorted(
            p.uuid
            for p in stored
            if all(rc in p.inventories and p.inventories[rc].fits(n) for rc, n in wanted.items())
        )
        found = rp_store.find_filtered(conn, rp_store.ProviderFilter(resources=wanted))
    assert sorted(p.uuid for p in found) == expected
