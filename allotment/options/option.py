"""``Option``: one configuration option as the registry declares it, and the
values several options share (bind address, strategies, CORS headers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INCOMPLETE_CONSUMER_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_BIND = "127.0.0.1:8778"
GENERATION_STRATEGIES = ("depth-first", "breadth-first")
AUTH_STRATEGIES = ("noauth2", "keystone")

CORS_ALLOW_HEADERS = (
    "X-Auth-Token",
    "X-Openstack-Request-Id",
    "X-Identity-Status",
    "X-Roles",
    "X-Service-Catalog",
    "X-User-Id",
    "X-Tenant-Id",
    "OpenStack-API-Version",
)
CORS_EXPOSE_HEADERS = (
    "X-Auth-Token",
    "X-Openstack-Request-Id",
    "X-Subject-Token",
    "X-Service-Token",
    "OpenStack-API-Version",
)
CORS_ALLOW_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")


@dataclass(frozen=True)
class Option:
    """One option: where it lives, what it holds, who defines it, what it fills."""

    group: str
    name: str
    type: str  # "str", "bool", "int", "float" or "list"
    default: Any
    help: str
    source: str  # "placement", "oslo.log", "oslo.policy", "oslo.middleware", "allotment"
    field: str | None = None  # the Settings field it sets
    secret: bool = False
    choices: tuple[str, ...] | None = None
    min: int | None = None
    max: int | None = None
    deprecated_names: tuple[str, ...] = ()
    unsupported: str | None = None  # why setting it has no effect (logged by name)

    @property
    def key(self) -> str:
        return f"[{self.group}] {self.name}"


def db_option(name: str, kind: str, default: Any, help: str, **kw: Any) -> Option:
    return Option("placement_database", name, kind, default, help, "placement", **kw)


def log_option(name: str, kind: str, default: Any, help: str, **kw: Any) -> Option:
    return Option("DEFAULT", name, kind, default, help, "oslo.log", **kw)


def placement_option(name: str, kind: str, default: Any, help: str, **kw: Any) -> Option:
    return Option("placement", name, kind, default, help, "placement", field=name, **kw)


def cors_option(name: str, kind: str, default: Any, help: str, field: str) -> Option:
    return Option("cors", name, kind, default, help, "oslo.middleware", field=field)


def allotment_option(name: str, kind: str, default: Any, help: str, **kw: Any) -> Option:
    return Option("allotment", name, kind, default, help, "allotment", field=name, **kw)
