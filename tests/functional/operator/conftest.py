"""Helpers for running allotment's commands as an operator would: subprocesses
with a clean environment and an empty home directory (no config anywhere)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

TIMEOUT = 120


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ALLOTMENT_", "OS_PLACEMENT", "XDG_"))
    }
    env.update(HOME=str(home), ALLOTMENT_DATA_DIR=str(home / "data"), **extra)
    return env


def run(
    args: list[str], home: Path, stdin: str | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "allotment", *args],
        env=clean_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=home,
        input=stdin,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert needle in lines[0], lines[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(home: Path, conf: Path, port: int) -> subprocess.Popen[str]:
    """``allotment serve --config-file conf``, returned once it answers on ``port``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "allotment", "serve", "--config-file", str(conf)],
        env=clean_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=home,
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {proc.communicate()[1][-3000:]}") from None
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not start: {proc.communicate()[1][-3000:]}")
