"""One benchmark run: for each backend and size, each system on a fresh database.

``run_system`` is the part the smoke test shares: given a ``Target`` (a real
server or the in-process app) and a planned cloud it loads the data and runs
the selected scenarios, turning failures into recorded errors so one broken
route does not hide every other number.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks import datagen, scenarios, servers
from benchmarks.client import Target
from benchmarks.datagen import Cloud
from benchmarks.scenarios import Budget

LOG = logging.getLogger("benchmarks")
SCENARIOS = ("candidates", "reads", "claims")


@dataclass
class Options:
    sizes: tuple[int, ...] = (1000,)
    backends: tuple[str, ...] = ("sqlite",)
    systems: tuple[str, ...] = ("allotment",)
    scenarios: tuple[str, ...] = SCENARIOS
    claim_clients: tuple[int, ...] = (4, 16, 64)
    workers: int = 2
    threads: int = 4
    seed: int = 42
    # None: one loader session on SQLite, eight elsewhere (see loader_sessions).
    load_concurrency: int | None = None
    request_timeout: float = 120.0
    batch_size: int = 50
    budget: Budget = field(default_factory=Budget)
    output: Path = servers.ROOT / "benchmarks" / "results"
    keep_databases: bool = False


def loader_sessions(options: Options, backend: str) -> int:
    """How many concurrent sessions load the data (and check capacity) on ``backend``.

    SQLite has one writer at a time: eight concurrent loaders only measure how a
    server copes with lock contention (placement 16.0.0 answers 500 "database is
    locked" and at N=300 gave up after 20 retries), so SQLite loads with one
    session for both systems unless told otherwise.
    """
    if options.load_concurrency is not None:
        return options.load_concurrency
    return 1 if backend == "sqlite" else 8


def _phase(result: dict[str, Any], name: str, fn: Callable[[], Any]) -> bool:
    """Run one phase, storing its result or its error; True when it worked."""
    LOG.info("  %s ...", name)
    start = time.perf_counter()
    try:
        result[name] = fn()
    except Exception as error:  # noqa: BLE001 - a failed phase is a result too
        LOG.warning("  %s failed: %s", name, error)
        result.setdefault("errors", {})[name] = f"{type(error).__name__}: {error}"
        return False
    LOG.info("  %s done in %.1fs", name, time.perf_counter() - start)
    return True


def run_system(target: Target, cloud: Cloud, options: Options) -> dict[str, Any]:
    """Load ``cloud`` into ``target`` and run the scenarios; a dict of results."""
    result: dict[str, Any] = {}
    budget = options.budget
    if not _phase(
        result,
        "load",
        lambda: datagen.load(target, cloud, options.load_concurrency or 8, options.batch_size),
    ):
        return result
    if "candidates" in options.scenarios:
        _phase(result, "candidates", lambda: scenarios.run_candidates(target, cloud, budget))
    if "reads" in options.scenarios:
        _phase(result, "reads", lambda: scenarios.run_reads(target, cloud, budget, options.seed))
    if "claims" in options.scenarios:
        _phase(result, "claims", lambda: _claims(target, cloud, options))
    if "candidates" in options.scenarios:
        heavy: dict[str, Any] = {}
        if _phase(
            heavy, "heavy", lambda: scenarios.run_candidates(target, cloud, budget, heavy=True)
        ):
            result.setdefault("candidates", {}).update(heavy["heavy"])
    return result


def _claims(target: Target, cloud: Cloud, options: Options) -> dict[str, Any]:
    """Every client count in turn; a failed one is recorded, the others are kept."""
    runs: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for clients in options.claim_clients:
        try:
            runs.append(
                scenarios.run_claims(target, cloud, clients, options.budget, options.seed + clients)
            )
        except Exception as error:  # noqa: BLE001 - a failed run is a result too
            errors[f"x{clients}"] = f"{type(error).__name__}: {error}"
    touched = sorted({rp for run in runs for rp in run.pop("touched_providers")})
    result: dict[str, Any] = {"runs": runs, "checked_providers": len(touched)}
    if errors:
        result["errors"] = errors
    # Without a capacity check the claims cannot be trusted: let that one fail the phase.
    result["over_capacity"] = scenarios.over_capacity(
        target, touched, options.load_concurrency or 8
    )
    return result


def _start_server(
    system: str, db_url: str, options: Options, work: Path, log_path: Path
) -> servers.Server:
    if system == "allotment":
        return servers.allotment_server(db_url, options.workers, options.threads, log_path)
    return servers.peer_server(
        db_url, options.workers, options.threads, work / "peer-conf", log_path
    )


def run_one(system: str, backend: str, cloud: Cloud, options: Options) -> dict[str, Any]:
    """A fresh database and server for ``system``, the scenarios, then cleanup."""
    work = options.output / "work"
    work.mkdir(parents=True, exist_ok=True)
    name = f"bench_{system}_n{cloud.n}"
    log_path = options.output / "logs" / f"{system}-{backend}-n{cloud.n}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.unlink(missing_ok=True)
    record: dict[str, Any] = {
        "system": system,
        "backend": backend,
        "n": cloud.n,
        "log": str(log_path),
    }
    server = None
    try:
        db_url = servers.create_database(backend, system, name, work)
        server = _start_server(system, db_url, options, work, log_path)
        LOG.info("%s on %s, N=%d at %s", system, backend, cloud.n, server.base_url)
        server.start()
        target = Target(system, base_url=server.base_url, timeout=options.request_timeout)
        sessions = loader_sessions(options, backend)
        record["load_sessions"] = sessions
        try:
            record.update(
                run_system(target, cloud, dataclasses.replace(options, load_concurrency=sessions))
            )
        finally:
            target.close()
        record["memory"] = server.memory()
    except Exception as error:  # noqa: BLE001 - e.g. the server did not start
        LOG.error("%s on %s failed: %s", system, backend, error)
        record.setdefault("errors", {})["server"] = f"{type(error).__name__}: {error}"
    finally:
        if server is not None:
            server.stop()
        if not options.keep_databases:
            _drop(backend, name, work, record)
    return record


def _drop(backend: str, name: str, work: Path, record: dict[str, Any]) -> None:
    try:
        servers.drop_database(backend, name, work)
    except Exception as error:  # noqa: BLE001 - keep the numbers, say what is left behind
        LOG.error("could not drop %s on %s: %s", name, backend, error)
        record.setdefault("errors", {})["drop_database"] = f"{type(error).__name__}: {error}"


def machine_info(options: Options) -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(int(meminfo[1]) / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg(),
        "git": _git_revision(),
        "databases": {b: _db_version(b) for b in options.backends},
    }


def _git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=servers.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _db_version(backend: str) -> str:
    if backend == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    engine = sa.create_engine(sa.make_url(servers.ADMIN_URLS[backend]))
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT version()").scalar())
    except sa.exc.SQLAlchemyError as error:
        return f"unreachable: {error}"
    finally:
        engine.dispose()


def _checkpoint(document: dict[str, Any], output: Path) -> None:
    """Keep what is measured so far: a run at N=5000 takes hours and may be cut short.

    ``python -m benchmarks --from-json results/partial.json`` prints its tables.
    """
    output.mkdir(parents=True, exist_ok=True)
    path = output / "partial.json"
    path.write_text(json.dumps(document, indent=1, sort_keys=True, default=str))


def run(options: Options) -> dict[str, Any]:
    """Every (backend, size, system) in order; returns the full results document."""
    if "peer" in options.systems:
        options.output.mkdir(parents=True, exist_ok=True)
        LOG.info("peer venv: %s", servers.PEER_VENV)
        servers.ensure_peer_venv(options.output / "peer-venv-install.log")
    document: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_info(options),
        "options": {
            "sizes": options.sizes,
            "backends": options.backends,
            "systems": options.systems,
            "workers": options.workers,
            "threads": options.threads,
            "seed": options.seed,
            "request_timeout": options.request_timeout,
            "claim_clients": options.claim_clients,
            "budget": vars(options.budget),
        },
        "runs": [],
    }
    for n in options.sizes:
        cloud = datagen.generate(n, options.seed)
        LOG.info("cloud N=%d: %s", n, cloud.summary())
        for backend in options.backends:
            for system in options.systems:
                record = run_one(system, backend, cloud, options)
                record["cloud"] = cloud.summary()
                document["runs"].append(record)
                _checkpoint(document, options.output)
    document["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return document
