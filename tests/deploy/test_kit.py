"""The deployment kit in deploy/: each piece parsed, its commands checked, and
the ones that can run here run (uWSGI with the ini, the container's health
check, the mod_wsgi entry point)."""

from __future__ import annotations

import configparser
import dataclasses
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from allotment import cli, config
from tests.functional.scaleout import harness

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
START_TIMEOUT = 60.0
# ALLOTMENT_<NAME> variables the settings read (plus the data directory).
KNOWN_VARIABLES = {f"ALLOTMENT_{f.name.upper()}" for f in dataclasses.fields(config.Settings)} | {
    "ALLOTMENT_DATA_DIR",
    "ALLOTMENT_CONFIG_FILE",
}


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Containerfile, continuation lines joined."""
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    assert not current, "dangling line continuation"
    return [(s.split(None, 1)[0].upper(), s.split(None, 1)[1]) for s in logical]


def _allotment_args_parse(argv: list[str]) -> None:
    """The CLI accepts ``argv`` (as the kit runs it)."""
    args = cli.build_parser().parse_args(argv)
    assert callable(args.func)


def _wait_http(port: int, path: str, process: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path, headers={"accept": "application/json"})
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no answer on {port}:\n{log.read_text(errors='replace')[-3000:]}")


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOTMENT_")}
    env.pop("OS_PLACEMENT_CONFIG_DIR", None)
    env.update(
        ALLOTMENT_DATABASE_URL=f"sqlite:///{tmp_path / 'placement.sqlite'}",
        ALLOTMENT_ACCESS_LOG="false",
        PYTHONPATH=str(ROOT),
    )
    return env


# --- Containerfile ---------------------------------------------------------------------


def test_containerfile_is_non_root_env_only_and_healthchecked() -> None:
    steps = _instructions((DEPLOY / "Containerfile").read_text())
    kinds = [k for k, _ in steps]
    assert kinds.count("FROM") == 2
    assert set(kinds) <= {
        "FROM",
        "WORKDIR",
        "COPY",
        "RUN",
        "USER",
        "ENV",
        "EXPOSE",
        "HEALTHCHECK",
        "ENTRYPOINT",
        "CMD",
    }
    final = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM") :]
    users = [a for k, a in final if k == "USER"]
    assert users and users[-1] not in ("root", "0")
    # Configuration from the environment only: no config file copied in.
    for kind, args in steps:
        if kind == "COPY":
            assert "placement.conf" not in args and "policy" not in args
    env_names = re.findall(r"(\w+)=", " ".join(a for k, a in final if k == "ENV"))
    for name in env_names:
        if name.startswith("ALLOTMENT_"):
            assert name in KNOWN_VARIABLES, name
    assert "ALLOTMENT_SYNC_ON_STARTUP" in env_names  # the upgrade is a separate command
    entrypoint = json.loads(next(a for k, a in final if k == "ENTRYPOINT"))
    command = json.loads(next(a for k, a in final if k == "CMD"))
    assert entrypoint == ["allotment"]
    # The entry point is the console script the package installs.
    assert 'allotment = "allotment.cli:main"' in (ROOT / "pyproject.toml").read_text()
    assert "keystone" in (ROOT / "pyproject.toml").read_text()  # the extra the image installs
    _allotment_args_parse(command)
    _allotment_args_parse(["db", "upgrade"])  # the documented one-shot upgrade
    # Every path the build copies exists.
    for kind, args in steps:
        if kind == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), source


def _healthcheck_command() -> list[str]:
    steps = _instructions((DEPLOY / "Containerfile").read_text())
    check = next(a for k, a in steps if k == "HEALTHCHECK")
    assert "/healthcheck" in check
    return json.loads(check.split("CMD", 1)[1])


def test_containerfile_healthcheck_runs_against_a_server(tmp_path: Path) -> None:
    command = _healthcheck_command()
    assert command[0] == "python"
    server = harness.Server("container", f"sqlite:///{tmp_path / 'p.sqlite'}", tmp_path)
    try:
        server.wait_ready()
        env = {**os.environ, "ALLOTMENT_BIND": f"0.0.0.0:{server.port}"}
        ok = subprocess.run([sys.executable, *command[1:]], env=env, timeout=30, check=False)
        assert ok.returncode == 0
    finally:
        server.stop()
    env = {**os.environ, "ALLOTMENT_BIND": f"0.0.0.0:{harness.free_port()}"}
    down = subprocess.run(
        [sys.executable, *command[1:]], env=env, timeout=30, check=False, capture_output=True
    )
    assert down.returncode != 0


# --- systemd ---------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["allotment.service", "allotment-upgrade.service"])
def test_systemd_units_parse_and_run_real_commands(unit: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / unit)
    assert {"Unit", "Service", "Install"} <= set(parser.sections())
    service = parser["Service"]
    assert service["User"] != "root"
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/bin/allotment")
    _allotment_args_parse(argv[1:])
    text = (DEPLOY / unit).read_text()
    for name in re.findall(r"^Environment=(\w+)=", text, re.M):
        assert name in KNOWN_VARIABLES, name
    analyze = shutil.which("systemd-analyze")
    if analyze:  # not in every container: the parse above is the floor
        result = subprocess.run(
            [analyze, "verify", "--man=no", str(DEPLOY / unit)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Unknown key" not in result.stderr and "Unknown section" not in result.stderr, (
            result.stderr
        )


# --- uWSGI -----------------------------------------------------------------------------


def test_uwsgi_serves_with_the_kit_ini(tmp_path: Path) -> None:
    uwsgi = shutil.which("uwsgi") or str(Path(sys.executable).parent / "uwsgi")
    assert Path(uwsgi).exists(), "pyuwsgi (dev extra) provides uwsgi"
    env = _sqlite_env(tmp_path)
    port = harness.free_port()
    env["ALLOTMENT_BIND"] = f"127.0.0.1:{port}"
    log = tmp_path / "uwsgi.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [uwsgi, "--ini", str(DEPLOY / "uwsgi.ini")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        assert _wait_http(port, "/healthcheck", process, log) == 200
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        status, body = harness.request(conn, "GET", "/resource_providers")
        assert status == 200 and body == {"resource_providers": []}
        conn.close()
    finally:
        process.send_signal(signal.SIGTERM)  # die-on-term: a clean shutdown
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert process.returncode is not None


# --- mod_wsgi --------------------------------------------------------------------------


def test_mod_wsgi_snippet_points_at_the_wsgi_module(tmp_path: Path) -> None:
    text = (DEPLOY / "apache-allotment.conf").read_text()
    alias = re.search(r"^\s*WSGIScriptAlias\s+/\s+(\S+)", text, re.M)
    assert alias and alias.group(1).endswith("/site-packages/allotment/wsgi.py")
    assert re.search(r"WSGIApplicationGroup\s+%\{GLOBAL\}", text)
    assert re.search(r"WSGIDaemonProcess allotment .*user=allotment", text)
    opened = re.findall(r"<(\w+)", text)
    closed = re.findall(r"</(\w+)>", text)
    assert sorted(opened) == sorted(closed)
    # What mod_wsgi does with that file: load it, call ``application``.
    probe = (
        "import io, sys, runpy\n"
        "ns = runpy.run_path(sys.argv[1])\n"
        "seen = []\n"
        "env = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/healthcheck', 'SERVER_NAME': 'x',"
        " 'SERVER_PORT': '80', 'wsgi.input': io.BytesIO(), 'wsgi.url_scheme': 'http',"
        " 'HTTP_ACCEPT': 'application/json'}\n"
        "b''.join(ns['application'](env, lambda s, h, e=None: seen.append(s)))\n"
        "print(seen[0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT / "allotment" / "wsgi.py")],
        env=_sqlite_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("200")
    apachectl = shutil.which("apache2ctl") or shutil.which("apachectl")
    if apachectl:  # syntax-check the snippet when Apache is installed
        assert subprocess.run([apachectl, "-t"], capture_output=True, check=False).returncode in (
            0,
            1,
        )
