"""The ``allotment`` command as an operator uses it: db upgrade/current, and serve
started from an upstream-style placement.conf."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from allotment import cli
from allotment.http import microversion as mv
from allotment.store import schema
from allotment.store.engine import Database
from tests import databases

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_url(backend_db: Database, worker_id_safe: str, tmp_path: Path) -> str:
    """A brand-new empty database on the same backend as ``backend_db``."""
    return databases.create_database(
        backend_db.backend, databases.database_name(worker_id_safe) + "_cli", tmp_path
    )


def test_db_upgrade_then_current_on_an_empty_database(empty_url: str, capsys) -> None:
    if empty_url.startswith("sqlite"):
        # A read-only command never creates the file it is pointed at.
        assert cli.main(["db", "current", "--database", empty_url]) == 1
        assert "no database at" in capsys.readouterr().err
    else:
        assert cli.main(["db", "current", "--database", empty_url]) == 0
        assert capsys.readouterr().out.startswith("none")
    assert cli.main(["--database", empty_url, "db", "upgrade"]) == 0
    assert cli.main(["--database", empty_url, "db", "version"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"{schema.head_revision()} (head)")
    db = Database(empty_url)
    try:
        with db.read() as conn:
            classes = conn.exec_driver_sql("SELECT COUNT(*) FROM resource_classes").scalar()
            traits = conn.exec_driver_sql("SELECT COUNT(*) FROM traits").scalar()
    finally:
        db.dispose()
    assert classes == 21
    assert traits > 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_with_an_upstream_placement_conf(tmp_path: Path) -> None:
    port = _free_port()
    conf = tmp_path / "placement.conf"
    conf.write_text(
        "[DEFAULT]\ndebug = false\n"
        f"[placement_database]\nconnection = sqlite:///{tmp_path}/placement.sqlite\n"
        "sync_on_startup = true\n"
        "[api]\nauth_strategy = noauth2\n"
        "[placement]\nallocation_conflict_retry_count = 5\n"
    )
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "allotment",
            "serve",
            "--config-file",
            str(conf),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(base + "/", {})
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert status == 200
        assert body["versions"][0]["max_version"] == str(mv.MAX_VERSION)
        status, body = _get(base + "/resource_providers", {"x-auth-token": "admin"})
        assert (status, body) == (200, {"resource_providers": []})
        status, _ = _get(base + "/resource_providers", {})
        assert status == 401
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
