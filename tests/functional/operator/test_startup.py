"""Start-up as an operator runs it: fail closed, safe with many workers, options honoured."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from allotment import config
from allotment.store import schema
from allotment.store.connect import DatabaseMissing, open_database, wait_until_reachable
from allotment.store.engine import Database
from allotment.testing.database import drop_server_database
from tests import databases
from tests.functional.operator.conftest import TIMEOUT, clean_env

PROCESSES = 4


def _import_wsgi(home, **extra):
    return subprocess.run(
        [sys.executable, "-c", "import allotment.wsgi"],
        env=clean_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=home,
    )


def test_wsgi_without_configuration_refuses_to_start(home):
    result = _import_wsgi(home)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no configuration found" in lines[0]
    assert not (home / "data").exists()  # no embedded SQLite file appeared


def test_wsgi_with_a_config_but_no_connection_refuses(home):
    (home / ".placement").mkdir()
    (home / ".placement" / "placement.conf").write_text("[api]\nauth_strategy = noauth2\n")
    result = _import_wsgi(home)
    assert result.returncode != 0
    assert "set [placement_database] connection" in result.stderr.strip().splitlines()[-1]


def test_wsgi_reads_the_default_places_and_defaults_to_keystone(home, monkeypatch):
    monkeypatch.setenv("HOME", str(home))
    etc = home / ".placement"
    etc.mkdir()
    (etc / "placement.conf").write_text(
        f"[placement_database]\nconnection = sqlite:///{home}/p.sqlite\nsync_on_startup = true\n"
    )
    settings = config.load(environ=clean_env(home), require_database=True)
    assert settings.config_files == (str(etc / "placement.conf"),)
    assert settings.auth_strategy == "keystone"
    # The token "admin" is not an admin any more: keystonemiddleware, not noauth2, answers.
    from allotment.app import make_app

    app = make_app(settings)
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://p")
    response = client.get("/resource_providers", headers={"x-auth-token": "admin"})
    assert response.status_code in (401, 500, 503)  # keystone is not configured here
    app.state.db.dispose()


def test_sync_on_startup_is_off_by_default_and_a_fresh_database_is_refused(home, tmp_path):
    conf = home / "placement.conf"
    conf.write_text(
        f"[placement_database]\nconnection = sqlite:///{home}/p.sqlite\n"
        "[api]\nauth_strategy = noauth2\n"
    )
    settings = config.load([str(conf)], environ={})
    assert settings.sync_on_startup is False
    from allotment.app import make_app

    with pytest.raises(DatabaseMissing, match="no database at"):
        make_app(settings)
    assert not (home / "p.sqlite").exists()
    # An empty server database (or SQLite file) is refused with what to run.
    db = Database(f"sqlite:///{home}/p.sqlite")
    with pytest.raises(schema.SchemaNotReady, match="run `allotment db upgrade`"):
        make_app(settings, db=db)
    db.dispose()


UPGRADE = textwrap.dedent(
    """
    import sys
    from allotment.store import schema
    from allotment.store.engine import Database
    db = Database(sys.argv[1])
    schema.upgrade(db)
    print(schema.current_revision(db))
    """
)


@pytest.mark.parametrize("backend", databases.BACKENDS)
def test_many_processes_upgrade_one_fresh_database_at_once(backend, tmp_path, worker_id_safe):
    name = databases.database_name(worker_id_safe) + f"_up{backend[:2]}"
    url = databases.create_database(backend, name, tmp_path)
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", UPGRADE, url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        results = [(p.wait(timeout=TIMEOUT), *p.communicate()) for p in procs]
        for code, out, err in results:
            assert code == 0, err
            assert out.strip() == schema.head_revision()
        db = Database(url)
        assert schema.problem(db) is None
        db.dispose()
    finally:
        if backend != "sqlite":
            drop_server_database(databases.ADMIN_URLS[backend], name)


@pytest.mark.backends
def test_pool_options_reach_the_engine(db):
    url = db.url.render_as_string(hide_password=False)
    settings = config.Settings(
        database_url=url,
        max_pool_size=3,
        max_overflow=1,
        pool_timeout=7,
        connection_recycle_time=60,
    )
    opened = open_database(settings, create=False)
    try:
        pool = opened.engine.pool
        if opened.backend != "sqlite":
            assert pool.size() == 3  # type: ignore[attr-defined]
            assert pool._max_overflow == 1  # type: ignore[attr-defined]
            assert pool._timeout == 7  # type: ignore[attr-defined]
            assert pool._recycle == 60
        if opened.backend == "mysql":
            with opened.engine.connect() as conn:
                mode = conn.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar()
            assert "STRICT_TRANS_TABLES" in mode and "NO_ZERO_DATE" in mode  # TRADITIONAL
    finally:
        opened.dispose()


def test_connection_parameters_join_the_url():
    settings = config.Settings(
        database_url="postgresql://u@h/db", connection_parameters="connect_timeout=3"
    )
    from allotment.store.connect import database_url

    assert database_url(settings).query["connect_timeout"] == "3"


def test_start_up_retries_as_max_retries_and_retry_interval_say():
    db = Database("postgresql://nobody@127.0.0.1:1/none")
    sleeps: list[float] = []
    with pytest.raises(Exception, match="Connection refused|connection failed"):
        wait_until_reachable(db, max_retries=2, retry_interval=5, sleep=sleeps.append)
    assert sleeps == [5, 5]
    db.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_gunicorn_four_workers_on_a_fresh_database(backend, home, tmp_path, worker_id_safe):
    """The issue's reproduction: `gunicorn -w 4 allotment.wsgi:application` with
    sync_on_startup on an empty database; every worker boots, one upgrades."""
    import httpx

    from tests.functional.operator.conftest import START_SECONDS, free_port

    name = databases.database_name(worker_id_safe) + f"_gu{backend[:2]}"
    url = databases.create_database(backend, name, tmp_path)
    port = free_port()
    (home / "placement.conf").write_text(
        f"[placement_database]\nconnection = {url}\nsync_on_startup = true\n"
        "[api]\nauth_strategy = noauth2\n"
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen(
        [gunicorn, "-w", "4", "-b", f"127.0.0.1:{port}", "allotment.wsgi:application"],
        env=clean_env(home, OS_PLACEMENT_CONFIG_DIR=str(home)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=home,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(
                    f"http://127.0.0.1:{port}/resource_providers",
                    headers={"x-auth-token": "admin"},
                    timeout=5,
                ).status_code
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert status == 200
        time.sleep(2)  # every worker has booted (or died) by now
        assert proc.poll() is None, "gunicorn halted"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, stderr = proc.communicate(timeout=60)
        drop_server_database(databases.ADMIN_URLS[backend], name)
    assert "Worker failed to boot" not in stderr
    assert "Traceback" not in stderr
