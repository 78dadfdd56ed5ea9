"""``allotment serve``: the application under gunicorn, workers forked from one master.

Each worker is an ``allotment.front.FrontWorker``: one event loop reads
requests within the ``[allotment]`` limits, a thread pool runs the app.

The master prepares the database once (upgrade, standard data) and the
metrics directory; each worker then builds its own app and connection pool,
so no connection crosses a fork.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from allotment import startup
from allotment.accept_board import AcceptBoard
from allotment.app import make_app, prepare_database, warm_candidate_model
from allotment.config import Settings
from allotment.metrics import multiprocess

LOG = logging.getLogger(__name__)
# Allocations between two collections of the youngest generation, in a worker.
YOUNG_COLLECTION_THRESHOLD = 20_000


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, threads: int) -> None:
        self.settings = settings
        self.threads = threads
        # Made before the fork, so every worker shares it (room for workers
        # added at run time with TTIN, and for replacements while the old
        # worker's exit is being noticed).
        self.accept_board = AcceptBoard(2 * settings.workers + 4)
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("bind", [self.settings.bind])
        self.cfg.set("workers", self.settings.workers)
        # Requests are read by an event loop and only complete ones reach the
        # worker's threads: slow clients cannot hold them (allotment.front).
        self.cfg.set("worker_class", "allotment.front.FrontWorker")
        self.cfg.set("threads", self.threads)
        self.cfg.set("timeout", 120)
        self.cfg.set("graceful_timeout", 30)
        self.cfg.set("backlog", 2048)
        self.cfg.set("proc_name", "allotment")
        self.cfg.set("accesslog", None)
        # gunicorn's own lines go through our handlers, in our format (JSON or plain).
        self.cfg.set("logger_class", "allotment.logs.GunicornLogger")
        # Several servers on one host (tests, benchmarks) must not share
        # gunicorn's per-user control socket (gunicorn >= 24).
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)
        self.cfg.set("pre_fork", self._pre_fork)
        self.cfg.set("child_exit", self._child_exit)

    def _pre_fork(self, server: Any, worker: Any) -> None:
        worker.accept_slot = self.accept_board.assign()

    def _child_exit(self, server: Any, worker: Any) -> None:
        slot = getattr(worker, "accept_slot", None)
        if slot is not None:
            self.accept_board.release(slot)
        if self.settings.metrics:
            # A dead worker's live gauges (pool, connections) leave the sum.
            multiprocess.worker_exited(server, worker)

    def load(self) -> Any:
        app = make_app(self.settings, prepare=False)
        warm_candidate_model(app.state)  # in each worker, after the fork
        # Requests make short-lived objects by the thousand: at the default
        # threshold (700) the collector ran about once every two claims and
        # took 0.3 ms of a claim's CPU, at this one 0.16 ms (600 claims through
        # benchmarks.claim_cost, timed with gc.callbacks). The long-lived model
        # is frozen out of its reach (ProviderModel._load_all).
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
        return app


def serve(settings: Settings, threads: int = 4) -> None:
    db = startup.open_for_serving(settings)
    try:
        prepare_database(settings, db)
    finally:
        db.dispose()
    LOG.info(
        "allotment serving on http://%s with %d workers, database %s",
        settings.bind,
        settings.workers,
        db.url.render_as_string(hide_password=True),
    )
    # Workers write their samples to one shared directory, read by /metrics.
    metrics_dir = multiprocess.prepare() if settings.metrics else None
    try:
        _Gunicorn(settings, threads).run()
    finally:
        if metrics_dir is not None:
            multiprocess.cleanup(*metrics_dir)
