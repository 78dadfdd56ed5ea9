"""A 3-node MariaDB Galera cluster on loopback, for tests and for trying things.

Standard library only. Each node has its own datadir, socket, client port,
Galera port, IST port and rsync SST port (all picked free at start, never
3306). Node 1 bootstraps the cluster; nodes 2 and 3 join it by rsync SST.
Every wait is bounded; ``stop`` kills every node it started.

    python3 scripts/galera_cluster.py start DIR      # prints the client ports
    python3 scripts/galera_cluster.py kill DIR 2     # SIGKILL node 2
    python3 scripts/galera_cluster.py restart DIR 2  # node 2 rejoins (IST)
    python3 scripts/galera_cluster.py status DIR
    python3 scripts/galera_cluster.py stop DIR

Needs Debian's ``mariadb-server``, ``galera-4`` and ``rsync``
(``--install`` apt-gets them when missing; CI does).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

NODES = 3
PROVIDER_PATHS = ("/usr/lib/galera/libgalera_smm.so", "/usr/lib/libgalera_smm.so")
PACKAGES = ("mariadb-server", "galera-4", "rsync", "iproute2", "lsof")
FORM_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
USER = "allotment"


def _free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return ports


def provider() -> str | None:
    return next((p for p in PROVIDER_PATHS if os.path.exists(p)), None)


def available() -> str | None:
    """None when a cluster can be started here, else why not."""
    missing = [
        b for b in ("mariadbd", "mariadb-install-db", "mariadb", "rsync") if not shutil.which(b)
    ]
    if missing and not Path("/usr/sbin/mariadbd").exists():
        return f"missing programs: {', '.join(missing)}"
    if provider() is None:
        return "the galera-4 provider library is not installed"
    return None


def install() -> None:
    """apt-get the packages (root only); services are not started."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Keep the packaged mariadb service from starting on install.
    policy = Path("/usr/sbin/policy-rc.d")
    created = not policy.exists()
    if created:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        result = subprocess.run(["apt-get", "install", "-y", "-q", *PACKAGES], env=env, check=False)
        if result.returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
            subprocess.run(["apt-get", "install", "-y", "-q", *PACKAGES], env=env, check=True)
    finally:
        if created:
            policy.unlink()


def _run_as() -> str | None:
    """mariadbd refuses root without ``user=``, and the rsync SST daemon started as
    root drops to ``nobody``: as root the nodes run as the packaged ``mysql`` user."""
    return "mysql" if os.geteuid() == 0 else None


def _client_user() -> str:
    """The account that may log in over the socket: mariadb-install-db (socket
    authentication) gives one to root and one to the user the server runs as."""
    return "root" if os.geteuid() == 0 else getpass.getuser()


def _chown_tree(path: Path, user: str) -> None:
    shutil.chown(path, user, user)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            shutil.chown(os.path.join(root, name), user, user)


def _mariadbd() -> str:
    return shutil.which("mariadbd") or "/usr/sbin/mariadbd"


class Cluster:
    """The cluster's layout (ports, paths) lives in ``DIR/cluster.json``."""

    def __init__(self, base: Path) -> None:
        self.base = base.absolute()
        self.state_file = self.base / "cluster.json"
        self.state: dict = (
            json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        )

    # --- layout -------------------------------------------------------------------------
    def node_dir(self, n: int) -> Path:
        return self.base / f"node{n}"

    def port(self, n: int) -> int:
        return self.state["nodes"][str(n)]["port"]

    @property
    def ports(self) -> list[int]:
        return [self.port(n) for n in range(1, NODES + 1)]

    def url(self, n: int | None = None, database: str = "placement") -> str:
        """A SQLAlchemy URL through node ``n``, or through all nodes when None."""
        hosts = ",".join(f"127.0.0.1:{p}" for p in ([self.port(n)] if n else self.ports))
        return f"mysql+pymysql://{USER}:{USER}@{hosts}/{database}"

    def _write_state(self) -> None:
        self.state_file.write_text(json.dumps(self.state, indent=1))
        user = _run_as()
        if user:
            shutil.chown(self.state_file, user, user)

    def _config(self, n: int) -> Path:
        node = self.state["nodes"][str(n)]
        gcomm = ",".join(
            f"127.0.0.1:{self.state['nodes'][str(m)]['galera']}" for m in range(1, NODES + 1)
        )
        d = self.node_dir(n)
        text = f"""[mysqld]
user={_run_as() or getpass.getuser()}
datadir={d / "data"}
socket={d / "mysqld.sock"}
pid-file={d / "mysqld.pid"}
tmpdir={d / "tmp"}
log-error={d / "error.log"}
port={node["port"]}
bind-address=127.0.0.1
skip-name-resolve
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=32M
innodb_log_file_size=16M
innodb_flush_log_at_trx_commit=2
performance_schema=OFF
max_connections=300
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
wsrep_on=ON
wsrep_provider={provider()}
wsrep_cluster_name=allotment_{self.state["nodes"]["1"]["galera"]}
wsrep_cluster_address=gcomm://{gcomm}
wsrep_node_address=127.0.0.1:{node["galera"]}
wsrep_node_name=node{n}
wsrep_provider_options="base_port={node["galera"]};ist.recv_addr=127.0.0.1:{node["ist"]};gcache.size=64M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:{node["sst"]}
"""
        path = d / "my.cnf"
        path.write_text(text)
        return path

    # --- processes ----------------------------------------------------------------------
    def _launch(self, n: int, bootstrap: bool) -> None:
        d = self.node_dir(n)
        (d / "data").mkdir(parents=True, exist_ok=True)
        args = [_mariadbd(), f"--defaults-file={self._config(n)}"]
        if bootstrap:
            args.append("--wsrep-new-cluster")
        log = open(d / "stdout.log", "ab")  # noqa: SIM115 - handed to the child
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.state["nodes"][str(n)]["pid"] = process.pid
        self._write_state()

    def query(self, n: int, sql: str, timeout: float = 10.0) -> str | None:
        """Run ``sql`` over node ``n``'s socket (socket authentication); None on failure."""
        try:
            result = subprocess.run(
                [
                    "mariadb",
                    "--no-defaults",
                    f"-u{_client_user()}",
                    "-S",
                    str(self.node_dir(n) / "mysqld.sock"),
                    "-N",
                    "-B",
                    "-e",
                    sql,
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    def synced(self, n: int, size: int) -> bool:
        out = self.query(
            n,
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN"
            " ('wsrep_local_state_comment','wsrep_cluster_size','wsrep_ready')"
            " ORDER BY VARIABLE_NAME",
            timeout=5,
        )
        if not out:
            return False
        size_text, comment, ready = out.split("\n")
        return comment == "Synced" and ready == "ON" and int(size_text) >= size

    def _wait(self, n: int, size: int, timeout: float = FORM_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive(n):
                raise RuntimeError(f"node {n} exited:\n{self.log_tail(n)}")
            if self.synced(n, size):
                return
            time.sleep(0.5)
        raise RuntimeError(f"node {n} not synced after {timeout:.0f}s:\n{self.log_tail(n)}")

    def log_tail(self, n: int, lines: int = 30) -> str:
        path = self.node_dir(n) / "error.log"
        if not path.exists():
            return "(no error log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def alive(self, n: int) -> bool:
        pid = self.state["nodes"][str(n)].get("pid")
        if not pid:
            return False
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
            if waited == pid:
                return False
        except ChildProcessError:
            pass  # not our child (another process started it): fall through
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def start(self) -> None:
        """Create and start all nodes; returns when all are synced (bounded)."""
        if self.base.exists() and any(self.base.iterdir()):
            raise RuntimeError(f"{self.base} is not empty")
        self.base.mkdir(parents=True, exist_ok=True)
        ports = _free_ports(4 * NODES)
        self.state = {
            "nodes": {
                str(n): dict(
                    zip(("port", "galera", "ist", "sst"), ports[4 * (n - 1) : 4 * n], strict=True)
                )
                for n in range(1, NODES + 1)
            }
        }
        self._write_state()
        for n in range(1, NODES + 1):
            (self.node_dir(n) / "data").mkdir(parents=True)
            # A private tmpdir: another server's bootstrap in the shared /tmp
            # can collide with this one's temporary tables.
            (self.node_dir(n) / "tmp").mkdir()
        user = _run_as()
        if user:
            self.base.chmod(0o755)
            _chown_tree(self.base, user)
        installed = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--user={user or getpass.getuser()}",
                f"--datadir={self.node_dir(1) / 'data'}",
                f"--tmpdir={self.node_dir(1) / 'tmp'}",
                "--skip-test-db",
                "--auth-root-authentication-method=socket",
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if installed.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {installed.stderr[-2000:]}")
        self._launch(1, bootstrap=True)
        self._wait(1, 1)
        grant = (
            f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY '{USER}'; "
            f"GRANT ALL ON *.* TO '{USER}'@'127.0.0.1' WITH GRANT OPTION;"
        )
        if self.query(1, grant) is None:
            raise RuntimeError("could not create the test user on node 1")
        for n in range(2, NODES + 1):
            self._launch(n, bootstrap=False)
            self._wait(n, n)
        for n in range(1, NODES + 1):
            self._wait(n, NODES)

    def kill(self, n: int) -> None:
        """SIGKILL node ``n`` (a crash: no clean leave)."""
        pid = self.state["nodes"][str(n)].get("pid")
        if pid and self.alive(n):
            os.kill(pid, signal.SIGKILL)
            self._reap(pid, STOP_TIMEOUT)
        self.state["nodes"][str(n)]["pid"] = None
        self._write_state()

    def restart(self, n: int, wait: bool = True) -> None:
        """Start a killed node again; it rejoins (IST from a donor's gcache)."""
        self._launch(n, bootstrap=False)
        if wait:
            self._wait(n, NODES)

    def wait_synced(self, n: int) -> None:
        self._wait(n, NODES)

    def stop(self) -> None:
        """Stop every node: SIGTERM, then SIGKILL after a bounded wait."""
        pids = [node.get("pid") for node in self.state.get("nodes", {}).values()]
        for pid in pids:
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for pid in pids:
            if pid:
                self._reap(pid, STOP_TIMEOUT)
        for node in self.state.get("nodes", {}).values():
            node["pid"] = None
        if self.state:
            self._write_state()

    @staticmethod
    def _reap(pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                waited, _ = os.waitpid(pid, os.WNOHANG)
                if waited == pid:
                    return
            except ChildProcessError:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--install", action="store_true", help="apt-get the packages first")
    parser.add_argument("command", choices=("start", "stop", "kill", "restart", "status"))
    parser.add_argument("dir", type=Path)
    parser.add_argument("node", type=int, nargs="?")
    args = parser.parse_args(argv)
    if args.install:
        install()
    why = available()
    if why:
        print(f"galera-cluster: {why} (try --install)", file=sys.stderr)
        return 2
    cluster = Cluster(args.dir)
    try:
        if args.command == "start":
            try:
                cluster.start()
            except BaseException:
                cluster.stop()
                raise
            print(" ".join(str(p) for p in cluster.ports))
        elif args.command == "stop":
            cluster.stop()
        elif args.command in ("kill", "restart"):
            if args.node not in range(1, NODES + 1):
                print(
                    f"galera-cluster: {args.command} needs a node number 1-{NODES}", file=sys.stderr
                )
                return 2
            (cluster.kill if args.command == "kill" else cluster.restart)(args.node)
        else:
            for n in range(1, NODES + 1):
                print(
                    f"node{n} port {cluster.port(n)} {'synced' if cluster.synced(n, 1) else 'down'}"
                )
    except (RuntimeError, subprocess.SubprocessError, KeyError) as error:
        print(f"galera-cluster: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
