"""``allotment db online_data_migrations`` on every backend."""

from __future__ import annotations

import argparse
import io

import sqlalchemy as sa

from allotment.commands import online_migrations
from allotment.config import Settings
from allotment.store import tables as t
from allotment.store.engine import Database


def _legacy_rows(db: Database, providers: int, orphans: int) -> None:
    with db.write() as conn:
        for n in range(providers):
            conn.execute(
                t.resource_providers.insert().values(
                    uuid=f"00000000-0000-0000-0000-{n:012d}", name=f"rp{n}", generation=0
                )
            )
        for n in range(orphans):
            conn.execute(
                t.allocations.insert().values(
                    resource_provider_id=1,
                    consumer_id=f"10000000-0000-0000-0000-{n:012d}",
                    resource_class_id=0,
                    used=1,
                )
            )


def _run(db: Database, settings: Settings, max_count: str | None) -> tuple[int, str]:
    out = io.StringIO()
    code = online_migrations.run(argparse.Namespace(max_count=max_count), settings, out)
    return code, out.getvalue()


def test_fixes_roots_and_consumers_until_done(db: Database, settings: Settings) -> None:
    _legacy_rows(db, providers=3, orphans=2)
    code, output = _run(db, settings, None)
    assert code == 0
    assert "set_root_provider_ids" in output and "create_incomplete_consumers" in output
    with db.read() as conn:
        roots = conn.execute(
            sa.select(t.resource_providers.c.id, t.resource_providers.c.root_provider_id)
        ).all()
        assert all(row.id == row.root_provider_id for row in roots)
        consumers = conn.execute(
            sa.select(t.consumers.c.uuid, t.projects.c.external_id).join(
                t.projects, t.projects.c.id == t.consumers.c.project_id
            )
        ).all()
    assert len(consumers) == 2
    assert {row.external_id for row in consumers} == {settings.incomplete_consumer_project_id}
    assert _run(db, settings, None)[0] == 0


def test_max_count_runs_one_batch_and_says_run_again(db: Database, settings: Settings) -> None:
    _legacy_rows(db, providers=3, orphans=0)
    code, output = _run(db, settings, "2")
    assert code == 1
    roots_line = next(
        line for line in output.splitlines() if line.startswith("set_root_provider_ids")
    )
    assert roots_line.split()[1:] == ["3", "2"]
    with db.read() as conn:
        left = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.resource_providers)
            .where(t.resource_providers.c.root_provider_id.is_(None))
        ).scalar()
    assert left == 1
    assert _run(db, settings, "2")[0] == 1
    assert _run(db, settings, "2")[0] == 0


def test_bad_max_count_exits_127(db: Database, settings: Settings) -> None:
    assert _run(db, settings, "0")[0] == 127
    assert _run(db, settings, "many")[0] == 127
