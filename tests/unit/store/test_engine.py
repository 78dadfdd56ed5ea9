"""``store.engine.create_engine``: what every PostgreSQL session is opened with."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from allotment.store import engine


def _options(url: str, **connect_args: str) -> str:
    return engine._without_jit(make_url(url), connect_args)["options"]


def test_postgresql_sessions_run_without_jit() -> None:
    assert _options("postgresql+psycopg://u@db/placement") == "-c jit=off"


@pytest.mark.parametrize(
    "given",
    [
        {"url": "postgresql+psycopg://u@db/placement?options=-c%20jit%3Don"},
        {"url": "postgresql+psycopg://u@db/placement", "options": "-c jit=on"},
    ],
)
def test_an_operators_own_options_come_after_and_win(given: dict[str, str]) -> None:
    url = given.pop("url")
    # libpq applies -c settings in order: the operator's last.
    assert _options(url, **given) == "-c jit=off -c jit=on"
