"""The two systems under comparison: allotment in-process, placement 16.0.0 as a peer.

The peer is openstack-placement 16.0.0 in its own virtualenv
(``benchmarks/.peer-venv``, built by ``benchmarks.servers.ensure_peer_venv``),
run as a separate gunicorn process on 127.0.0.1 and a free port, on a private
SQLite file. It is never imported. Each seed gets fresh databases on both sides:
the peer's is a copy of a file migrated once by ``placement-manage db sync``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx

from allotment.app import make_app
from allotment.config import Settings
from benchmarks import servers

# The peer must import its own ``placement`` package, never our compatibility
# package of the same name: nothing of this checkout goes on its path.
PEER_ENV = {"PYTHONPATH": ""}

# noauth2's "admin" token has the admin role only; the reshaper's default rule
# wants the service role. Both systems get this one override so the random
# run reaches the reshaper.
POLICY = '"placement:reshaper:reshape": "role:admin"\n'
PEER_CONF = "[DEFAULT]\ndebug = False\n\n[api]\nauth_strategy = noauth2\n\n"


class PeerUnavailable(RuntimeError):
    """The peer virtualenv could not be built or the peer would not start."""


class Peer:
    """placement 16.0.0 on SQLite; ``fresh()`` restarts it on an empty database."""

    def __init__(self, work_dir: Path | None = None) -> None:
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="allotment-differential-"))
        self.log_path = self.work_dir / "peer.log"
        self.template = self.work_dir / "template.sqlite"
        self.server: servers.Server | None = None
        self._count = 0

    def prepare(self) -> None:
        """Build the venv if needed and migrate the template database once."""
        try:
            servers.ensure_peer_venv(self.log_path)
            conf_dir = self.work_dir / "template-conf"
            conf_dir.mkdir(exist_ok=True)
            conf = conf_dir / "placement.conf"
            conf.write_text(
                PEER_CONF + f"[placement_database]\nconnection = sqlite:///{self.template}\n"
            )
            with self.log_path.open("ab") as log:
                subprocess.run(
                    [
                        str(servers.peer_bin("placement-manage")),
                        "--config-file",
                        str(conf),
                        "db",
                        "sync",
                    ],
                    check=True,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=600,
                    cwd=conf_dir,
                    env={**os.environ, **PEER_ENV},
                )
        except (OSError, subprocess.SubprocessError) as error:
            raise PeerUnavailable(f"{error}; see {self.log_path}") from error

    def fresh(self) -> str:
        """(Re)start the peer on a copy of the template; return its base URL."""
        self.stop()
        self._count += 1
        conf_dir = self.work_dir / f"run-{self._count}"
        conf_dir.mkdir()
        db_path = conf_dir / "placement.sqlite"
        shutil.copyfile(self.template, db_path)
        (conf_dir / "policy.yaml").write_text(POLICY)
        (conf_dir / "placement.conf").write_text(
            PEER_CONF
            + f"[placement_database]\nconnection = sqlite:///{db_path}\n\n"
            + f"[oslo_policy]\npolicy_file = {conf_dir / 'policy.yaml'}\n"
        )
        port = servers.free_port()
        command = [
            str(servers.peer_bin("gunicorn")),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "1",
            "--timeout",
            "60",
            "--name",
            "placement-differential-peer",
            "--no-control-socket",
            "placement.wsgi.api:application",
        ]
        self.server = servers.Server(
            "peer",
            command,
            port,
            self.log_path,
            {"OS_PLACEMENT_CONFIG_DIR": str(conf_dir), **PEER_ENV},
            cwd=conf_dir,
        )
        try:
            self.server.start(ready_seconds=60)
        except RuntimeError as error:
            self.server = None
            raise PeerUnavailable(str(error)) from error
        return self.server.base_url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)


def allotment_client(work_dir: Path) -> tuple[httpx.Client, Any]:
    """allotment's WSGI app on a fresh SQLite file, with the peer's defaults."""
    directory = Path(tempfile.mkdtemp(dir=work_dir))
    (directory / "policy.yaml").write_text(POLICY)
    settings = Settings(
        database_url=f"sqlite:///{directory / 'allotment.sqlite'}",
        auth_strategy="noauth2",
        access_log=False,
        policy_file=str(directory / "policy.yaml"),
    ).validate()
    app = make_app(settings)
    transport = httpx.WSGITransport(app=app)
    return httpx.Client(transport=transport, base_url="http://allotment"), app
