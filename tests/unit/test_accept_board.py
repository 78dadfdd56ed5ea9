"""The shared board of connection counts ``allotment serve``'s workers balance by."""

from __future__ import annotations

import os

from allotment.accept_board import AcceptBoard


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
