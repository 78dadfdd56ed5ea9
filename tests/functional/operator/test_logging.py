"""log_format = json / use_json: every line of the server, gunicorn's included,
is exactly one JSON object; a log file gets the same lines."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.functional.operator.conftest import clean_env

START_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_server_line_is_one_json_object(home):
    port = _free_port()
    conf = home / "placement.conf"
    log_file = home / "placement.log"
    conf.write_text(
        f"[DEFAULT]\nuse_json = true\nuse_stderr = true\nlog_file = {log_file}\n"
        f"[placement_database]\nconnection = sqlite:///{home}/p.sqlite\n"
        "sync_on_startup = true\n[api]\nauth_strategy = noauth2\n"
        f"[allotment]\nbind = 127.0.0.1:{port}\nworkers = 1\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "allotment", "serve", "--config-file", str(conf)],
        env=clean_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=home,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("server did not start")
        assert response.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, stderr = proc.communicate(timeout=60)
    lines = [line for line in stderr.splitlines() if line.strip()]
    objects = [json.loads(line) for line in lines]  # every line parses, alone
    assert all(isinstance(o, dict) and "level" in o for o in objects)
    loggers = {o["logger"] for o in objects}
    assert "gunicorn.error" in loggers, loggers
    assert "allotment.access" in loggers, loggers
    access = next(o for o in objects if o["logger"] == "allotment.access")
    assert access["method"] == "GET" and access["status"] == 200
    assert any("noauth2" in o["message"] for o in objects if o["level"] == "WARNING")
    file_lines = log_file.read_text().splitlines()
    assert file_lines and all(isinstance(json.loads(line), dict) for line in file_lines)
