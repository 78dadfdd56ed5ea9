"""Every operator mistake is one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
import sqlalchemy as sa

from allotment.store import schema
from allotment.store.engine import Database
from tests.functional.operator.conftest import assert_one_line_failure, clean_env, run


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["db", "current", "--database", "notaurl"], "cannot parse database URL"),
        (["db", "upgrade", "--database", "oracle://x/y"], "is not supported"),
        (
            ["db", "upgrade", "--database", "postgresql://nobody@127.0.0.1:1/x"],
            "cannot reach the database",
        ),
        (["serve", "--bind", "127.0.0.1:99999"], "port must be a number from 1 to 65535"),
        (["db", "current", "--config-file", "missing.conf"], "config file not found"),
    ],
)
def test_mistakes_are_one_line(home, args, needle):
    assert_one_line_failure(run(args, home), needle)


def test_read_only_commands_create_nothing(home):
    target = home / "typo" / "placement.sqlite"
    for args in (["db", "current"], ["audit"], ["db", "stamp", "head"]):
        result = run([*args, "--database", f"sqlite:///{target}"], home)
        assert_one_line_failure(result, f"no database at {target}")
    status = run(["status", "--database", f"sqlite:///{target}"], home)
    assert status.returncode == 2 and "no database at" in status.stdout  # a failed check
    assert not (home / "typo").exists()
    assert not (home / "data").exists()


def test_sqlite_files_are_created_private(home):
    target = home / "db" / "p.sqlite"
    result = run(["db", "upgrade", "--database", f"sqlite:///{target}"], home)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_malformed_and_quoted_values_in_placement_conf(home):
    conf = home / "placement.conf"
    conf.write_text(
        '[placement_database]\nconnection = "sqlite:///x.sqlite"\nmax_pool_size = many\n'
    )
    result = run(["db", "current", "--config-file", str(conf)], home)
    assert_one_line_failure(result, "[placement_database] max_pool_size")


def test_db_stamp_of_an_unknown_revision(home):
    target = home / "p.sqlite"
    assert run(["db", "upgrade", "--database", f"sqlite:///{target}"], home).returncode == 0
    result = run(["db", "stamp", "bogus", "--database", f"sqlite:///{target}"], home)
    assert_one_line_failure(result, "unknown revision 'bogus'")


def test_upstream_database_says_adopt_everywhere(home):
    target = home / "upstream.sqlite"
    url = f"sqlite:///{target}"
    db = Database(url)
    schema.upgrade(db)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'a082b8bb98d0'"))
    db.dispose()
    assert_one_line_failure(run(["db", "upgrade", "--database", url], home), "db adopt`")
    served = run(["serve", "--bind", "127.0.0.1:1", "--database", url], home)
    assert served.returncode != 0 and "Traceback" not in served.stderr
    assert "run `allotment db adopt`" in served.stderr.strip().splitlines()[-1]
    current = run(["db", "current", "--database", url], home)
    assert current.returncode == 0
    assert "allotment db adopt" in current.stdout and "db upgrade" not in current.stdout


def test_policy_list_into_a_closed_pipe(home):
    env = clean_env(home)
    with subprocess.Popen(
        [sys.executable, "-m", "allotment", "policy", "list"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=home,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()  # as `| head -1` does
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_debug_shows_the_traceback(home):
    result = run(["--debug", "db", "current", "--database", "notaurl"], home)
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_version(home):
    result = run(["--version"], home)
    assert result.returncode == 0 and result.stdout.startswith("allotment ")


def test_password_is_moved_out_of_the_arguments(monkeypatch):
    from allotment import cli

    calls = []
    monkeypatch.setattr(
        sys, "argv", ["allotment", "--database", "postgresql://u:s3cret@h/db", "db", "current"]
    )
    monkeypatch.setattr(os, "execve", lambda *a: calls.append(a))
    cli._hide_database_password()
    (path, argv, env) = calls[0]
    assert "s3cret" not in " ".join(argv)
    assert env["ALLOTMENT_DATABASE_URL"] == "postgresql://u:s3cret@h/db"
    assert argv[-2:] == ["db", "current"]


def test_database_url_from_a_file(home):
    target = home / "p.sqlite"
    secret = home / "db-url"
    secret.write_text(f"sqlite:///{target}\n")
    result = run(["db", "upgrade", "--database-file", str(secret)], home)
    assert result.returncode == 0, result.stderr
    assert target.exists()


def test_password_never_stays_in_the_process_arguments(home):
    """`ps` shows /proc/PID/cmdline: after the re-exec it holds no password while the
    command runs (here: blocked on a server that accepts and never answers)."""
    import socket
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        url = f"postgresql://placement:s3cret-pw@127.0.0.1:{port}/placement"
        proc = subprocess.Popen(
            [sys.executable, "-m", "allotment", "--database", url, "db", "current"],
            env=clean_env(home),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            cmdline = ""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with open(f"/proc/{proc.pid}/cmdline", "rb") as handle:
                    cmdline = handle.read().decode()
                if "s3cret" not in cmdline and "allotment" in cmdline:
                    break
                time.sleep(0.05)
            assert "s3cret" not in cmdline and "db\0current" in cmdline
            time.sleep(1)  # still running, connecting to the silent server
            assert proc.poll() is None
            with open(f"/proc/{proc.pid}/cmdline", "rb") as handle:
                assert b"s3cret" not in handle.read()
        finally:
            proc.kill()
            proc.wait(timeout=30)
