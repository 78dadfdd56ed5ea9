"""SIGHUP with a broken policy file: gunicorn restarts its workers, the service
keeps answering with the last good rules (it used to shut down)."""

from __future__ import annotations

import signal
import time

import httpx

from tests.functional.operator.conftest import free_port, start_server

HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement 1.6"}


def test_sighup_with_a_broken_policy_file_keeps_serving(home):
    port = free_port()
    policy = home / "policy.yaml"
    policy.write_text('"placement:traits:list": "!"\n')  # nobody may list traits
    conf = home / "placement.conf"
    conf.write_text(
        f"[placement_database]\nconnection = sqlite:///{home}/p.sqlite\nsync_on_startup = true\n"
        f"[api]\nauth_strategy = noauth2\n[oslo_policy]\npolicy_file = {policy}\n"
        f"[allotment]\nbind = 127.0.0.1:{port}\nworkers = 1\naccess_log = false\n"
    )
    proc = start_server(home, conf, port)
    url = f"http://127.0.0.1:{port}/traits"
    try:
        assert httpx.get(url, headers=HEADERS, timeout=10).status_code == 403
        policy.write_text('"placement:traits:list": "role:admin" or [\n')
        proc.send_signal(signal.SIGHUP)
        time.sleep(3)  # gunicorn starts new workers and retires the old ones
        statuses = []
        for _ in range(5):
            statuses.append(httpx.get(url, headers=HEADERS, timeout=10).status_code)
            time.sleep(0.2)
        assert proc.poll() is None, "the server stopped"
        assert statuses == [403] * 5  # the last good rules still hold
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, stderr = proc.communicate(timeout=60)
    assert "keeping the" in stderr
