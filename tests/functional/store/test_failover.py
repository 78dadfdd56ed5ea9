"""Several hosts in one URL, on every backend: a dead first host is skipped."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from allotment.store import resource_class as rc_store
from allotment.store.engine import Database, normalize_url
from allotment.store.hosts import HostsError


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_dead_host_first(db: Database) -> str:
    url = db.url.render_as_string(hide_password=False)
    live = f"{db.url.host}:{db.url.port}" if db.url.port else str(db.url.host)
    return url.replace(f"@{live}", f"@127.0.0.1:{_dead_port()},{live}", 1)


def test_a_dead_first_host_is_skipped(db: Database) -> None:
    if db.backend == "sqlite":
        with pytest.raises(HostsError):
            Database("sqlite://127.0.0.1:1,127.0.0.1:2/x.sqlite")
        return
    url = _with_dead_host_first(db)
    assert url.count(",") == 1
    # As a string (the config file) and as a parsed URL (code that normalizes first).
    for n, given in enumerate((url, normalize_url(url))):
        failover = Database(given)
        try:
            assert len(failover.hosts) == 2
            failover.run_write(lambda conn, n=n: rc_store.create(conn, f"CUSTOM_FAILOVER_{n}"))
            with failover.read() as conn:
                assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
                assert rc_store.find(conn, f"CUSTOM_FAILOVER_{n}") is not None
        finally:
            failover.dispose()
