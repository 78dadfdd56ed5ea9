"""Peak RSS of a fresh process answering one no-limit GET /allocation_candidates.

Usage::

    python -m benchmarks.memory_peak N DB_URL [--no-load] [--query Q] [--version V]
        [--gunicorn] [--randomize]

Loads ``N`` computes into ``DB_URL`` with ``benchmarks.candidates_scale``'s
bulk loader (``--no-load``: reuse what an earlier run left there; at
N=50,000 the load takes minutes), then starts a *fresh* Python process that
builds the app (in-memory candidates, as served), loads the model with one
``limit=10`` request, then sends one request without a limit and reads its
body chunk by chunk (hashing it, never holding it). That process reports
``VmRSS`` and ``VmHWM`` (its peak, from ``/proc/self/status``) after the
model load and after the big request, with the body's size, sha256 and the
request's wall and CPU time.

``--gunicorn`` instead starts ``allotment serve`` (one worker, two threads)
on a free loopback port, sends the same two requests over HTTP and reports
the worker's ``VmHWM``.

``--randomize`` serves with ``randomize_allocation_candidates = true``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from allotment.store import schema
from allotment.store.engine import Database
from benchmarks.candidates_scale import analyze, build_bulk, environ

DEFAULT_QUERY = "resources=VCPU:2,MEMORY_MB:2048,DISK_GB:20"
WARM_QUERY = "resources=VCPU:1,MEMORY_MB:512,DISK_GB:10&limit=10"
PATH = "/allocation_candidates"


def status_mib(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(line.split()[1]) / 1024
    return out


def load(url: str, computes: int) -> None:
    db = Database(url)
    schema.upgrade(db)
    schema.reset_data(db)
    seconds = build_bulk(db, computes)
    analyze(db)
    db.dispose()
    print(f"load {seconds:.1f} s (N={computes})", flush=True)


# ---------------------------------------------------------------- in a fresh process


def _consume(app: Any, query: str, version: str) -> dict[str, Any]:
    """One request through the WSGI app; the body is hashed chunk by chunk."""
    status: list[str] = []
    digest = hashlib.sha256()
    size = chunks = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    result = app(environ(PATH, query, version), lambda s, h, exc_info=None: status.append(s))
    try:
        for chunk in result:
            digest.update(chunk)
            size += len(chunk)
            chunks += 1
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return {
        "status": status[0],
        "bytes": size,
        "chunks": chunks,
        "sha256": digest.hexdigest(),
        "ms": (time.perf_counter() - start) * 1000,
        "cpu_ms": (time.process_time() - start_cpu) * 1000,
    }


def child(url: str, query: str, version: str, randomize: bool = False) -> None:
    from allotment.app import make_app
    from allotment.config import Settings

    report: dict[str, Any] = {"start": status_mib()}
    db = Database(url)
    settings = Settings(
        database_url=url, access_log=False, randomize_allocation_candidates=randomize
    )
    app = make_app(settings, db=db, prepare=False)
    report["warm"] = _consume(app, WARM_QUERY, version)
    report["after_model"] = status_mib()
    report["request"] = _consume(app, query, version)
    report["after_request"] = status_mib()
    db.dispose()
    print(json.dumps(report))


def in_fresh_process(url: str, query: str, version: str, randomize: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.memory_peak", "--child", url]
    command += ["--query", query, "--version", version]
    if randomize:
        command.append("--randomize")
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- under gunicorn


def _http_get(port: int, query: str, version: str) -> dict[str, Any]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    digest = hashlib.sha256()
    size = 0
    start = time.perf_counter()
    try:
        connection.request(
            "GET",
            f"{PATH}?{query}",
            headers={"X-Auth-Token": "admin", "OpenStack-API-Version": f"placement {version}"},
        )
        response = connection.getresponse()
        while chunk := response.read(65536):
            digest.update(chunk)
            size += len(chunk)
        framing = response.getheader("content-length") or response.getheader("transfer-encoding")
    finally:
        connection.close()
    return {
        "status": response.status,
        "bytes": size,
        "framing": framing,
        "sha256": digest.hexdigest(),
        "ms": (time.perf_counter() - start) * 1000,
    }


def under_gunicorn(url: str, query: str, version: str, randomize: bool) -> dict[str, Any]:
    from benchmarks.servers import allotment_server, process_tree

    if randomize:  # the server reads ALLOTMENT_<OPTION> from the environment it inherits
        os.environ["ALLOTMENT_RANDOMIZE_ALLOCATION_CANDIDATES"] = "true"

    with tempfile.TemporaryDirectory() as tmp:
        server = allotment_server(url, workers=1, threads=2, log_path=Path(tmp) / "server.log")
        server.start(ready_seconds=300)
        try:
            assert server.process is not None
            workers = [pid for pid in process_tree(server.process.pid) if pid != server.process.pid]
            report: dict[str, Any] = {"worker_start": status_mib(workers[0])}
            report["warm"] = _http_get(server.port, WARM_QUERY, version)
            report["after_model"] = status_mib(workers[0])
            report["request"] = _http_get(server.port, query, version)
            report["after_request"] = status_mib(workers[0])
        finally:
            server.stop()
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("computes", nargs="?", type=int, default=5000)
    parser.add_argument("url", nargs="?", default="sqlite:////tmp/memory/n5000.sqlite")
    parser.add_argument("--no-load", action="store_true", help="reuse the data in DB_URL")
    parser.add_argument("--query", default=DEFAULT_QUERY)
    parser.add_argument("--version", default="1.39")
    parser.add_argument("--gunicorn", action="store_true", help="measure a gunicorn worker")
    parser.add_argument(
        "--randomize", action="store_true", help="randomize_allocation_candidates = true"
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.query, args.version, args.randomize)
        return
    if not args.no_load:
        load(args.url, args.computes)
    measure = under_gunicorn if args.gunicorn else in_fresh_process
    print(json.dumps(measure(args.url, args.query, args.version, args.randomize), indent=1))


if __name__ == "__main__":
    main()
