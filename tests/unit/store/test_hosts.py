"""Multi-host URLs and the choice of host (no database needed)."""

from __future__ import annotations

from typing import Any

import pytest

from allotment.store.hosts import (
    Host,
    HostPicker,
    HostsError,
    galera_ready,
    libpq_hosts,
    mysql_creator,
    split_hosts,
)


def test_split_hosts_keeps_single_host_urls() -> None:
    url = "mysql+pymysql://u:p@db1:3306/placement?charset=utf8mb4"
    assert split_hosts(url) == (url, [Host("db1", 3306)])
    assert split_hosts("sqlite:////tmp/x.sqlite") == ("sqlite:////tmp/x.sqlite", [])
    assert split_hosts("sqlite://") == ("sqlite://", [])


def test_split_hosts_reads_every_host() -> None:
    first, hosts = split_hosts("mysql://u:p@a:1,b,[::1]:3/db?failover=round-robin")
    assert first == "mysql://u:p@a:1/db?failover=round-robin"
    assert hosts == [Host("a", 1), Host("b", None), Host("[::1]", 3)]
    assert libpq_hosts(hosts) == {"host": "a,b,::1", "port": "1,5432,3"}


@pytest.mark.parametrize("url", ["mysql://u@a:1,,b/db", "mysql://u@a:x,b/db", "mysql://a:0,b/d"])
def test_split_hosts_rejects_bad_lists(url: str) -> None:
    with pytest.raises(HostsError):
        split_hosts(url)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_order_mode_skips_dead_hosts_for_a_while() -> None:
    a, b, c = Host("a", 1), Host("b", 2), Host("c", 3)
    clock = Clock()
    picker = HostPicker([a, b, c], "order", dead_seconds=10, clock=clock)
    assert picker.candidates() == [a, b, c]
    picker.mark_dead(a)
    assert picker.candidates() == [b, c, a]  # dead ones last, still tried
    clock.now += 11
    assert picker.candidates() == [a, b, c]


def test_round_robin_rotates_the_first_host() -> None:
    a, b = Host("a", 1), Host("b", 2)
    picker = HostPicker([a, b], "round-robin", clock=Clock())
    assert [picker.candidates()[0] for _ in range(4)] == [a, b, a, b]


def test_picker_rejects_unknown_modes() -> None:
    with pytest.raises(HostsError):
        HostPicker([Host("a", 1)], "random")


class FakeCursor:
    def __init__(self, ready: str | None) -> None:
        self.ready = ready

    def execute(self, sql: str) -> None:
        self.sql = sql

    def fetchone(self) -> Any:
        if "wsrep_on" in self.sql:
            return ("wsrep_on", "ON")
        return None if self.ready is None else ("wsrep_ready", self.ready)

    def close(self) -> None:
        pass


class FakeConnection:
    def __init__(self, host: str, ready: str | None) -> None:
        self.host, self.ready, self.closed = host, ready, False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self.ready)

    def close(self) -> None:
        self.closed = True


def test_creator_skips_refusing_and_unsynced_hosts() -> None:
    hosts = [Host("down", 1), Host("joining", 2), Host("ok", 3)]
    picker = HostPicker(hosts, "order", clock=Clock())
    made: list[FakeConnection] = []

    def connect(**kwargs: Any) -> FakeConnection:
        if kwargs["host"] == "down":
            raise OSError("refused")
        conn = FakeConnection(kwargs["host"], "OFF" if kwargs["host"] == "joining" else "ON")
        made.append(conn)
        return conn

    logged: list[str] = []
    create = mysql_creator(picker, connect, {"user": "u"}, logged.append)
    conn = create()
    assert conn.host == "ok"
    assert made[0].closed  # the unsynced node's connection was closed
    assert picker.is_dead(hosts[0]) and picker.is_dead(hosts[1])
    assert len(logged) == 2
    assert create().host == "ok"
    assert len(logged) == 2  # a host already known dead is not logged again


def test_creator_raises_the_last_error_when_every_host_fails() -> None:
    picker = HostPicker([Host("a", 1), Host("b", 2)], clock=Clock())

    def connect(**kwargs: Any) -> Any:
        raise OSError(f"refused by {kwargs['host']}")

    with pytest.raises(OSError, match="refused by b"):
        mysql_creator(picker, connect, {}, lambda _: None)()


class PlainCursor(FakeCursor):
    def fetchone(self) -> Any:
        return ("wsrep_on", "OFF") if "wsrep_on" in self.sql else ("wsrep_ready", "OFF")


def test_a_server_without_galera_replication_is_ready() -> None:
    class Plain(FakeConnection):
        def cursor(self) -> FakeCursor:
            return PlainCursor(None)

    assert galera_ready(Plain("plain", None))
    assert not galera_ready(FakeConnection("joining", "OFF"))


def test_a_parsed_url_keeps_its_host_list() -> None:
    from allotment.store.engine import normalize_url, url_hosts

    url = normalize_url("mysql://u:p@a:1,b:2/db?failover=round-robin")
    assert (url.host, url.port, url.database) == ("a", 1, "db")
    assert url_hosts(url) == [Host("a", 1), Host("b", 2)]
    # Rendered and parsed again (a subprocess, alembic), nothing is lost.
    again = normalize_url(url.render_as_string(hide_password=False))
    assert url_hosts(again) == [Host("a", 1), Host("b", 2)]
    assert again.query["failover"] == "round-robin"
    assert url_hosts(normalize_url("postgresql://u@pg:5432/db")) == [Host("pg", 5432)]
    assert url_hosts(normalize_url("sqlite:///x.sqlite")) == []


def test_alembic_config_takes_a_multi_host_url() -> None:
    from allotment.store import schema
    from allotment.store.engine import Database

    db = Database("mysql+pymysql://u:p%25w@a:1,b:2/db")  # no connection is made
    try:
        config = schema._alembic_config(db)
        assert config.get_main_option("sqlalchemy.url") == db.url.render_as_string(
            hide_password=False
        )
    finally:
        db.dispose()
