"""Fresh databases, the two server processes, and their memory as seen in /proc.

allotment runs as ``python -m allotment --database URL serve`` from this
checkout. The peer (openstack-placement 16.0.0) lives in its own venv,
``benchmarks/.peer-venv``, and runs ``placement.wsgi.api:application`` under
gunicorn with the same worker and thread counts; it is never imported here.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from allotment.testing.database import drop_server_database, recreate_server_database
from benchmarks.client import HEADERS

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / "benchmarks" / ".peer-venv"
PEER_REQUIREMENT = "openstack-placement==16.0.0"
PEER_EXTRAS = ("PyMySQL", "psycopg2-binary", "gunicorn")
BACKENDS = ("sqlite", "postgresql", "mysql")
ADMIN_URLS = {
    "postgresql": os.environ.get(
        "BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("BENCH_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/mysql"),
}
# The driver each server's URL names (the peer venv has psycopg2, not psycopg 3).
DRIVERS = {
    ("allotment", "postgresql"): "postgresql+psycopg",
    ("peer", "postgresql"): "postgresql+psycopg2",
    ("allotment", "mysql"): "mysql+pymysql",
    ("peer", "mysql"): "mysql+pymysql",
}


# ---------------------------------------------------------------- databases


def create_database(backend: str, system: str, name: str, work_dir: Path) -> str:
    """Drop and create database ``name``; return the URL ``system`` should use."""
    if backend == "sqlite":
        path = work_dir / f"{name}.sqlite"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    url = recreate_server_database(ADMIN_URLS[backend], name).set(
        drivername=DRIVERS[(system, backend)]
    )
    if backend == "mysql":
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url.render_as_string(hide_password=False)


def drop_database(backend: str, name: str, work_dir: Path) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{work_dir / name}.sqlite{suffix}").unlink(missing_ok=True)
        return
    drop_server_database(ADMIN_URLS[backend], name)


# ---------------------------------------------------------------- memory


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.extend(int(c) for c in (task / "children").read_text().split())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (gunicorn master and workers)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class RssSampler(threading.Thread):
    """Samples the summed RSS of a process tree until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True, name=f"rss-{pid}")
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.hwm_kb: dict[int, int] = {}
        self._stop_event = threading.Event()

    def sample(self) -> None:
        pids = process_tree(self.pid)
        self.peak_kb = max(self.peak_kb, sum(_status_kb(p, "VmRSS") for p in pids))
        for pid in pids:  # VmHWM is each process's own peak, between our samples too
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), _status_kb(pid, "VmHWM"))

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> dict[str, float]:
        self.sample()
        self._stop_event.set()
        self.join(timeout=5)
        return {
            "peak_rss_mb": self.peak_kb / 1024,
            "sum_hwm_mb": sum(self.hwm_kb.values()) / 1024,
            "processes": len(self.hwm_kb),
        }


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server process we started (its own session, so we can signal its group)."""

    system: str
    command: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    process: subprocess.Popen[bytes] | None = None
    sampler: RssSampler | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_seconds: float = 90.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env={**inherited_environ(self.system), **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + ready_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.system} exited early; see {self.log_path}")
            try:
                if httpx.get(self.base_url + "/", headers=HEADERS, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            self.stop()
            raise RuntimeError(f"{self.system} not ready in {ready_seconds}s; see {self.log_path}")
        self.sampler = RssSampler(self.process.pid)
        self.sampler.start()

    def memory(self) -> dict[str, float]:
        return self.sampler.stop() if self.sampler else {}

    def stop(self) -> None:
        """SIGTERM our own process group, SIGKILL it if it lingers.

        The group is signalled even when the master has already exited: its
        workers may still be running.
        """
        if self.sampler is not None:
            self.sampler.stop()
        if self.process is None:
            return
        pgid = self.process.pid  # start_new_session: the group id is our child's pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=10)


def allotment_server(db_url: str, workers: int, threads: int, log_path: Path) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "allotment",
        "--database",
        db_url,
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    env = {"PYTHONPATH": str(ROOT)}
    return Server("allotment", command, port, log_path, env)


# ---------------------------------------------------------------- the peer


def inherited_environ(system: str) -> dict[str, str]:
    """The caller's environment, minus what would make the peer import our code.

    The checkout has a top-level ``placement`` compatibility package: a PYTHONPATH that
    names the checkout would shadow the peer's own ``placement`` package.
    """
    if system != "peer":
        return dict(os.environ)
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def peer_bin(name: str) -> Path:
    return PEER_VENV / "bin" / name


def ensure_peer_venv(log_path: Path) -> None:
    """Create benchmarks/.peer-venv with openstack-placement 16.0.0 once."""
    marker = PEER_VENV / ".installed-16.0.0"
    if marker.exists():
        return
    python = shutil.which("python3") or sys.executable
    with log_path.open("ab") as log:
        subprocess.run(
            [python, "-m", "venv", str(PEER_VENV)], check=True, stdout=log, stderr=subprocess.STDOUT
        )
        subprocess.run(
            [str(peer_bin("pip")), "install", "--quiet", PEER_REQUIREMENT, *PEER_EXTRAS],
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
    marker.touch()


def peer_server(db_url: str, workers: int, threads: int, conf_dir: Path, log_path: Path) -> Server:
    """Write placement.conf, run ``placement-manage db sync`` and return the server."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "placement.conf").write_text(
        "[DEFAULT]\ndebug = False\n\n[api]\nauth_strategy = noauth2\n\n"
        f"[placement_database]\nconnection = {db_url}\n"
    )
    with log_path.open("ab") as log:
        subprocess.run(
            [
                str(peer_bin("placement-manage")),
                "--config-file",
                str(conf_dir / "placement.conf"),
                "db",
                "sync",
            ],
            check=True,
            env=inherited_environ("peer"),
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=600,
        )
    port = free_port()
    command = [
        str(peer_bin("gunicorn")),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        "120",
        "--graceful-timeout",
        "30",
        "--keep-alive",
        "5",
        "--name",
        "placement-peer",
        "--no-control-socket",
        "placement.wsgi.api:application",
    ]
    env = {"OS_PLACEMENT_CONFIG_DIR": str(conf_dir)}
    return Server("peer", command, port, log_path, env, cwd=conf_dir)
