"""Two writes allocating from one provider at once (issue 17: claims that race).

On PostgreSQL the write locks its provider rows when it reads them, so the
second write waits for the first and then succeeds on what the first
committed. Before, both read the same generation and the second failed its
compare-and-swap after waiting anyway: the server ran the whole write again.
SQLite has one writer at a time (the second waits at BEGIN); MySQL and
MariaDB keep the plain compare-and-swap, which Galera needs.
"""

from __future__ import annotations

import threading
import time

from allotment import exceptions as exc
from allotment.store import allocation as alloc_store
from allotment.store.engine import Database
from tests.functional.store.test_allocation import (
    C1,
    C2,
    RP_A,
    RP_B,
    cw,
    generation,
    make_provider,
    put,
    usage,
)

WAIT_SECONDS = 10.0
C0 = "c0c0c0c0-0000-4000-8000-000000000000"


def _project_and_user_exist(db: Database) -> None:
    """Two open writes must not both create them (the second would fail on the
    unique name, not on the provider)."""
    make_provider(db, RP_B, VCPU={"total": 1})
    put(db, cw(C0, {RP_B: {"VCPU": 1}}))


def _until_held(db: Database) -> None:
    """Until the second claim waits on a lock (PostgreSQL shows it; elsewhere, a
    moment: it may be held at BEGIN, or only at its compare-and-swap)."""
    if db.backend != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + WAIT_SECONDS
    with db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).scalar()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the second claim never waited on a lock")


def _two_claims(db: Database, total: int) -> list[object]:
    """Two claims of one VCPU on RP_A (``total`` VCPU), the second started while the
    first is still open; what became of the second ("committed" or its error)."""
    _project_and_user_exist(db)
    make_provider(db, RP_A, VCPU={"total": total})
    outcome: list[object] = []

    def second() -> None:
        try:
            with db.write() as conn:
                alloc_store.replace_all(conn, [cw(C2, {RP_A: {"VCPU": 1}})])
            outcome.append("committed")
        except (exc.ResourceProviderConcurrentUpdate, exc.CapacityExceeded) as error:
            outcome.append(type(error))

    with db.write() as conn:
        alloc_store.replace_all(conn, [cw(C1, {RP_A: {"VCPU": 1}})])
        thread = threading.Thread(target=second)
        thread.start()
        _until_held(db)
        # The second is held (a row lock, SQLite's write lock, or the
        # compare-and-swap's row lock on MySQL) while the first is open.
        assert thread.is_alive() and not outcome
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    return outcome


def test_a_second_claim_on_a_provider_waits_for_the_first(db: Database) -> None:
    outcome = _two_claims(db, total=2)
    if db.backend == "mysql" and outcome != ["committed"]:
        # The compare-and-swap failed: the server runs the write again.
        assert outcome == [exc.ResourceProviderConcurrentUpdate]
        assert usage(db) == {(RP_A, "VCPU"): 1, (RP_B, "VCPU"): 1}
        assert generation(db, RP_A) == 1
    else:
        assert outcome == ["committed"]
        assert usage(db) == {(RP_A, "VCPU"): 2, (RP_B, "VCPU"): 1}
        assert generation(db, RP_A) == 2


def test_the_second_claim_still_sees_the_capacity_the_first_took(db: Database) -> None:
    outcome = _two_claims(db, total=1)
    # Never both: the second fails on the capacity the first took (or, on
    # MySQL, may fail its compare-and-swap first and be run again).
    allowed = [[exc.CapacityExceeded]]
    if db.backend == "mysql":
        allowed.append([exc.ResourceProviderConcurrentUpdate])
    assert outcome in allowed
    assert usage(db) == {(RP_A, "VCPU"): 1, (RP_B, "VCPU"): 1}
