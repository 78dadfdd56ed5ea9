"""What one keep-alive request costs ``allotment.front`` alone, without the app.

Usage::

    python -m benchmarks.front_cost [--requests N] [--clients C] [--instructions]

Serves ``N`` requests (a claim's ``GET /allocation_candidates`` head, five
header fields) from ``C`` keep-alive clients through the front's
``Connection`` and its thread pool, with a trivial WSGI app answering a
fixed 320-byte JSON body, in one process: the clients (plain asyncio
streams) share the loop and the CPU count. Prints CPU microseconds per
request. ``--instructions`` runs it twice under valgrind (cachegrind, no
cache simulation) and prints the instructions per request between the two
runs: unlike CPU time, that count barely moves with the host's other load
(a few thousand in 800,000), so two versions of the front can be told apart
on a busy machine. To compare versions, run this file against each
checkout: ``PYTHONPATH=<checkout> python benchmarks/front_cost.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

from allotment import front
from allotment.accept_board import Balance
from allotment.config import Settings

BODY = b'{"versions": []}' * 20
HEADERS = [
    ("content-type", "application/json"),
    ("content-length", str(len(BODY))),
    ("x-openstack-request-id", "req-00000000-0000-0000-0000-000000000000"),
    ("openstack-api-version", "placement 1.39"),
    ("vary", "openstack-api-version"),
]
REQUEST = (
    b"GET /allocation_candidates?resources=VCPU:1&limit=10 HTTP/1.1\r\nhost: x\r\n"
    b"x-auth-token: admin\r\nopenstack-api-version: placement 1.39\r\n"
    b"accept: application/json\r\nuser-agent: bench\r\n\r\n"
)
WARM_UP = 200


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", list(HEADERS))
    return [BODY]


async def client(port: int, requests: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(requests):
        writer.write(REQUEST)
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(len(BODY))
    writer.close()


async def serve(requests: int, clients: int) -> float:
    """CPU seconds of this process per request."""
    worker: Any = front.FrontWorker.__new__(front.FrontWorker)  # no gunicorn arbiter
    # keepalive_requests: no connection is closed (and reopened) during the run.
    worker.app = SimpleNamespace(settings=Settings(keepalive_requests=10**9))
    worker.wsgi = app
    worker.pool = ThreadPoolExecutor(4)
    worker.busy, worker.connections, worker.alive = set(), set(), True
    worker.balance = Balance(None, None, os.getpid())
    server = await asyncio.start_server(worker._accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await asyncio.gather(*(client(port, WARM_UP) for _ in range(clients)))
    cpu = time.process_time()
    await asyncio.gather(*(client(port, requests // clients) for _ in range(clients)))
    cpu = time.process_time() - cpu
    while worker.connections:  # each closes once its client has: let them finish
        await asyncio.sleep(0.01)
    server.close()
    worker.pool.shutdown()
    return cpu / (requests // clients * clients)


def instructions(requests: int, clients: int) -> float:
    """Instructions per request: two runs under valgrind, the second twice as long."""
    counts = []
    for n in (requests, 2 * requests):
        command = ["valgrind", "--tool=cachegrind", "--cache-sim=no"]
        # By path: the file also runs against a checkout that lacks it (PYTHONPATH).
        command += ["--cachegrind-out-file=/dev/null", sys.executable, os.path.abspath(__file__)]
        command += ["--requests", str(n), "--clients", str(clients)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        assert found, done.stderr[-2000:]
        counts.append(int(found.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / requests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--instructions", action="store_true", help="count them under valgrind")
    args = parser.parse_args(argv)
    if args.instructions:
        per = instructions(min(args.requests, 2000), args.clients)
        print(f"{per:,.0f} instructions per request")
        return
    per_request = asyncio.run(serve(args.requests, args.clients))
    print(f"{per_request * 1e6:.1f} us CPU per request")


if __name__ == "__main__":
    main()
