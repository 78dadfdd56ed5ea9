"""How many connections each worker of ``allotment serve`` holds, shared by all of them.

gunicorn's workers accept from one listening socket. A client that keeps its
connection alive (a scheduler's pool, a benchmark's claimers) stays on the
worker that accepted it, so the worker that happened to wake first for a
burst of new connections kept all their load while the others idled. With
this board each worker publishes its count of open connections, and a worker
holding more than another defers its next accept for a moment so that the
other takes it (``allotment.front``): connections end up spread within one
of even. Connections a worker took while another could not accept (starting,
restarting) are moved by the same counts: a worker holding two more than
another answers one of them with ``Connection: close``, and its client's
next connection goes to the other.

The board is an anonymous shared mapping made by the master before it forks,
so every worker sees the same memory. The master gives each worker its slot
as it forks it (``pre_fork``, single-threaded: no two workers share a slot)
and clears it when the worker exits (``child_exit``). A slot is two signed
64-bit integers and a double: the worker's pid (0 when free, -1 while it is
not accepting), its connection count, and when it last published
(``time.monotonic``, one clock for every process of the host). A worker
publishes at least once a second while it accepts; one silent for
``STALE_SECONDS`` (stopped, hung, or blocked) is not counted, so the others
neither defer to it nor move connections towards it. Aligned 8-byte stores
and loads are whole on the platforms we run on, and a stale read only makes
a worker accept, defer or move a connection once more than ideal.
"""

from __future__ import annotations

import asyncio
import mmap
import struct
import time
from collections.abc import Sized

_SLOT = struct.Struct("qqd")
# A worker that has not published for this long is left out of the counts.
STALE_SECONDS = 3.0
# A worker holding more connections than another waits up to this many steps
# for the other to accept the next one (``Balance.my_turn``).
DEFER_STEPS = 25
DEFER_STEP_SECONDS = 0.002
# A worker holding this many more connections than another closes one kept-alive
# connection (``Balance.sheds_one``), at most one each SHED_SECONDS.
SHED_MARGIN = 2
SHED_SECONDS = 0.05


class AcceptBoard:
    """Connection counts of up to ``slots`` live workers."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._memory = mmap.mmap(-1, _SLOT.size * self.slots)

    def _read(self, slot: int) -> tuple[int, int, float]:
        pid, count, published = _SLOT.unpack_from(self._memory, slot * _SLOT.size)
        return pid, count, published

    def assign(self) -> int | None:
        """A free slot, marked taken (in the master, before the fork); None when full.

        Taken but not yet published (pid -1): the others do not count it.
        """
        for slot in range(self.slots):
            if self._read(slot)[0] == 0:
                _SLOT.pack_into(self._memory, slot * _SLOT.size, -1, 0, 0.0)
                return slot
        return None

    def release(self, slot: int) -> None:
        _SLOT.pack_into(self._memory, slot * _SLOT.size, 0, 0, 0.0)

    def publish(self, slot: int, pid: int, connections: int) -> None:
        _SLOT.pack_into(self._memory, slot * _SLOT.size, pid, connections, time.monotonic())

    def withdraw(self, slot: int) -> None:
        """This worker accepts no more (it is shutting down): leave it out of the counts."""
        _SLOT.pack_into(self._memory, slot * _SLOT.size, -1, 0, 0.0)

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The smallest count among the other workers publishing theirs."""
        fewest = None
        fresh_since = time.monotonic() - STALE_SECONDS
        for other in range(self.slots):
            pid, count, published = self._read(other)
            if other == slot or pid <= 0 or published < fresh_since:
                continue
            if fewest is None or count < fewest:
                fewest = count
        return fewest


class Balance:
    """One worker's use of the board: publish its count, defer accepts, move connections.

    Without a board (a worker not started by ``allotment serve``'s master)
    every call is a no-op.
    """

    def __init__(self, board: AcceptBoard | None, slot: int | None, pid: int) -> None:
        self.board = board if slot is not None else None
        self.slot = slot if slot is not None else 0
        self.pid = pid
        self.accepting = True
        self._shed_at = 0.0

    def publish(self, connections: int) -> None:
        """This worker's count (and that it still accepts: see ``STALE_SECONDS``)."""
        if self.board is not None and self.accepting:
            self.board.publish(self.slot, self.pid, connections)

    def withdraw(self) -> None:
        """Shutting down: the others stop counting this worker."""
        self.accepting = False
        if self.board is not None:
            self.board.withdraw(self.slot)

    async def my_turn(self, connections: Sized) -> None:
        """Return when no other worker holds fewer connections than this one,
        or after ``DEFER_STEPS`` short waits (a stuck worker must not leave
        new clients waiting)."""
        if self.board is None:
            return
        for _ in range(DEFER_STEPS):
            fewest = self.board.fewest_elsewhere(self.slot)
            if fewest is None or len(connections) <= fewest:
                return
            await asyncio.sleep(DEFER_STEP_SECONDS)

    def sheds_one(self, connections: int) -> bool:
        """Whether to close the kept-alive connection whose answer is being sent,
        so that its client reconnects to a worker holding fewer.

        Deferred accepts spread new connections, not the ones a worker took
        while another could not accept (restarting, or not yet started), and
        kept-alive clients never leave on their own: at 16 claimers one of
        two workers served all 16. ``Connection: close`` makes the client
        open a new connection for its next request, which ``my_turn`` hands
        to the worker with fewer. At most one per ``SHED_SECONDS``: the
        board's counts catch up before the next.
        """
        if self.board is None:
            return False
        fewest = self.board.fewest_elsewhere(self.slot)
        if fewest is None or connections - fewest < SHED_MARGIN:
            return False
        now = time.monotonic()
        if now - self._shed_at < SHED_SECONDS:
            return False
        self._shed_at = now
        return True
