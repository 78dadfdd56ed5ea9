"""Callbacks the store calls at moments worth counting; metrics subscribe.

With no subscriber a hook is a loop over an empty list: the store pays
nothing and imports nothing from the layers above it.
"""

from __future__ import annotations

from collections.abc import Callable

_write_retry: list[Callable[[str], None]] = []


def on_write_retry(callback: Callable[[str], None]) -> None:
    """Call ``callback(reason)`` whenever a write transaction is run again."""
    if callback not in _write_retry:
        _write_retry.append(callback)


def write_retried(reason: str) -> None:
    """A write is retried: ``generation_conflict`` (a lost provider race, or a
    row created concurrently), ``deadlock`` or ``connection_lost``."""
    for callback in _write_retry:
        callback(reason)
