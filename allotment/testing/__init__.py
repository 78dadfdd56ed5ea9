"""Test support for services that talk to placement: a fixture, a pytest plugin, a timer.

Public surface:

* ``PlacementFixture`` - for the ``fixtures`` library (``self.useFixture(...)`` in
  testtools/stestr suites); constructor compatible with upstream's fixture.
* ``PlacementService`` - the same thing as a plain context manager.
* ``allotment.testing.pytest_plugin`` - a ``placement`` pytest fixture (enable with
  ``-p allotment.testing.pytest_plugin``; installed packages register it automatically).
* ``python -m allotment.testing.timing`` - measures fixture set-up and tear-down.

See docs/testing.md. ``PlacementFixture`` needs the ``fixtures`` package and the
intercept needs ``wsgi-intercept`` (both in the ``testing`` extra); they are imported
only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allotment.testing.service import LATEST_MICROVERSION, PlacementService

if TYPE_CHECKING:
    from allotment.testing.fixture import PlacementFixture

__all__ = ["LATEST_MICROVERSION", "PlacementFixture", "PlacementService"]


def __getattr__(name: str) -> Any:
    # Lazy: importing allotment.testing must not require the ``fixtures`` package.
    if name == "PlacementFixture":
        from allotment.testing.fixture import PlacementFixture

        return PlacementFixture
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
