"""``Settings``: every setting the code uses, typed, frozen and validated.

Built by ``allotment.config`` from placement.conf, the environment and
command-line overrides, or directly by programs and tests; passed explicitly
to whatever needs it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allotment.options import (
    AUTH_STRATEGIES,
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    DEFAULT_BIND,
    GENERATION_STRATEGIES,
    INCOMPLETE_CONSUMER_ID,
)

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
    """Every setting the code uses. Field defaults are for programs and tests that
    build ``Settings`` directly (an embedded SQLite, noauth2, schema upgraded on
    start); a config file's defaults are upstream's (see ``allotment.options``)."""

    database_url: str = field(default_factory=default_database_url)
    sync_on_startup: bool = True
    auth_strategy: str = "noauth2"
    policy_file: str | None = None
    policy_dirs: tuple[str, ...] = ()
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
    cors_allow_methods: tuple[str, ...] = CORS_ALLOW_METHODS
    cors_allow_headers: tuple[str, ...] = CORS_ALLOW_HEADERS
    cors_expose_headers: tuple[str, ...] = CORS_EXPOSE_HEADERS
    enable_proxy_headers_parsing: bool = False
    # [placement_database] engine and start-up options.
    connection_parameters: str = ""
    sqlite_synchronous: bool = True
    mysql_sql_mode: str = "TRADITIONAL"
    connection_recycle_time: int = 3600
    max_pool_size: int | None = None
    max_overflow: int | None = None
    pool_timeout: int | None = None
    max_retries: int = 10
    retry_interval: int = 10
    connection_debug: int = 0
    # Logging ([DEFAULT], oslo.log's names).
    debug: bool = False
    log_config_append: str | None = None
    log_date_format: str = "%Y-%m-%d %H:%M:%S"
    log_file: str | None = None
    log_dir: str | None = None
    watch_log_file: bool = False
    use_syslog: bool = False
    syslog_log_facility: str = "LOG_USER"
    use_journal: bool = False
    use_json: bool = False
    use_stderr: bool = False
    log_options: bool = True
    # [allotment]
    bind: str = DEFAULT_BIND
    workers: int = 2
    access_log: bool = True
    log_format: str = "plain"
    # A read-only replica for the reads that tolerate lag (see docs/scale-out.md).
    database_slave_url: str | None = None
    # Where the settings came from, and what to warn about at start-up.
    config_files: tuple[str, ...] = field(default=(), compare=False)
    embedded: bool = field(default=False, compare=False)
    notices: tuple[str, ...] = field(default=(), compare=False)
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
    # --- options of issue 21 ---
    console: bool = True
    # --- options of issue 19 ---
    # GET /metrics and the instrumentation behind it.
    metrics: bool = True
    # --- options of issue 17 ---
    # Candidate searches read a per-worker in-memory model of the providers,
    # kept fresh by the change feed (false: research by SQL on every request).
    in_memory_candidates: bool = True
    # Sections passed through untouched (e.g. [keystone_authtoken]).
    sections: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)

    @property
    def json_logs(self) -> bool:
        return self.use_json or self.log_format == "json"

    def validate(self) -> Settings:
        if self.auth_strategy not in AUTH_STRATEGIES:
            raise ConfigError(f"[api] auth_strategy must be one of {', '.join(AUTH_STRATEGIES)}")
        if self.allocation_candidates_generation_strategy not in GENERATION_STRATEGIES:
            raise ConfigError(
                "[placement] allocation_candidates_generation_strategy must be one of "
                + ", ".join(GENERATION_STRATEGIES)
            )
        if self.allocation_conflict_retry_count < 0:
            raise ConfigError("[placement] allocation_conflict_retry_count must be >= 0")
        if self.workers < 1:
            raise ConfigError("[allotment] workers must be >= 1")
        if self.log_format not in ("plain", "json"):
            raise ConfigError("[allotment] log_format must be plain or json")
        _check_bind(self.bind)
        for name in _POSITIVE_LIMITS:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0")
        return self

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes).validate()


def _check_bind(bind: str) -> None:
    host, sep, port = bind.rpartition(":")
    if not sep or not host:
        raise ConfigError(f"bind {bind!r}: expected HOST:PORT")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"bind {bind!r}: port must be a number from 1 to 65535")
