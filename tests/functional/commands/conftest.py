"""Source databases to import from, built once per backend and shape for a test session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import databases
from tests.sources import build_source

SourceFactory = Callable[[str, str], str]


@pytest.fixture(scope="session")
def source_db(
    worker_id_safe: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SourceFactory]:
    """``source_db(backend, shape)``: the URL of a filled source database (read only)."""
    built: dict[tuple[str, str], str] = {}
    tmp: Path = tmp_path_factory.mktemp("sources")

    def make(backend: str, shape: str) -> str:
        if (backend, shape) not in built:
            name = f"{databases.database_name(worker_id_safe)}_src_{shape[:4]}_{backend[:2]}"
            url = databases.create_database(backend, name, tmp)
            build_source(url, shape, trees=6, instances_per_tree=4)
            built[(backend, shape)] = url
        return built[(backend, shape)]

    yield make
