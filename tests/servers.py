"""A real ``allotment serve`` for the tests that need one over a socket, and
the few calls they make to it.

``Server`` runs ``python -m allotment --database URL serve`` on a free
127.0.0.1 port in its own process group (so gunicorn's workers stop with
it), logging to a file the failures quote. The tests that need no socket
call the application in process instead (``tests.inprocess``).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
READY_SECONDS = 60.0
STOP_SECONDS = 30.0
HEADERS = {
    "x-auth-token": "admin",
    "content-type": "application/json",
    "accept": "application/json",
    "openstack-api-version": "placement 1.38",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``python -m allotment serve`` in its own process group, stopped by its pid."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        workers: int = 2,
        threads: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable,
            "-m",
            "allotment",
            "--database",
            database_url,
            "serve",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
        ]
        if threads is not None:
            command += ["--threads", str(threads)]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "ALLOTMENT_ACCESS_LOG": "false",
                **(env or {}),
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = READY_SECONDS) -> bool:
        """True once ``GET /`` answers 200; AssertionError quoting the log if the
        server exits or ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if get(self.port, "/", timeout=2.0)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        log = self.log_path.read_text(errors="replace")[-3000:]
        raise AssertionError(f"server on port {self.port} did not start:\n{log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


def get(port: int, path: str, timeout: float) -> tuple[int, bytes]:
    """One ``GET`` as the admin, on a connection of its own: (status, raw body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"x-auth-token": "admin"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    """One JSON request at 1.38 as the admin: (status, parsed body; the text if
    the body is not JSON, None if empty)."""
    payload = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=payload, headers=HEADERS)
    response = conn.getresponse()
    raw = response.read()
    try:
        return response.status, (json.loads(raw) if raw else None)
    except ValueError:
        return response.status, raw.decode(errors="replace")


def set_up_providers(port: int, providers: dict[str, int]) -> None:
    """A root provider per uuid of ``providers``, with that many VCPU."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for rp, total in providers.items():
        status, body = request(conn, "POST", "/resource_providers", {"name": rp, "uuid": rp})
        assert status == 200, body
        status, body = request(
            conn,
            "PUT",
            f"/resource_providers/{rp}/inventories",
            {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": total}}},
        )
        assert status == 200, body
    conn.close()
