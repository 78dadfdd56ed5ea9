"""What each ``allotment serve`` worker sets up when it loads the app."""

from __future__ import annotations

import gc
from pathlib import Path

from allotment import server
from allotment.config import Settings


def test_a_worker_collects_young_objects_less_often(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.sqlite'}", access_log=False)
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        server._Gunicorn(settings, threads=1).load()
        assert gc.get_threshold() == (server.YOUNG_COLLECTION_THRESHOLD, 10, 10)
    finally:
        gc.set_threshold(*before)
