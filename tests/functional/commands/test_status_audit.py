"""``allotment status`` and ``allotment audit`` on every backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from allotment import cli
from allotment.store import schema
from allotment.store import tables as t
from allotment.store.engine import Database
from tests.sources import uid


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def _provider(conn: sa.Connection, pid: int, root: int | None = -1) -> None:
    conn.execute(
        t.resource_providers.insert().values(
            id=pid, uuid=uid("rp", pid), name=f"rp{pid}", generation=0
        )
    )
    conn.execute(
        t.resource_providers.update()
        .where(t.resource_providers.c.id == pid)
        .values(root_provider_id=pid if root == -1 else root)
    )


def _inventory(
    conn: sa.Connection, pid: int, rc: int, total: int, reserved: int = 0, ratio: float = 1.0
) -> None:
    conn.execute(
        t.inventories.insert().values(
            resource_provider_id=pid,
            resource_class_id=rc,
            total=total,
            reserved=reserved,
            min_unit=1,
            max_unit=total,
            step_size=1,
            allocation_ratio=ratio,
        )
    )


def _consumer(conn: sa.Connection, name: str) -> None:
    project = conn.execute(sa.select(t.projects.c.id)).scalar()
    if project is None:
        conn.execute(t.projects.insert().values(id=1, external_id="proj"))
        conn.execute(t.users.insert().values(id=1, external_id="user"))
    conn.execute(
        t.consumers.insert().values(uuid=uid("c", name), project_id=1, user_id=1, generation=1)
    )


def _allocate(conn: sa.Connection, name: str, pid: int, rc: int, used: int) -> None:
    conn.execute(
        t.allocations.insert().values(
            resource_provider_id=pid, consumer_id=uid("c", name), resource_class_id=rc, used=used
        )
    )


def _status(db: Database, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = cli.main(["--database", _url(db), *extra, "status"])
    return code, _flat(capsys.readouterr().out)


def _flat(table: str) -> str:
    """The table's text with wrapped details joined again."""
    return " ".join(line.strip("|+- ").replace("  ", " ") for line in table.splitlines())


def test_status_succeeds_on_a_healthy_database(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with db.write() as conn:
        _provider(conn, 1)
        _inventory(conn, 1, 0, 8)
        _consumer(conn, "a")
        _allocate(conn, "a", 1, 0, 2)
    code, out = _status(db, capsys)
    assert code == 0
    assert out.startswith(" Upgrade Check Results")
    for check in (
        "Database Reachable And At Head",
        "Missing Root Provider IDs",
        "Incomplete Consumers",
        "Standard Resource Classes And Traits",
    ):
        assert f"Check: {check}" in out
    assert "Result: Warning" not in out and "Result: Failure" not in out


def test_status_warns_about_incomplete_consumers_and_missing_standard_traits(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with db.write() as conn:
        _provider(conn, 1)
        _inventory(conn, 1, 0, 8)
        _allocate(conn, "orphan", 1, 0, 1)
        _allocate(conn, "orphan2", 1, 0, 1)
        conn.execute(sa.delete(t.traits).where(t.traits.c.name == "HW_CPU_X86_AVX2"))
    code, out = _status(db, capsys)
    assert code == 1
    assert "there are 2 incomplete consumers" in out
    assert "HW_CPU_X86_AVX2" in out
    assert "Result: Failure" not in out
    with db.write() as conn:  # leave the standard data as the fixture expects it
        conn.execute(t.traits.insert().values(name="HW_CPU_X86_AVX2"))


def test_status_fails_on_providers_without_root(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with db.write() as conn:
        _provider(conn, 1, root=None)
    code, out = _status(db, capsys)
    assert code == 2
    assert "1 resource providers have no root_provider_id" in out


def test_status_fails_without_schema_or_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["--database", f"sqlite:///{tmp_path}/none.sqlite", "status"])
    out = _flat(capsys.readouterr().out)
    assert code == 2 and "no schema: run `allotment db upgrade`" in out
    code = cli.main(["--database", "postgresql://nobody@127.0.0.1:1/nothing", "status"])
    out = _flat(capsys.readouterr().out)
    assert code == 2 and "cannot connect" in out


def test_status_points_an_upstream_database_to_adopt(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    head = schema.head_revision()
    with db.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'a082b8bb98d0'"))
    try:
        code, out = _status(db, capsys)
    finally:
        with db.write() as conn:
            conn.execute(
                sa.update(sa.table("alembic_version", sa.column("version_num"))).values(
                    version_num=head
                )
            )
    assert code == 2 and "allotment db adopt" in out


def test_status_warns_about_a_json_policy_file(
    db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOTMENT_POLICY_FILE", "/etc/placement/policy.json")
    code, out = _status(db, capsys)
    assert code == 1 and "convert it to YAML" in out


def _troubled(db: Database) -> None:
    """One of each problem audit reports, next to healthy data."""
    with db.write() as conn:
        _provider(conn, 1)
        _inventory(conn, 1, 0, 4)  # VCPU capacity 4...
        _inventory(conn, 1, 1, 1000, 100, 1.5)  # MEMORY_MB capacity 1350
        _consumer(conn, "big")
        _allocate(conn, "big", 1, 0, 6)  # ...6 used: over capacity
        _allocate(conn, "big", 1, 1, 1349)  # with ghost: exactly at capacity, fine
        _allocate(conn, "big", 1, 2, 10)  # DISK_GB: no inventory
        _allocate(conn, "ghost", 1, 1, 1)  # consumer row missing
        _consumer(conn, "idle")  # consumer without allocations


def test_audit_lists_every_kind_of_problem_as_json(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _troubled(db)
    code = cli.main(["--database", _url(db), "audit", "--json"])
    found = json.loads(capsys.readouterr().out)
    assert code == 1
    assert found["allocations_without_consumer"] == [
        {"consumer_uuid": uid("c", "ghost"), "allocations": 1}
    ]
    assert found["consumers_without_allocations"] == [
        {"consumer_uuid": uid("c", "idle"), "project_id": "proj", "user_id": "user"}
    ]
    assert found["providers_over_capacity"] == [
        {
            "provider_uuid": uid("rp", 1),
            "provider_name": "rp1",
            "resource_class": "VCPU",
            "used": 6,
            "capacity": 4,
        }
    ]
    assert found["allocations_without_inventory"] == [
        {
            "provider_uuid": uid("rp", 1),
            "resource_class": "DISK_GB",
            "consumer_uuid": uid("c", "big"),
            "used": 10,
        }
    ]


def test_audit_prints_tables_and_exits_0_when_clean(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--database", _url(db), "audit"]) == 0
    out = capsys.readouterr().out
    assert "Providers whose usage exceeds capacity: 0" in out
    _troubled(db)
    assert cli.main(["--database", _url(db), "audit"]) == 1
    out = capsys.readouterr().out
    assert "Allocations against classes without inventory: 1" in out
    assert "| DISK_GB " in out and "| VCPU " in out
