"""``db adopt``: take over an upstream placement database at a082b8bb98d0, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from allotment import cli
from allotment.store import adopt, schema
from allotment.store import tables as t
from allotment.store.engine import Database
from tests import databases
from tests.sources import uid

DROPPED_TRAITS = ("HW_CPU_X86_AVX2", "STORAGE_DISK_SSD")


@pytest.fixture(params=databases.BACKENDS)
def upstream(
    request: pytest.FixtureRequest, worker_id_safe: str, tmp_path: Path
) -> Iterator[Database]:
    """A database shaped as upstream placement at its head, with data, on each backend."""
    name = f"{databases.database_name(worker_id_safe)}_adopt_{request.param[:2]}"
    db = Database(databases.create_database(request.param, name, tmp_path))
    # Our baseline revision is upstream's head schema (later ones are ours only).
    schema.upgrade(db, adopt.BASELINE)
    schema.sync_standard_data(db)
    with db.write() as conn:
        # As an upstream deployment with older os-traits/os-resource-classes would be.
        conn.execute(sa.delete(t.traits).where(t.traits.c.name.in_(DROPPED_TRAITS)))
        conn.execute(sa.delete(t.resource_classes).where(t.resource_classes.c.name == "PGPU"))
        conn.execute(
            t.resource_providers.insert().values(id=7, uuid=uid("rp", 7), name="cn7", generation=2)
        )
        conn.execute(t.resource_providers.update().values(root_provider_id=7))
        conn.execute(
            t.inventories.insert().values(
                resource_provider_id=7,
                resource_class_id=0,
                total=8,
                reserved=0,
                min_unit=1,
                max_unit=8,
                step_size=1,
                allocation_ratio=16.0,
            )
        )
        conn.execute(t.projects.insert().values(id=1, external_id="p"))
        conn.execute(t.users.insert().values(id=1, external_id="u"))
        conn.execute(
            t.consumers.insert().values(uuid=uid("c", 1), project_id=1, user_id=1, generation=1)
        )
        conn.execute(
            t.allocations.insert().values(
                resource_provider_id=7, consumer_id=uid("c", 1), resource_class_id=0, used=2
            )
        )
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'a082b8bb98d0'"))
    yield db
    db.dispose()


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def _data(db: Database) -> dict[str, list]:
    with db.read() as conn:
        return {
            name: sorted(map(tuple, conn.execute(sa.select(t.metadata.tables[name]))), key=repr)
            for name in ("resource_providers", "inventories", "allocations", "consumers")
        }


def test_adopt_stamps_and_syncs_and_says_what_changed(
    upstream: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _data(upstream)
    assert cli.main(["--database", _url(upstream), "db", "adopt"]) == 0
    out = capsys.readouterr().out
    assert "alembic_version: a082b8bb98d0 -> 0001_initial" in out
    assert "standard resource classes added: 1 (PGPU)" in out
    assert "standard traits added: 2 (HW_CPU_X86_AVX2, STORAGE_DISK_SSD)" in out
    assert schema.is_at_head(upstream)
    assert _data(upstream) == before
    with upstream.read() as conn:
        assert (
            conn.execute(
                sa.select(t.resource_classes.c.id).where(t.resource_classes.c.name == "PGPU")
            ).scalar()
            == 17
        )
    # Adopting twice is harmless.
    assert cli.main(["--database", _url(upstream), "db", "adopt"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    # And the adopted database passes every status check.
    assert cli.main(["--database", _url(upstream), "status"]) == 0


def test_dry_run_changes_nothing(upstream: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--database", _url(upstream), "db", "adopt", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would change" in out and "dry run" in out
    assert schema.current_revision(upstream) == adopt.UPSTREAM_HEAD
    with upstream.read() as conn:
        assert not conn.execute(
            sa.select(t.traits.c.id).where(t.traits.c.name.in_(DROPPED_TRAITS))
        ).all()


@pytest.mark.parametrize(
    "revision, hint",
    [
        ("422ece571366", "placement-manage db sync"),
        ("b4ed3a175331", "placement-manage db sync"),
        ("deadbeef0001", "unknown alembic revision"),
    ],
)
def test_other_revisions_are_refused(
    upstream: Database, capsys: pytest.CaptureFixture[str], revision: str, hint: str
) -> None:
    with upstream.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    assert cli.main(["--database", _url(upstream), "db", "adopt"]) == 2
    err = capsys.readouterr().err
    assert hint in err and "allotment db import" in err
    assert schema.current_revision(upstream) == revision


def test_database_without_alembic_version_is_refused(upstream: Database) -> None:
    with upstream.write() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
    with pytest.raises(adopt.AdoptRefused, match="not an upstream placement database"):
        adopt.adopt(upstream)


def test_missing_table_is_refused(upstream: Database) -> None:
    with upstream.write() as conn:
        conn.execute(sa.text("DROP TABLE resource_provider_aggregates"))
    with pytest.raises(adopt.AdoptRefused, match="table resource_provider_aggregates is missing"):
        adopt.adopt(upstream)
    assert schema.current_revision(upstream) == adopt.UPSTREAM_HEAD


def test_extra_column_with_a_default_is_left_alone(
    upstream: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with upstream.write() as conn:
        conn.execute(
            sa.text("ALTER TABLE resource_providers ADD COLUMN can_host INTEGER DEFAULT 0 NOT NULL")
        )
    assert cli.main(["--database", _url(upstream), "db", "adopt"]) == 0
    assert "extra column resource_providers.can_host left alone" in capsys.readouterr().out


# SQLite cannot add a NOT NULL column without a default, so it cannot be in this state.
@pytest.mark.parametrize("upstream", ["postgresql", "mysql"], indirect=True)
def test_extra_not_null_column_without_default_is_refused(upstream: Database) -> None:
    with upstream.write() as conn:
        conn.execute(sa.text("DELETE FROM allocations"))
        conn.execute(sa.text("DELETE FROM inventories"))
        conn.execute(sa.text("UPDATE resource_providers SET root_provider_id = NULL"))
        conn.execute(sa.text("DELETE FROM resource_providers"))
    with upstream.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE resource_providers ADD COLUMN can_host INTEGER NOT NULL"))
    with pytest.raises(adopt.AdoptRefused, match="DROP COLUMN can_host"):
        adopt.adopt(upstream)
