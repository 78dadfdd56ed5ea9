"""What every ``PlacementClient`` call goes through: the microversion in use,
one request with its errors raised as ``allotment.client.errors`` classes.

The per-resource call groups (``providers``, ``allocations``) build on
``ClientBase``; ``PlacementClient`` (``allotment.client.client``) combines them
and owns the transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from allotment.client import errors
from allotment.client.transport import Params, Reply, Transport
from allotment.http.microversion import MAX_VERSION

# The newest microversion this client knows: the server's own newest.
LATEST = str(MAX_VERSION)


def parse_version(version: str) -> tuple[int, int]:
    """``"1.28"`` -> ``(1, 28)``; ``"latest"`` is the newest we know."""
    if version == "latest":
        version = LATEST
    major, _, minor = version.partition(".")
    return int(major), int(minor)


def resource_path(*segments: str) -> str:
    """``/a/b`` with every segment quoted (names and uuids come from callers)."""
    return "/" + "/".join(quote(str(s), safe="") for s in segments)


class ClientBase:
    """The plumbing shared by the call groups; ``PlacementClient`` sets the fields."""

    microversion: str
    token: str | None
    extra_headers: dict[str, str]
    transport: Transport

    def version(self, microversion: str | None = None) -> tuple[int, int]:
        """The microversion a call will use, as a tuple."""
        return parse_version(microversion or self.microversion)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | Mapping[str, str] | None = None,
        body: Any = None,
        microversion: str | None = None,
    ) -> Reply:
        """Send one request; raise the matching ``PlacementError`` on a 4xx/5xx."""
        headers = dict(self.extra_headers)
        if self.token:
            headers["X-Auth-Token"] = self.token
        if isinstance(params, Mapping):
            params = list(params.items())
        reply = self.transport.request(
            method,
            path,
            params=params,
            body=body,
            headers=headers,
            microversion=microversion or self.microversion,
        )
        if reply.status >= 400:
            raise errors.from_response(
                reply.status, reply.content, reply.headers, method, reply.url
            )
        return reply

    def _get(self, path: str, microversion: str | None, params: Params | None = None) -> Any:
        return self.request("GET", path, params=params, microversion=microversion).json()
