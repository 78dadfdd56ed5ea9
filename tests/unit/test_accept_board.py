"""The shared board of connection counts ``allotment serve``'s workers balance by."""

from __future__ import annotations

import asyncio
import os

import pytest

from allotment import accept_board
from allotment.accept_board import AcceptBoard, Balance


def test_slots_are_given_once_until_released() -> None:
    board = AcceptBoard(2)
    first, second = board.assign(), board.assign()
    assert {first, second} == {0, 1}
    assert board.assign() is None
    board.release(0)
    assert board.assign() == 0


def test_fewest_elsewhere_counts_only_workers_that_published() -> None:
    board = AcceptBoard(4)
    mine, other, silent = board.assign(), board.assign(), board.assign()
    assert mine is not None and other is not None and silent is not None
    assert board.fewest_elsewhere(mine) is None  # assigned, nothing published yet
    board.publish(mine, 100, 5)
    board.publish(other, 101, 3)
    assert board.fewest_elsewhere(mine) == 3
    assert board.fewest_elsewhere(other) == 5
    board.release(other)
    assert board.fewest_elsewhere(mine) is None


def test_a_forked_worker_publishes_to_the_same_memory() -> None:
    board = AcceptBoard(2)
    parent_slot, child_slot = board.assign(), board.assign()
    assert parent_slot is not None and child_slot is not None
    pid = os.fork()
    if pid == 0:  # the child: publish and leave at once
        board.publish(child_slot, os.getpid(), 7)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert board.fewest_elsewhere(parent_slot) == 7


class _Clock:
    """A stand-in for ``time`` in ``accept_board``: monotonic() returns ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_a_worker_silent_for_too_long_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(accept_board, "time", clock)
    board = AcceptBoard(2)
    mine, other = board.assign(), board.assign()
    assert mine is not None and other is not None
    board.publish(other, 101, 0)
    assert board.fewest_elsewhere(mine) == 0
    clock.now += accept_board.STALE_SECONDS + 0.1  # stopped or hung: no publish since
    assert board.fewest_elsewhere(mine) is None
    board.publish(other, 101, 1)  # back
    assert board.fewest_elsewhere(mine) == 1


def test_a_withdrawn_worker_is_not_counted() -> None:
    board = AcceptBoard(2)
    mine, other = board.assign(), board.assign()
    assert mine is not None and other is not None
    board.publish(other, 101, 0)
    board.withdraw(other)
    assert board.fewest_elsewhere(mine) is None


def test_balance_moves_one_connection_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(accept_board, "time", clock)
    board = AcceptBoard(2)
    mine, other = board.assign(), board.assign()
    board.publish(other, 101, 3)
    balance = Balance(board, mine, 100)
    assert not balance.sheds_one(4)  # within the margin
    assert balance.sheds_one(5)
    assert not balance.sheds_one(5)  # one per SHED_SECONDS
    clock.now += 2 * accept_board.SHED_SECONDS
    assert balance.sheds_one(5)
    balance.withdraw()
    balance.publish(9)  # a withdrawn worker publishes no more
    assert board.fewest_elsewhere(other) is None


def test_balance_without_a_board_does_nothing() -> None:
    balance = Balance(None, None, 100)
    balance.publish(3)
    assert not balance.sheds_one(100)
    asyncio.run(balance.my_turn([1, 2, 3]))  # returns at once
