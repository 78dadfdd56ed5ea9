"""Several database hosts behind one connection URL, and the choice between them.

``[placement_database] connection`` may name more than one host::

    mysql+pymysql://user:pw@db1:3306,db2:3306,db3:3306/placement?failover=round-robin
    postgresql+psycopg://user:pw@db1:5432,db2:5432/placement

MySQL/MariaDB/Galera: the hosts are tried in the order written
(``failover=order``, the default: every process writes through one Galera
node, which avoids certification conflicts) or starting at the next host
for each new connection (``failover=round-robin``). A host that refused a
connection, or a Galera node that is not synced, is skipped for
``failover_dead_seconds`` (default 10) and tried again after that, or earlier
when every other host is down as well.

PostgreSQL: the hosts go to libpq as its multi-host connection string, with
``target_session_attrs=read-write`` (unless the URL says otherwise), so libpq
connects to whichever host is the writable primary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# Query parameters of ours, removed before the URL reaches the driver. A
# parsed URL (SQLAlchemy's ``URL`` holds one host) carries the whole host
# list in ``failover_hosts``, so it survives being passed around and rendered.
HOSTS_PARAM = "failover_hosts"
FAILOVER_PARAMS = ("failover", "failover_dead_seconds", HOSTS_PARAM)
FAILOVER_MODES = ("order", "round-robin")
DEFAULT_DEAD_SECONDS = 10.0
DEFAULT_CONNECT_TIMEOUT = 3


class HostsError(ValueError):
    """A multi-host URL that cannot be used."""


@dataclass(frozen=True)
class Host:
    name: str
    port: int | None

    def __str__(self) -> str:
        return f"{self.name}:{self.port}" if self.port else self.name


def split_hosts(url: str) -> tuple[str, list[Host]]:
    """``(url naming only the first host, every host)`` for a URL string.

    A URL with one host (or none, e.g. SQLite) comes back unchanged with at
    most one host.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url, []
    authority_end = len(rest)
    for stop in "/?":
        index = rest.find(stop)
        if index != -1:
            authority_end = min(authority_end, index)
    authority, tail = rest[:authority_end], rest[authority_end:]
    userinfo, at, hostlist = authority.rpartition("@")
    if not hostlist:
        return url, []
    hosts = parse_host_list(hostlist)
    first = f"{scheme}://{userinfo}{at}{hosts[0]}{tail}"
    return first, hosts


def parse_host_list(text: str) -> list[Host]:
    """``a:1,b,[::1]:3`` as hosts."""
    return [_parse_host(part) for part in text.split(",")]


def _parse_host(text: str) -> Host:
    text = text.strip()
    if not text:
        raise HostsError("empty host in the database URL's host list")
    if text.startswith("["):  # [ipv6]:port
        address, _, port_text = text[1:].partition("]")
        port_text = port_text.lstrip(":")
        name = f"[{address}]"
    else:
        name, _, port_text = text.partition(":")
    if not port_text:
        return Host(name, None)
    try:
        port = int(port_text)
    except ValueError:
        raise HostsError(f"database host {text!r}: port {port_text!r} is not a number") from None
    if not 0 < port < 65536:
        raise HostsError(f"database host {text!r}: port out of range")
    return Host(name, port)


def libpq_hosts(hosts: Sequence[Host]) -> dict[str, str]:
    """libpq's multi-host ``host``/``port`` connection parameters."""
    return {
        "host": ",".join(h.name.strip("[]") for h in hosts),
        "port": ",".join(str(h.port or 5432) for h in hosts),
    }


class HostPicker:
    """Which host a new connection tries first, remembering the dead ones a while."""

    def __init__(
        self,
        hosts: Sequence[Host],
        mode: str = "order",
        dead_seconds: float = DEFAULT_DEAD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in FAILOVER_MODES:
            raise HostsError(f"failover must be one of {FAILOVER_MODES}, not {mode!r}")
        if not hosts:
            raise HostsError("no database host")
        self.hosts = list(hosts)
        self.mode = mode
        self.dead_seconds = dead_seconds
        self._clock = clock
        self._dead_until: dict[Host, float] = {}
        self._next = 0
        self._lock = threading.Lock()

    def candidates(self) -> list[Host]:
        """Every host in the order to try: live ones first, then the dead ones."""
        with self._lock:
            now = self._clock()
            ordered = self.hosts
            if self.mode == "round-robin":
                start = self._next % len(self.hosts)
                self._next += 1
                ordered = self.hosts[start:] + self.hosts[:start]
            live = [h for h in ordered if self._dead_until.get(h, 0.0) <= now]
            dead = sorted(
                (h for h in ordered if self._dead_until.get(h, 0.0) > now),
                key=lambda h: self._dead_until[h],
            )
            return live + dead

    def mark_dead(self, host: Host) -> None:
        with self._lock:
            self._dead_until[host] = self._clock() + self.dead_seconds

    def mark_alive(self, host: Host) -> None:
        with self._lock:
            self._dead_until.pop(host, None)

    def is_dead(self, host: Host) -> bool:
        with self._lock:
            return self._dead_until.get(host, 0.0) > self._clock()


def galera_ready(dbapi_conn: Any) -> bool:
    """False for a Galera node that is not synced (it refuses queries); True for a
    synced node and for any server without Galera replication switched on."""
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("SHOW GLOBAL VARIABLES LIKE 'wsrep_on'")
        row = cursor.fetchone()
        if row is None or str(row[1]).upper() != "ON":
            return True
        cursor.execute("SHOW GLOBAL STATUS LIKE 'wsrep_ready'")
        row = cursor.fetchone()
    finally:
        cursor.close()
    return row is None or str(row[1]).upper() == "ON"


def mysql_creator(
    picker: HostPicker,
    connect: Callable[..., Any],
    connect_kwargs: dict[str, Any],
    log: Callable[[str], None],
) -> Callable[[], Any]:
    """A pool ``creator`` that connects to the first usable host."""

    def create() -> Any:
        last: Exception | None = None
        for host in picker.candidates():
            kwargs = dict(connect_kwargs, host=host.name.strip("[]"))
            if host.port:
                kwargs["port"] = host.port
            try:
                conn = connect(**kwargs)
            except Exception as error:  # noqa: BLE001 - the driver's connect errors
                last = error
                if not picker.is_dead(host):
                    log(f"database host {host} unreachable, skipped: {error}")
                picker.mark_dead(host)
                continue
            try:
                ready = galera_ready(conn)
            except Exception as error:  # noqa: BLE001 - lost right after connecting
                ready, last = False, error
            if not ready:
                conn.close()
                log(f"database host {host} is a Galera node that is not synced, skipped")
                picker.mark_dead(host)
                continue
            picker.mark_alive(host)
            return conn
        assert last is not None or not picker.hosts
        raise last if last is not None else HostsError("no database host")

    return create
