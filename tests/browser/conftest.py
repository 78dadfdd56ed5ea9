"""A seeded server and a Chromium for the console's browser tests.

Chromium comes from Debian (``chromium``); scripts/test installs it when it
is missing. Locally a missing browser skips these tests with the reason;
with ``CI`` set it fails them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import databases
from tests.browser import browser as chrome
from tests.browser import cloud


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_seeded(tmp_path_factory)


def serve_seeded(
    tmp_path_factory: pytest.TempPathFactory, *more: Callable[[str], None]
) -> Iterator[str]:
    """A served cloud seeded by ``cloud.seed`` then by each of ``more`` (given the URL)."""
    reason = chrome.missing()
    if reason:
        if databases.in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    tmp: Path = tmp_path_factory.mktemp("console")
    srv = cloud.serve(tmp)
    try:
        cloud.seed(srv.base_url)
        for seed in more:
            seed(srv.base_url)
        yield srv.base_url
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    with chrome.chromium() as instance:
        yield instance


@pytest.fixture
def api(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, headers=cloud.HEADERS, timeout=30) as client:
        yield client


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[chrome.Page]:
    """A page with no token stored (noauth2 prefills ``admin``); no console errors allowed."""
    p = chrome.Page(browser, server)
    yield p
    errors = list(p.errors)
    p.close()
    assert errors == [], errors
