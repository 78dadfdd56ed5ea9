"""How many slow connections ``allotment serve`` withstands while answering others.

    python -m benchmarks.slow_clients [LEVELS...] [--gthread]

For each level N (default 8 100 500 1000 1900) the script opens N
connections that send part of a request and stop (half in the head, half
in a declared body), then times 20 ordinary ``GET /resource_providers``
requests, each with a 10 s timeout, and reports how many were answered and
the slowest. ``--gthread`` runs the same app under gunicorn's thread worker
(2 workers x 4 threads, the former default) for comparison. The server uses
a fresh SQLite file in a temporary directory and the default limits.
Numbers from a shared machine are disturbed by its other load.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.functional.hostile.slow import ROOT, Server, free_port, get, slow_clients

PROBES = 20


class GthreadServer(Server):
    """The app under ``gunicorn -k gthread`` (what ``serve`` ran before the front)."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ALLOTMENT_DATABASE_URL": database_url}
        env["ALLOTMENT_ACCESS_LOG"] = "false"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "2", "--threads", "4"]
            + ["-b", f"127.0.0.1:{self.port}", "allotment.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def probe(port: int) -> tuple[int, float]:
    answered, slowest = 0, 0.0
    for _ in range(PROBES):
        started = time.monotonic()
        try:
            status, _ = get(port, "/resource_providers", timeout=10.0)
            answered += status == 200
        except OSError:
            pass
        slowest = max(slowest, time.monotonic() - started)
    return answered, slowest


def main(argv: list[str]) -> int:
    gthread = "--gthread" in argv
    levels = [int(a) for a in argv if a.isdigit()] or [8, 100, 500, 1000, 1900]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/slow.sqlite"
        if gthread:
            subprocess.run(
                [sys.executable, "-m", "allotment", "--database", url, "db", "upgrade"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            server: Server = GthreadServer(url, Path(tmp) / "server.log")
        else:
            server = Server(url, Path(tmp) / "server.log")
        try:
            if not server.wait_ready():
                print(Path(tmp, "server.log").read_text()[-2000:])
                return 1
            kind = "gunicorn gthread 2x4" if gthread else "allotment serve (default)"
            print(f"{kind}: {PROBES} probes per level, 10 s timeout each")
            print("slow connections | probes answered | slowest probe (s)")
            for level in levels:
                sockets = slow_clients(server.port, level)
                try:
                    answered, slowest = probe(server.port)
                finally:
                    for sock in sockets:
                        sock.close()
                print(f"{level:16d} | {answered:8d}/{PROBES} | {slowest:.2f}")
                time.sleep(1.0)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main(sys.argv[1:]))
