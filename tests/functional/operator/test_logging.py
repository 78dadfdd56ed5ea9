"""log_format = json / use_json: every line of the server, gunicorn's included,
is exactly one JSON object; a log file gets the same lines."""

from __future__ import annotations

import json
import signal

import httpx

from tests.functional.operator.conftest import free_port, start_server


def test_every_server_line_is_one_json_object(home):
    port = free_port()
    conf = home / "placement.conf"
    log_file = home / "placement.log"
    conf.write_text(
        f"[DEFAULT]\nuse_json = true\nuse_stderr = true\nlog_file = {log_file}\n"
        f"[placement_database]\nconnection = sqlite:///{home}/p.sqlite\n"
        "sync_on_startup = true\n[api]\nauth_strategy = noauth2\n"
        f"[allotment]\nbind = 127.0.0.1:{port}\nworkers = 1\n"
    )
    proc = start_server(home, conf, port)
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
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
