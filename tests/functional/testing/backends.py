"""Start a ``PlacementService`` on a per-worker SQLite or PostgreSQL database.

Used by the fixture and client tests: one service per backend per session (the
app and schema are built once), emptied with ``reset()`` before each test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from allotment.testing import PlacementService
from tests import databases

SERVICE_BACKENDS = ("sqlite", "postgresql")


def start_service(
    backend: str, worker: str, tmp_dir: Path, purpose: str, **options: Any
) -> PlacementService:
    """A started service whose datastore is a fresh ``backend`` database of its own."""
    name = f"{databases.database_name(worker)}_{purpose}_{backend[:2]}"
    url = databases.create_database(backend, name, tmp_dir)
    return PlacementService(database_url=url, **options).start()
