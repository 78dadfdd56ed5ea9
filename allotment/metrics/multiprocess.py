"""The shared sample directory of prometheus-client's multiprocess mode, for gunicorn.

``prepare`` runs in the master before workers fork: it picks the directory
(``PROMETHEUS_MULTIPROC_DIR`` if set, else a fresh temporary one), empties
it of a previous run's files and exports it so every worker writes there.
``worker_exited`` is gunicorn's ``child_exit`` hook: it drops a dead worker's
live gauges (its counters and histograms stay: they are totals).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from allotment.metrics.endpoint import MULTIPROC_ENV


def prepare() -> tuple[Path, bool]:
    """The directory, and whether it is ours to remove at exit."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        owned = False
    else:
        path = Path(tempfile.mkdtemp(prefix="allotment-metrics-"))
        os.environ[MULTIPROC_ENV] = str(path)
        owned = True
    _use_multiprocess_values()
    return path, owned


def _use_multiprocess_values() -> None:
    """prometheus-client picks its value class when first imported: if that
    happened before the directory was exported, pick again."""
    from prometheus_client import values

    values.ValueClass = values.get_value_class()


def worker_exited(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def cleanup(path: Path, owned: bool) -> None:
    if owned:
        shutil.rmtree(path, ignore_errors=True)
