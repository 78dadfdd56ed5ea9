"""The model's poll (``candidates.poll``): the feed's rows and, on PostgreSQL, the
usage they call for, read in one statement that stays on the indexes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from allotment.store import allocation, changes, trait
from allotment.store import resource_provider as rp_store
from allotment.store.candidates import poll, trees
from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.search import SearchOptions, find_candidates
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder
from tests.functional.store.test_allocation_statements import counting


@pytest.fixture
def claimed(db: Database) -> tuple[Database, TreeBuilder, int]:
    """Two computes with a claim each and a trait change on one; the feed's top
    before those writes."""
    with db.write() as conn:
        b = TreeBuilder(conn)
        b.provider("cn1", inventory={"VCPU": 4, "MEMORY_MB": 512})
        b.provider("cn2", inventory={"VCPU": 4})
        b.provider("cn2-numa", parent="cn2", inventory={"PCPU": 2})
    with db.read() as conn:
        top = changes.high_water(conn)
    for i, name in enumerate(("cn1", "cn2-numa", "cn1")):
        with db.write() as conn:
            rc = "PCPU" if name.endswith("numa") else "VCPU"
            allocation.replace_all(
                conn,
                [
                    allocation.ConsumerWrite(
                        f"00000000-0000-0000-0000-0000000000c{i}", "p", "u", {b.uuid(name): {rc: 1}}
                    )
                ],
            )
    with db.write() as conn:
        trait.set_provider_traits(conn, rp_store.get(conn, b.uuid("cn2")), ["HW_CPU_X86_AVX2"])
    return db, b, top


@pytest.mark.parametrize("with_gaps", [False, True])
def test_the_poll_reads_what_the_feed_and_a_usage_reload_read(
    claimed: tuple[Database, TreeBuilder, int], with_gaps: bool
) -> None:
    db, _, top = claimed
    with db.read(own_snapshots=True) as conn:
        everything = changes.since(conn, top)
        # As a reader that saw the last row but missed the first two.
        low, gaps = (everything[-1][0], [r[0] for r in everything[:2]]) if with_gaps else (top, [])
        polled = poll.poll(conn, low, gaps)
        rows = changes.since(conn, low, gaps)
        named = {r[1] for r in rows if r[3] and r[1] is not None}
        reloaded = trees.load_inventories(conn, named)
    assert polled.rows == rows
    assert len(rows) == (2 if with_gaps else len(everything))
    assert named  # claims are among the rows read
    if db.backend == "postgresql":
        assert polled.usage == reloaded
    else:
        assert polled.usage is None  # the model reloads them itself


def test_after_a_claim_the_next_search_reads_the_feed_once(
    claimed: tuple[Database, TreeBuilder, int],
) -> None:
    db, b, _ = claimed
    request = CandidateRequest(groups=(RequestGroup(resources={"VCPU": 1}),))
    with db.read(own_snapshots=True) as conn:
        find_candidates(conn, request, SearchOptions(in_memory=True))  # model loaded
    with db.write() as conn:
        allocation.replace_all(
            conn,
            [
                allocation.ConsumerWrite(
                    "00000000-0000-0000-0000-0000000000d1", "p", "u", {b.uuid("cn2"): {"VCPU": 1}}
                )
            ],
        )
    with db.read(own_snapshots=True) as conn, counting(db) as sent:
        result = find_candidates(conn, request, SearchOptions(in_memory=True))
    used = {c.anchor: c for c in result.candidates}
    assert len(used) == 2
    # PostgreSQL: the poll brought the usage; elsewhere a second statement did.
    assert len(sent) == (1 if db.backend == "postgresql" else 2), sent


def test_the_prepared_poll_stays_on_the_indexes(
    claimed: tuple[Database, TreeBuilder, int],
) -> None:
    """PostgreSQL's generic plan (what psycopg's prepared statement runs) must not
    read every inventory: an ``IN (subquery)`` was planned as a hash join over them."""
    db, _, top = claimed
    if db.backend != "postgresql":
        return  # MySQL and SQLite do not run this statement (see the first test)
    statement = poll._STATEMENTS[1].compile(dialect=db.engine.dialect)
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            cursor.execute(f"PREPARE polled AS {_numbered(statement)}")
            cursor.execute(f"EXPLAIN EXECUTE polled({int(top)}, ARRAY[{int(top) + 1}], 0)")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        conn.rollback()
    assert "Index" in plan
    assert "Seq Scan on inventories" not in plan, plan


def _numbered(compiled: sa.engine.Compiled) -> str:
    """The compiled statement with $1, $2... for its parameters (in order of first use)."""
    text = compiled.string
    for number, name in enumerate(("top", "gaps", "coalesce_2"), start=1):
        text = text.replace(f"%({name})s", f"${number}")
    assert "%(" not in text, text
    return text
