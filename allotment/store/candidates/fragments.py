"""Provider summaries rendered once and reused while their provider is unchanged.

A candidate answer repeats the same provider summaries request after request
(the first hosts of a cloud), and rendering them (a dict per class, the
trait list, parent and root uuids) then serialising them is a large part of
a ``limit=1000`` answer. The in-memory model (``model``) replaces a
provider's ``Provider`` object whenever the change feed names its tree, so a
fragment stored beside the very object it was rendered from is fresh exactly
as long as that object is the model's: the feed invalidates it for free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

import orjson

from allotment.store.candidates.universe import Provider

# At most this many fragments are kept (per worker and database): about
# 0.5 KiB each, enough for the summaries of many limit=1000 answers. A
# no-limit answer over a larger cloud renders the rest anew.
MAX_FRAGMENTS = 20_000


class FragmentCache:
    """(provider id, rendering key) -> the JSON of that provider's summary."""

    def __init__(self, capacity: int = MAX_FRAGMENTS) -> None:
        self.capacity = capacity
        self._entries: dict[tuple[int, Hashable], tuple[Provider, orjson.Fragment]] = {}
        self._lock = threading.Lock()

    def fragment(
        self, provider: Provider, key: Hashable, render: Callable[[Provider], Any]
    ) -> orjson.Fragment:
        """The rendered summary of ``provider`` for ``key`` (rendered now if stale or new)."""
        entry = self._entries.get((provider.id, key))
        if entry is not None and entry[0] is provider:
            return entry[1]
        # A copy of exactly the rendered size: orjson's own buffer is larger,
        # and tens of thousands of them kept (or freed amid other objects)
        # hold hundreds of MiB of heap at N=50,000.
        fragment = orjson.Fragment(bytes(memoryview(orjson.dumps(render(provider)))))
        with self._lock:
            if len(self._entries) < self.capacity or (provider.id, key) in self._entries:
                self._entries[(provider.id, key)] = (provider, fragment)
        return fragment

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
