"""Typed settings, read from a placement.conf-style file and ALLOTMENT_* variables.

Precedence, lowest first: defaults, the config file (upstream option names in
their upstream sections, plus an ``[allotment]`` section of our own), then
``ALLOTMENT_<OPTION>`` environment variables, then explicit overrides (CLI
flags). The resulting ``Settings`` is passed explicitly; there is no global.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_BIND = "127.0.0.1:8778"
INCOMPLETE_CONSUMER_ID = "00000000-0000-0000-0000-000000000000"
GENERATION_STRATEGIES = ("depth-first", "breadth-first")
AUTH_STRATEGIES = ("noauth2", "keystone")


# --- options of issue 14 (the [allotment] limits, all > 0) ---
LIMIT_OPTIONS = (
    "max_body_size",
    "max_list_items",
    "max_json_depth",
    "max_request_line",
    "max_header_size",
    "header_timeout",
    "body_timeout",
    "keepalive_timeout",
    "keepalive_requests",
    "max_connections",
    "max_allocations_per_write",
)
_POSITIVE_LIMITS = LIMIT_OPTIONS


class ConfigError(ValueError):
    """A setting has a value we cannot use."""


def default_data_dir() -> Path:
    if os.environ.get("ALLOTMENT_DATA_DIR"):
        return Path(os.environ["ALLOTMENT_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "allotment"


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'allotment.sqlite'}"


@dataclass(frozen=True)
class Settings:
    """Every setting, its default, and where it comes from in a config file."""

    database_url: str = field(default_factory=default_database_url)
    sync_on_startup: bool = True
    auth_strategy: str = "noauth2"
    policy_file: str | None = None
    enforce_new_defaults: bool = True
    # oslo.policy (>= 4.5, as upstream 16 runs with) enforces scope by default.
    enforce_scope: bool = True
    randomize_allocation_candidates: bool = False
    incomplete_consumer_project_id: str = INCOMPLETE_CONSUMER_ID
    incomplete_consumer_user_id: str = INCOMPLETE_CONSUMER_ID
    allocation_conflict_retry_count: int = 10
    max_allocation_candidates: int = -1
    allocation_candidates_generation_strategy: str = "depth-first"
    optimize_for_wide_provider_trees: bool = False
    cors_allowed_origin: tuple[str, ...] = ()
    cors_allow_credentials: bool = True
    cors_max_age: int = 3600
    cors_allow_methods: tuple[str, ...] = ("GET", "PUT", "POST", "DELETE", "PATCH")
    # --- options of issue 17 ---
    # Candidate searches read a per-worker in-memory model of the providers,
    # kept fresh by the change feed (false: research by SQL on every request).
    in_memory_candidates: bool = True
    cors_allow_headers: tuple[str, ...] = (
        "X-Auth-Token",
        "X-Openstack-Request-Id",
        "X-Identity-Status",
        "X-Roles",
        "X-Service-Catalog",
        "X-User-Id",
        "X-Tenant-Id",
        "OpenStack-API-Version",
    )
    cors_expose_headers: tuple[str, ...] = (
        "X-Auth-Token",
        "X-Openstack-Request-Id",
        "X-Subject-Token",
        "X-Service-Token",
        "OpenStack-API-Version",
    )
    bind: str = DEFAULT_BIND
    workers: int = 2
    access_log: bool = True
    log_format: str = "plain"
    debug: bool = False
    # --- options of issue 14: request limits and the slow-client front ---
    # Largest request body in bytes (413 above it).
    max_body_size: int = 1048576
    # Most items in any one JSON array or object of a body (traits, aggregates,
    # consumers of POST /allocations, ...) and in one query-string list.
    max_list_items: int = 1000
    # Deepest nesting of a JSON body.
    max_json_depth: int = 32
    # Longest request line (414) and largest header block (431), in bytes.
    max_request_line: int = 16384
    max_header_size: int = 32768
    # Seconds a client may take to send a request head, then its body.
    header_timeout: float = 30.0
    body_timeout: float = 60.0
    # Idle seconds a kept-alive connection is held; requests per connection.
    keepalive_timeout: float = 5.0
    keepalive_requests: int = 1000
    # Open connections each worker holds before answering 503.
    max_connections: int = 1000
    # (consumer, provider) allocation pairs one POST /allocations or
    # /reshaper may write: bounds how long one request holds the write lock.
    max_allocations_per_write: int = 1000
    # --- end of options of issue 14 ---
    # --- options of issue 20 ---
    # A read-only replica for the reads that tolerate lag (see docs/scale-out.md).
    database_slave_url: str | None = None
    # --- end of options of issue 20 ---
    # --- options of issue 21 ---
    console: bool = True
    # Sections passed through untouched (e.g. [keystone_authtoken]).
    sections: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)

    def validate(self) -> Settings:
        if self.auth_strategy not in AUTH_STRATEGIES:
            raise ConfigError(f"auth_strategy must be one of {AUTH_STRATEGIES}")
        if self.allocation_candidates_generation_strategy not in GENERATION_STRATEGIES:
            raise ConfigError(
                f"allocation_candidates_generation_strategy must be one of {GENERATION_STRATEGIES}"
            )
        if self.allocation_conflict_retry_count < 0:
            raise ConfigError("allocation_conflict_retry_count must be >= 0")
        if self.workers < 1:
            raise ConfigError("workers must be >= 1")
        if self.log_format not in ("plain", "json"):
            raise ConfigError("log_format must be plain or json")
        for name in _POSITIVE_LIMITS:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0")
        return self

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes).validate()


# (section, option) in a placement.conf -> Settings field.
FILE_OPTIONS: dict[tuple[str, str], str] = {
    ("placement_database", "connection"): "database_url",
    ("placement_database", "sync_on_startup"): "sync_on_startup",
    ("api", "auth_strategy"): "auth_strategy",
    ("oslo_policy", "policy_file"): "policy_file",
    ("oslo_policy", "enforce_new_defaults"): "enforce_new_defaults",
    ("oslo_policy", "enforce_scope"): "enforce_scope",
    ("placement", "randomize_allocation_candidates"): "randomize_allocation_candidates",
    ("placement", "incomplete_consumer_project_id"): "incomplete_consumer_project_id",
    ("placement", "incomplete_consumer_user_id"): "incomplete_consumer_user_id",
    ("placement", "allocation_conflict_retry_count"): "allocation_conflict_retry_count",
    ("placement", "max_allocation_candidates"): "max_allocation_candidates",
    (
        "placement",
        "allocation_candidates_generation_strategy",
    ): "allocation_candidates_generation_strategy",
    ("workarounds", "optimize_for_wide_provider_trees"): "optimize_for_wide_provider_trees",
    ("cors", "allowed_origin"): "cors_allowed_origin",
    ("cors", "allow_credentials"): "cors_allow_credentials",
    ("cors", "max_age"): "cors_max_age",
    ("cors", "allow_methods"): "cors_allow_methods",
    ("cors", "allow_headers"): "cors_allow_headers",
    ("cors", "expose_headers"): "cors_expose_headers",
    ("allotment", "bind"): "bind",
    ("allotment", "workers"): "workers",
    ("allotment", "access_log"): "access_log",
    ("allotment", "log_format"): "log_format",
    ("DEFAULT", "debug"): "debug",
    # --- options of issue 17 ---
    ("allotment", "in_memory_candidates"): "in_memory_candidates",
    # --- options of issue 14 ---
    **{("allotment", name): name for name in LIMIT_OPTIONS},
    # --- options of issue 20 ---
    ("placement_database", "slave_connection"): "database_slave_url",
    # --- end of options of issue 20 ---
    # --- options of issue 21 ---
    ("allotment", "console"): "console",
}

_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _convert(name: str, raw: str) -> Any:
    kind = _FIELDS[name].type
    text = raw.strip()
    if kind == "bool":
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: {raw!r} is not a boolean")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{name}: {raw!r} is not an integer") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{name}: {raw!r} is not a number") from None
    if kind.startswith("tuple"):
        return tuple(item.strip() for item in text.split(",") if item.strip())
    if kind == "str | None":
        return text or None
    return text


def config_files(explicit: list[str] | None = None) -> list[Path]:
    """The files to read: the ones named, else ``$OS_PLACEMENT_CONFIG_DIR/placement.conf``."""
    if explicit:
        return [Path(p) for p in explicit]
    env_file = os.environ.get("ALLOTMENT_CONFIG_FILE")
    if env_file:
        return [Path(env_file)]
    config_dir = os.environ.get("OS_PLACEMENT_CONFIG_DIR")
    if config_dir and (Path(config_dir) / "placement.conf").exists():
        return [Path(config_dir) / "placement.conf"]
    return []


def read_files(paths: list[Path]) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    for path in paths:
        if not path.exists():
            raise ConfigError(f"config file not found: {path}")
        parser.read(path, encoding="utf-8")
    values: dict[str, Any] = {}
    if paths:
        # An upstream placement.conf that does not name a strategy means keystone.
        values["auth_strategy"] = "keystone"
    for (section, option), name in FILE_OPTIONS.items():
        if section == "DEFAULT":
            if option in parser.defaults():
                values[name] = _convert(name, parser.defaults()[option])
        elif parser.has_section(section) and parser.has_option(section, option):
            values[name] = _convert(name, parser.get(section, option))
    if paths:
        values["policy_file"] = _policy_path(paths, values.get("policy_file"))
    sections = {s: dict(parser.items(s)) for s in parser.sections()}
    return values, sections


def _policy_path(paths: list[Path], configured: str | None) -> str:
    """A relative ``[oslo_policy] policy_file`` (default ``policy.yaml``) lives
    next to the config file that names it (else the last one), as upstream."""
    name = os.path.expanduser(configured or "policy.yaml")
    if os.path.isabs(name):
        return name
    base = paths[-1].absolute().parent
    for path in reversed(paths):
        single = configparser.ConfigParser(interpolation=None, strict=False)
        single.read(path, encoding="utf-8")
        if single.has_option("oslo_policy", "policy_file"):
            base = path.absolute().parent
            break
    return str(base / name)


def read_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    for name in _FIELDS:
        if name == "sections":
            continue
        key = f"ALLOTMENT_{name.upper()}"
        if key in environ:
            values[name] = _convert(name, environ[key])
    return values


def load(
    config_file: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Settings from files, environment and overrides, validated."""
    file_values, sections = read_files(config_files(config_file))
    values = {**file_values, **read_environment(environ)}
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return Settings(sections=sections, **values).validate()
