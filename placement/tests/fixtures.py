"""``placement.tests.fixtures.Database``: the database other projects' tests set up
before a ``PlacementFixture(db=False)``.

``Database(conf_fixture, set_config=False)``: with ``set_config=True`` it declares
``[placement_database] connection`` on the conf and sets it to ``sqlite://``
(in-memory, upstream's default for tests) unless a connection is already set.
On set-up the database the connection names is made empty and migrated: for an
in-memory URL that is the
process's one shared database, which every ``PlacementFixture(db=False)`` then
uses, so data outlives one fixture and is seen by the next; for a server URL
the schema is brought to head and emptied. On clean-up the shared database is
dropped.
"""

from __future__ import annotations

from typing import Any

import fixtures

from allotment.store.engine import Database as _Engine
from allotment.testing import conf as testing_conf
from allotment.testing import database as testing_database
from allotment.testing import fixture as testing_fixture


class Database(fixtures.Fixture):
    def __init__(self, conf_fixture: Any, set_config: bool = False) -> None:
        super().__init__()
        self.conf_fixture = conf_fixture
        if set_config:
            from oslo_config import cfg

            try:
                conf_fixture.register_opt(cfg.StrOpt("connection"), group="placement_database")
            except cfg.DuplicateOptError:
                pass
            # A connection set earlier (e.g. by a subclass hook) is kept.
            if not testing_conf.value(conf_fixture.conf, "placement_database", "connection"):
                conf_fixture.config(connection="sqlite://", group="placement_database")

    def _setUp(self) -> None:
        url = testing_conf.value(self.conf_fixture.conf, "placement_database", "connection")
        if url is None or testing_fixture.is_memory_url(url):
            testing_fixture.shared_database(fresh=True)
            self.addCleanup(testing_fixture.drop_shared_database)
            return
        engine = _Engine(url)
        try:
            testing_database.prepare_existing(engine)
        finally:
            engine.dispose()
