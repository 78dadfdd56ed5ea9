"""``allotment db backup`` copies a SQLite database while a server writes to it."""

from __future__ import annotations

import http.client
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from allotment.store import schema
from tests.functional.scaleout import harness

ROOT = Path(__file__).resolve().parents[3]
BACKUPS = 3
MAX_WRITES = 400


def _allotment(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "allotment", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _consistent(path: Path) -> int:
    """Check one backup is a consistent snapshot; return its allocation count."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == (
            schema.head_revision()
        )
        rows = conn.execute(
            "SELECT rp.uuid, rp.generation, COALESCE(SUM(a.used), 0), COUNT(a.id) "
            "FROM resource_providers rp LEFT JOIN allocations a "
            "ON a.resource_provider_id = rp.id GROUP BY rp.id"
        ).fetchall()
        consumers = conn.execute("SELECT COUNT(*) FROM consumers").fetchone()[0]
    finally:
        conn.close()
    count = 0
    for rp_uuid, generation, used, allocations in rows:
        # Every claim here is one VCPU on one provider, written once: the
        # generation is the inventory write plus one per claim.
        assert generation == 1 + allocations, (rp_uuid, generation, allocations)
        assert used == allocations
        count += allocations
    assert consumers == count
    return count


def test_backup_while_serving(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'live.sqlite'}"
    server = harness.Server("sqlite", database, tmp_path)
    stop = threading.Event()
    granted: list[str] = []
    try:
        server.wait_ready()
        harness.set_up_providers(server.port)
        providers = sorted(harness.PROVIDERS)

        def write() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            for n in range(MAX_WRITES):
                if stop.is_set():
                    break
                consumer = str(uuid.uuid4())
                body = {
                    "allocations": {providers[n % 2]: {"resources": {"VCPU": 1}}},
                    "project_id": "p",
                    "user_id": "u",
                    "consumer_generation": None,
                    "consumer_type": "INSTANCE",
                }
                status, _ = harness.request(conn, "PUT", f"/allocations/{consumer}", body)
                assert status == 204
                granted.append(consumer)
            conn.close()

        writer = threading.Thread(target=write)
        writer.start()
        counts = []
        try:
            for n in range(BACKUPS):
                target = tmp_path / f"backup-{n}.sqlite"
                before = len(granted)
                result = _allotment("--database", database, "db", "backup", str(target))
                assert result.returncode == 0, result.stderr
                assert "backup written to" in result.stdout
                counts.append(_consistent(target))
                # The snapshot was taken between the two reads of the count.
                assert before <= counts[-1] <= len(granted) + 1
        finally:
            stop.set()
            writer.join(timeout=120)
        assert not list(tmp_path.glob(".*.partial"))
        assert counts[-1] > 0  # writes really happened while backing up
    finally:
        server.stop()


def test_backup_refuses_server_databases_and_bad_targets(tmp_path: Path) -> None:
    result = _allotment(
        "--database", "postgresql://nobody@127.0.0.1:1/none", "db", "backup", "x.sql"
    )
    assert result.returncode == 1
    assert "pg_dump" in result.stderr and "Traceback" not in result.stderr
    database = tmp_path / "live.sqlite"
    result = _allotment("--database", f"sqlite:///{database}", "db", "backup", str(database))
    assert result.returncode == 1 and "not found" in result.stderr
    _allotment("--database", f"sqlite:///{database}", "db", "upgrade")
    result = _allotment("--database", f"sqlite:///{database}", "db", "backup", str(database))
    assert result.returncode == 1 and "the database itself" in result.stderr
    missing_dir = tmp_path / "nope" / "b.sqlite"
    result = _allotment("--database", f"sqlite:///{database}", "db", "backup", str(missing_dir))
    assert result.returncode == 1 and "directory not found" in result.stderr
