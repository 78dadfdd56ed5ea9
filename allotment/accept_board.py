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
64-bit integers: the worker's pid (0 when free) and its connection count.
Aligned 8-byte stores and loads are whole on the platforms we run on, and a
stale read only makes a worker accept or defer once more than ideal.
"""

from __future__ import annotations

import mmap
import struct

_SLOT = struct.Struct("qq")


class AcceptBoard:
    """Connection counts of up to ``slots`` live workers."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._memory = mmap.mmap(-1, _SLOT.size * self.slots)

    def _read(self, slot: int) -> tuple[int, int]:
        pid, count = _SLOT.unpack_from(self._memory, slot * _SLOT.size)
        return pid, count

    def assign(self) -> int | None:
        """A free slot, marked taken (in the master, before the fork); None when full.

        Taken but not yet published (pid -1): the others do not count it.
        """
        for slot in range(self.slots):
            if self._read(slot)[0] == 0:
                _SLOT.pack_into(self._memory, slot * _SLOT.size, -1, 0)
                return slot
        return None

    def release(self, slot: int) -> None:
        _SLOT.pack_into(self._memory, slot * _SLOT.size, 0, 0)

    def publish(self, slot: int, pid: int, connections: int) -> None:
        _SLOT.pack_into(self._memory, slot * _SLOT.size, pid, connections)

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The smallest count among the other workers that have published one."""
        fewest = None
        for other in range(self.slots):
            pid, count = self._read(other)
            if other != slot and pid > 0 and (fewest is None or count < fewest):
                fewest = count
        return fewest
