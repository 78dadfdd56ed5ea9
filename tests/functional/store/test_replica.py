"""``slave_connection``: reads that tolerate lag go to the replica, the rest to the primary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from allotment import config
from allotment.app import make_app
from allotment.store.engine import Database
from allotment.testing.database import fresh_sqlite
from tests.inprocess import call_json


def _names(db: Database, replica: bool) -> set[str]:
    with db.read(replica=replica) as conn:
        rows = conn.execute(sa.text("SELECT name FROM resource_providers"))
        return {name for (name,) in rows}


def test_replica_reads_only_where_asked(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    primary_url, replica_url = fresh_sqlite(tmp_path / "p"), fresh_sqlite(tmp_path / "r")
    replica_only = Database(replica_url)
    replica_only.run_write(
        lambda conn: conn.execute(
            sa.text(
                "INSERT INTO resource_providers (uuid, name, generation, created_at) "
                "VALUES ('11111111-1111-4111-8111-111111111111', 'on-replica', 0, '2020-01-01')"
            )
        )
    )
    replica_only.dispose()
    db = Database(primary_url, replica_url=replica_url)
    try:
        assert _names(db, replica=True) == {"on-replica"}
        assert _names(db, replica=False) == set()
        # Writes always go to the primary.
        db.run_write(
            lambda conn: conn.execute(
                sa.text(
                    "INSERT INTO resource_providers (uuid, name, generation, created_at) "
                    "VALUES ('22222222-2222-4222-8222-222222222222', 'on-primary', 0, "
                    "'2020-01-01')"
                )
            )
        )
        assert _names(db, replica=False) == {"on-primary"}
        assert _names(db, replica=True) == {"on-replica"}
    finally:
        db.dispose()
    without = Database(primary_url)
    try:
        assert _names(without, replica=True) == {"on-primary"}  # no replica: the primary
    finally:
        without.dispose()


def test_slave_connection_is_read_from_the_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "placement.conf"
    conf.write_text(
        "[placement_database]\nconnection = sqlite:///a.sqlite\n"
        "slave_connection = sqlite:///b.sqlite\n"
    )
    settings = config.load([str(conf)], environ={})
    assert settings.database_slave_url == "sqlite:///b.sqlite"
    assert (
        config.load(
            [], environ={"ALLOTMENT_DATABASE_SLAVE_URL": "sqlite:///c.sqlite"}
        ).database_slave_url
        == "sqlite:///c.sqlite"
    )


def _call(app: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return call_json(app, method, path, body)


def test_app_reads_allocation_candidates_from_the_replica(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    primary_url, replica_url = fresh_sqlite(tmp_path / "p"), fresh_sqlite(tmp_path / "r")
    # A provider with inventory that exists on the "replica" only.
    replica_app = make_app(config.Settings(database_url=replica_url, access_log=False))
    rp = "33333333-3333-4333-8333-333333333333"
    assert _call(replica_app, "POST", "/resource_providers", {"name": "r", "uuid": rp})[0] == 200
    status, _ = _call(
        replica_app,
        "PUT",
        f"/resource_providers/{rp}/inventories",
        {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4}}},
    )
    assert status == 200
    app = make_app(
        config.Settings(database_url=primary_url, database_slave_url=replica_url, access_log=False)
    )
    status, body = _call(app, "GET", "/allocation_candidates?resources=VCPU:1")
    assert status == 200
    assert list(body["provider_summaries"]) == [rp]
    # Everything else reads the primary (read-your-writes).
    status, body = _call(app, "GET", "/resource_providers")
    assert status == 200 and body["resource_providers"] == []
    status, _ = _call(app, "GET", f"/resource_providers/{rp}")
    assert status == 404
