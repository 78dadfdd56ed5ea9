"""The option registry: every configuration option, declared once.

Each ``Option`` names its section and option (as they appear in a
placement.conf), its type, default and help, who defines it (``source``:
upstream placement, the oslo library placement takes it from, or allotment
itself) and the ``Settings`` field it fills. ``allotment.config`` registers
these on an oslo.config ``ConfigOpts``; ``docs/configuration.md``, the
sample file (``allotment config sample``) and the ``ALLOTMENT_*``
environment variables all derive from this one list.

An option we accept but do not act on carries ``unsupported``: a warning
naming it is logged at start-up when it is set to anything but its default.
"""

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


def _db(name: str, kind: str, default: Any, help: str, **kw: Any) -> Option:
    return Option("placement_database", name, kind, default, help, "placement", **kw)


def _log(name: str, kind: str, default: Any, help: str, **kw: Any) -> Option:
    return Option("DEFAULT", name, kind, default, help, "oslo.log", **kw)


def _placement(name: str, kind: str, default: Any, help: str, **kw: Any) -> Option:
    return Option("placement", name, kind, default, help, "placement", field=name, **kw)


def _cors(name: str, kind: str, default: Any, help: str, field: str) -> Option:
    return Option("cors", name, kind, default, help, "oslo.middleware", field=field)


def _ours(name: str, kind: str, default: Any, help: str, **kw: Any) -> Option:
    return Option("allotment", name, kind, default, help, "allotment", field=name, **kw)


OPTIONS: tuple[Option, ...] = (
    # --- [DEFAULT]: oslo.log's options as placement registers them ---------------------
    _log("debug", "bool", False, "Log at DEBUG level instead of INFO.", field="debug"),
    _log(
        "log_config_append",
        "str",
        None,
        "A Python logging configuration file (fileConfig format) applied after our "
        "handlers are set up; the other logging options are then ignored.",
        field="log_config_append",
        deprecated_names=("log_config",),
    ),
    _log(
        "log_date_format",
        "str",
        "%Y-%m-%d %H:%M:%S",
        "strftime format of the time stamp in plain log lines.",
        field="log_date_format",
    ),
    _log(
        "log_file",
        "str",
        None,
        "Log to this file (relative names are under log_dir) instead of standard error.",
        field="log_file",
        deprecated_names=("logfile",),
    ),
    _log(
        "log_dir",
        "str",
        None,
        "Directory for a relative log_file.",
        field="log_dir",
        deprecated_names=("logdir",),
    ),
    _log(
        "watch_log_file",
        "bool",
        False,
        "Reopen log_file when it is moved or removed (logrotate without copytruncate).",
        field="watch_log_file",
    ),
    _log("use_syslog", "bool", False, "Log to syslog (/dev/log).", field="use_syslog"),
    _log(
        "syslog_log_facility",
        "str",
        "LOG_USER",
        "Syslog facility (LOG_USER, LOG_LOCAL0 ... LOG_LOCAL7, or user, local0 ...).",
        field="syslog_log_facility",
    ),
    _log(
        "use_journal",
        "bool",
        False,
        "Log to the systemd journal (needs the systemd Python bindings; falls back "
        "to standard error with a warning).",
        field="use_journal",
    ),
    _log(
        "use_json",
        "bool",
        False,
        "One JSON object per log line (same as [allotment] log_format = json).",
        field="use_json",
    ),
    _log(
        "use_stderr",
        "bool",
        False,
        "Also log to standard error when logging to a file, syslog or the journal.",
        field="use_stderr",
    ),
    Option(
        "DEFAULT",
        "log_options",
        "bool",
        True,
        "Log every option's value (secrets masked) at DEBUG level on start-up.",
        "placement",
        field="log_options",
    ),
    Option(
        "DEFAULT",
        "state_path",
        "str",
        None,
        "Upstream's top-level directory for state files.",
        "placement",
        unsupported="allotment keeps no state files outside the database",
    ),
    Option(
        "DEFAULT",
        "tempdir",
        "str",
        None,
        "Upstream's directory for temporary files.",
        "placement",
        unsupported="allotment uses the system's temporary directory",
    ),
    Option(
        "DEFAULT",
        "pybasedir",
        "str",
        None,
        "Upstream's Python source directory.",
        "placement",
        unsupported="not meaningful for allotment",
    ),
    # --- [api] --------------------------------------------------------------------------
    Option(
        "api",
        "auth_strategy",
        "str",
        "keystone",
        "How callers are authenticated: keystone (tokens checked by keystonemiddleware, "
        "configured in [keystone_authtoken]) or noauth2 (testing only: the token is "
        "user[:project] and the user admin is an administrator).",
        "placement",
        field="auth_strategy",
        choices=AUTH_STRATEGIES,
    ),
    # --- [placement_database] -------------------------------------------------------------
    _db(
        "connection",
        "str",
        None,
        "SQLAlchemy URL of the database (sqlite, postgresql or mysql/mariadb). Required "
        "by the WSGI application.",
        field="database_url",
        secret=True,
    ),
    _db(
        "connection_parameters",
        "str",
        "",
        "Extra query-string parameters added to the connection URL (e.g. "
        "connect_timeout=5&sslmode=require).",
        field="connection_parameters",
    ),
    _db(
        "sqlite_synchronous",
        "bool",
        True,
        "False runs SQLite with PRAGMA synchronous = OFF (faster, unsafe on power loss).",
        field="sqlite_synchronous",
    ),
    _db(
        "slave_connection",
        "str",
        None,
        "SQLAlchemy URL of a read-only replica, used for the reads that tolerate lag "
        "(allocation candidates; see docs/scale-out.md).",
        field="database_slave_url",
        secret=True,
    ),
    _db(
        "mysql_sql_mode",
        "str",
        "TRADITIONAL",
        "SQL mode set on each MySQL/MariaDB session; empty leaves the server's default.",
        field="mysql_sql_mode",
    ),
    _db(
        "connection_recycle_time",
        "int",
        3600,
        "Seconds after which a pooled connection is replaced.",
        field="connection_recycle_time",
    ),
    _db(
        "max_pool_size",
        "int",
        None,
        "Connections kept open per worker process (0: no limit; unset: 10).",
        field="max_pool_size",
        min=0,
    ),
    _db(
        "max_overflow",
        "int",
        None,
        "Connections opened beyond max_pool_size under load (unset: 20).",
        field="max_overflow",
    ),
    _db(
        "pool_timeout",
        "int",
        None,
        "Seconds to wait for a free pooled connection (unset: 30).",
        field="pool_timeout",
        min=0,
    ),
    _db(
        "max_retries",
        "int",
        10,
        "Attempts to reach the database at start-up (-1: forever).",
        field="max_retries",
        min=-1,
    ),
    _db(
        "retry_interval",
        "int",
        10,
        "Seconds between the start-up attempts.",
        field="retry_interval",
        min=0,
    ),
    _db(
        "connection_debug",
        "int",
        0,
        "SQL logging: 0 none, 50 statements (INFO), 100 statements and rows (DEBUG).",
        field="connection_debug",
        min=0,
        max=100,
    ),
    _db(
        "connection_trace",
        "bool",
        False,
        "Upstream adds Python stack traces to SQL as comments.",
        unsupported="SQL statements carry no stack-trace comments",
    ),
    _db(
        "sync_on_startup",
        "bool",
        False,
        "Upgrade the schema when the application starts (under a database-wide lock, "
        "so any number of workers may start at once).",
        field="sync_on_startup",
    ),
    # --- [placement] ----------------------------------------------------------------------
    _placement(
        "randomize_allocation_candidates",
        "bool",
        False,
        "Return a random sample of candidates when limit is used, a shuffle otherwise.",
    ),
    _placement(
        "incomplete_consumer_project_id",
        "str",
        INCOMPLETE_CONSUMER_ID,
        "Project recorded for consumers written before microversion 1.8.",
    ),
    _placement(
        "incomplete_consumer_user_id",
        "str",
        INCOMPLETE_CONSUMER_ID,
        "User recorded for consumers written before microversion 1.8.",
    ),
    _placement(
        "allocation_conflict_retry_count",
        "int",
        10,
        "Server-side retries of an allocation write that lost a generation race.",
        min=0,
    ),
    _placement(
        "max_allocation_candidates",
        "int",
        -1,
        "Cap on candidates generated per request (-1: no cap).",
        min=-1,
    ),
    _placement(
        "allocation_candidates_generation_strategy",
        "str",
        "depth-first",
        "depth-first, or breadth-first (round-robin across root providers).",
        choices=GENERATION_STRATEGIES,
    ),
    # --- [workarounds] --------------------------------------------------------------------
    Option(
        "workarounds",
        "optimize_for_wide_provider_trees",
        "bool",
        False,
        "Prune candidate combinations by capacity during generation.",
        "placement",
        field="optimize_for_wide_provider_trees",
    ),
    # --- [oslo_policy] --------------------------------------------------------------------
    Option(
        "oslo_policy",
        "policy_file",
        "str",
        "policy.yaml",
        "Policy overrides (YAML or JSON); a relative name is looked up next to the "
        "config file, as oslo.config does. Re-read when it changes.",
        "oslo.policy",
        field="policy_file",
    ),
    Option(
        "oslo_policy",
        "policy_dirs",
        "list",
        ("policy.d",),
        "Directories of further policy files (*.yaml, *.json, read in name order after "
        "policy_file); relative ones are looked up like policy_file.",
        "oslo.policy",
        field="policy_dirs",
    ),
    Option(
        "oslo_policy",
        "enforce_new_defaults",
        "bool",
        True,
        "False ORs the legacy (pre-Wallaby) rule into every default.",
        "oslo.policy",
        field="enforce_new_defaults",
    ),
    Option(
        "oslo_policy",
        "enforce_scope",
        "bool",
        True,
        "Check the token's scope against each rule's scope types.",
        "oslo.policy",
        field="enforce_scope",
    ),
    # --- [cors] ---------------------------------------------------------------------------
    _cors(
        "allowed_origin",
        "list",
        (),
        "Origins allowed to call the API from a browser (CORS is off when empty).",
        "cors_allowed_origin",
    ),
    _cors("allow_credentials", "bool", True, "Allow credentials.", "cors_allow_credentials"),
    _cors(
        "expose_headers",
        "list",
        CORS_EXPOSE_HEADERS,
        "Headers exposed to the browser.",
        "cors_expose_headers",
    ),
    _cors("max_age", "int", 3600, "Seconds a preflight answer may be cached.", "cors_max_age"),
    _cors("allow_methods", "list", CORS_ALLOW_METHODS, "Methods allowed.", "cors_allow_methods"),
    _cors(
        "allow_headers",
        "list",
        CORS_ALLOW_HEADERS,
        "Request headers allowed.",
        "cors_allow_headers",
    ),
    # --- [oslo_middleware] ----------------------------------------------------------------
    Option(
        "oslo_middleware",
        "enable_proxy_headers_parsing",
        "bool",
        False,
        "Trust Forwarded / X-Forwarded-Proto / X-Forwarded-Host / X-Forwarded-Prefix "
        "from a reverse proxy for the scheme, host and path prefix of links.",
        "oslo.middleware",
        field="enable_proxy_headers_parsing",
    ),
    # --- [profiler] -----------------------------------------------------------------------
    Option(
        "profiler",
        "enabled",
        "bool",
        False,
        "Upstream's osprofiler tracing.",
        "osprofiler",
        unsupported="osprofiler tracing is not supported",
    ),
    # --- [allotment]: our own ------------------------------------------------------------
    _ours("bind", "str", DEFAULT_BIND, "HOST:PORT `allotment serve` listens on."),
    _ours("workers", "int", 2, "Worker processes of `allotment serve`.", min=1),
    _ours("access_log", "bool", True, "One INFO line per request (logger allotment.access)."),
    _ours(
        "log_format",
        "str",
        "plain",
        "plain, or json: one JSON object per line (same as [DEFAULT] use_json).",
        choices=("plain", "json"),
    ),
    # Request limits and the slow-client front of `allotment serve` (docs/security.md).
    _ours("max_body_size", "int", 1048576, "Largest request body in bytes (413 above).", min=1),
    _ours(
        "max_list_items",
        "int",
        1000,
        "Most items in one JSON array or object of a body (traits, aggregates, consumers).",
        min=1,
    ),
    _ours("max_json_depth", "int", 32, "Deepest nesting of a JSON request body.", min=1),
    _ours("max_request_line", "int", 16384, "Longest request line in bytes (414).", min=1),
    _ours("max_header_size", "int", 32768, "Largest request header block (431).", min=1),
    _ours("header_timeout", "float", 30.0, "Seconds a client may take to send a head (408)."),
    _ours("body_timeout", "float", 60.0, "Seconds a client may take to send a body (408)."),
    _ours("keepalive_timeout", "float", 5.0, "Idle seconds a kept-alive connection is held."),
    _ours("keepalive_requests", "int", 1000, "Requests served on one connection.", min=1),
    _ours("max_connections", "int", 1000, "Open connections per worker (503 above).", min=1),
    _ours(
        "max_allocations_per_write",
        "int",
        1000,
        "(consumer, provider) pairs one POST /allocations or /reshaper may write: "
        "bounds how long one request holds the write lock.",
        min=1,
    ),
    # New capabilities, each with its own off switch.
    _ours("console", "bool", True, "Serve the operator console at /ui/ (docs/console.md)."),
    _ours("metrics", "bool", True, "Serve GET /metrics and record the metrics behind it."),
    _ours(
        "in_memory_candidates",
        "bool",
        True,
        "Search candidates in a per-worker in-memory model kept fresh by the change feed "
        "(false: research by SQL on every request).",
    ),
)

OPTIONS_BY_FIELD: dict[str, Option] = {o.field: o for o in OPTIONS if o.field}
