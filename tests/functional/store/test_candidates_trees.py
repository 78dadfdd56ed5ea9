"""``load_few_trees`` (one statement) reads exactly what ``load_trees`` (four) reads."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment.store.candidates import trees
from allotment.store.engine import Database
from tests.functional.store.test_candidates_model import _write, draw_writes, write_world
from tests.unit.store.candidates.reference import worlds


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_few_trees_in_one_statement_match_the_four_statements(
    db: Database, data: st.DataObject
) -> None:
    write_world(db, data.draw(worlds()))
    claims: list[str] = []
    for kind, pick in draw_writes(data, 6):
        _write(db, kind, pick, claims)
    with db.read() as conn:
        roots = sorted({p.root_id for p in trees.load_trees(conn, None)})
        if not roots:
            return
        chosen = set(data.draw(st.lists(st.sampled_from(roots), min_size=1, max_size=4)))
        chosen.add(max(roots) + 1000)  # a root that does not exist adds nothing
        expected = sorted(trees.load_trees(conn, chosen), key=lambda p: p.id)
        assert trees.load_few_trees(conn, chosen) == expected
