"""The console is mounted in the real application stack, before authentication."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from allotment.app import make_app
from allotment.config import Settings


def _get(app: Any, path: str, token: str | None = None) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "SERVER_NAME": "x"}
    environ.update({"SERVER_PORT": "80", "wsgi.url_scheme": "http", "QUERY_STRING": ""})
    if token:
        environ["HTTP_X_AUTH_TOKEN"] = token
    seen: list[str] = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen[0], body


def test_console_is_served_without_a_token_and_the_api_still_needs_one(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'a.sqlite'}", access_log=False)
    app = make_app(settings)
    status, body = _get(app, "/ui/")
    assert status == "200 OK" and b"allotment console" in body
    assert _get(app, "/ui/main.js")[0] == "200 OK"
    assert _get(app, "/resource_providers")[0] == "401 Unauthorized"
    assert _get(app, "/resource_providers", token="admin")[0] == "200 OK"
    app.state.db.dispose()


def test_console_off_means_404(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'b.sqlite'}", access_log=False, console=False
    )
    app = make_app(settings)
    assert _get(app, "/ui/", token="admin")[0] == "404 Not Found"
    app.state.db.dispose()
