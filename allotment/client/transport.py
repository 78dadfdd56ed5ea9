"""How the client sends a request: over httpx, or over a keystoneauth session/adapter.

Both transports return a ``Reply`` (status, headers, raw body) so the client
never depends on which HTTP library is underneath. keystoneauth is imported
only when a keystoneauth session is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

Params = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # case-insensitive mapping from the HTTP library
    content: bytes
    method: str
    url: str

    def json(self) -> Any:
        return orjson.loads(self.content) if self.content else None


class Transport(Protocol):
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        body: Any,
        headers: dict[str, str],
        microversion: str | None,
    ) -> Reply: ...

    def close(self) -> None: ...


def _mv_header(microversion: str | None) -> dict[str, str]:
    return {"OpenStack-API-Version": f"placement {microversion}"} if microversion else {}


def _encode(body: Any, headers: dict[str, str]) -> bytes | None:
    if body is None:
        return None
    headers["Content-Type"] = "application/json"
    return orjson.dumps(body)


class HttpxTransport:
    """Relative paths against an ``httpx.Client`` whose ``base_url`` is the endpoint."""

    def __init__(self, client: Any, owned: bool) -> None:
        self.client = client
        self.owned = owned

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        body: Any,
        headers: dict[str, str],
        microversion: str | None,
    ) -> Reply:
        headers = {"Accept": "application/json", **headers, **_mv_header(microversion)}
        content = _encode(body, headers)
        # A relative path keeps the base_url's mount prefix (httpx joins them).
        response = self.client.request(
            method,
            path.lstrip("/"),
            params=list(params or ()),
            content=content,
            headers=headers,
        )
        return Reply(
            response.status_code,
            response.headers,
            response.content,
            method,
            str(response.request.url),
        )

    def close(self) -> None:
        if self.owned:
            self.client.close()


class KeystoneTransport:
    """A keystoneauth1 ``Adapter`` (or a ``Session`` wrapped in one for service ``placement``)."""

    def __init__(
        self,
        session: Any,
        endpoint: str | None = None,
        interface: str | None = None,
        region_name: str | None = None,
    ) -> None:
        from keystoneauth1 import adapter

        if isinstance(session, adapter.Adapter):
            self.adapter = session
        else:
            self.adapter = adapter.Adapter(
                session,
                service_type="placement",
                interface=interface,
                region_name=region_name,
                endpoint_override=endpoint,
            )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        body: Any,
        headers: dict[str, str],
        microversion: str | None,
    ) -> Reply:
        headers = {"Accept": "application/json", **headers}
        content = _encode(body, headers)
        kwargs: dict[str, Any] = {"headers": headers, "raise_exc": False}
        if params:
            kwargs["params"] = list(params)
        if content is not None:
            kwargs["data"] = content
        if microversion:
            kwargs["microversion"] = microversion
            kwargs["microversion_service_type"] = "placement"
        response = self.adapter.request(path, method, **kwargs)
        return Reply(response.status_code, response.headers, response.content, method, response.url)

    def close(self) -> None:
        return None
