"""A private PostgreSQL server (initdb into a temporary directory, a free port),
so a test can crash and restart it without touching anybody else's server."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

START_TIMEOUT = 60


def bindir() -> Path | None:
    """The directory of initdb/pg_ctl: ``pg_config --bindir``, else Debian's layout."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        path = Path(out.stdout.strip())
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    return None


class PostgresInstance:
    def __init__(self, port: int) -> None:
        self.port = port
        self.bin = bindir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        # PostgreSQL refuses to run as root: as root, run it as the postgres user.
        self.user = "postgres" if os.geteuid() == 0 else None
        self.base = Path(tempfile.mkdtemp(prefix="allotment-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        if self.user:
            entry = pwd.getpwnam(self.user)
            self.base.chmod(0o755)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> None:
        kwargs: dict[str, Any] = {"user": self.user} if self.user else {}
        result = subprocess.run(
            list(args), capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stderr[-2000:]}")

    def url(self, database: str = "postgres", extra_hosts: tuple[str, ...] = ()) -> str:
        hosts = ",".join((f"127.0.0.1:{self.port}", *extra_hosts))
        return f"postgresql+psycopg://postgres@{hosts}/{database}"

    def init(self) -> None:
        assert self.bin is not None
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        )

    def start(self) -> None:
        assert self.bin is not None
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "-o",
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=200 -c shared_buffers=32MB",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``immediate`` is a crash (recovery at the next start)."""
        assert self.bin is not None
        if (self.data / "postmaster.pid").exists():
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", timeout=60
            )

    def wait_accepting(self, timeout: float = START_TIMEOUT) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                psycopg.connect(
                    host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
                ).close()
                return
            except psycopg.OperationalError:
                time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL on {self.port} not accepting after {timeout}s")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
