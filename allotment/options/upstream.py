"""The options upstream placement reads, section by section: placement's own and
those of the oslo libraries it takes them from (log, policy, middleware,
profiler), with upstream's names, types and defaults."""

from __future__ import annotations

from allotment.options.option import (
    AUTH_STRATEGIES,
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    GENERATION_STRATEGIES,
    INCOMPLETE_CONSUMER_ID,
    Option,
    cors_option,
    db_option,
    log_option,
    placement_option,
)

UPSTREAM_OPTIONS: tuple[Option, ...] = (
    # --- [DEFAULT]: oslo.log's options as placement registers them ---------------------
    log_option("debug", "bool", False, "Log at DEBUG level instead of INFO.", field="debug"),
    log_option(
        "log_config_append",
        "str",
        None,
        "A Python logging configuration file (fileConfig format) applied after our "
        "handlers are set up; the other logging options are then ignored.",
        field="log_config_append",
        deprecated_names=("log_config",),
    ),
    log_option(
        "log_date_format",
        "str",
        "%Y-%m-%d %H:%M:%S",
        "strftime format of the time stamp in plain log lines.",
        field="log_date_format",
    ),
    log_option(
        "log_file",
        "str",
        None,
        "Log to this file (relative names are under log_dir) instead of standard error.",
        field="log_file",
        deprecated_names=("logfile",),
    ),
    log_option(
        "log_dir",
        "str",
        None,
        "Directory for a relative log_file.",
        field="log_dir",
        deprecated_names=("logdir",),
    ),
    log_option(
        "watch_log_file",
        "bool",
        False,
        "Reopen log_file when it is moved or removed (logrotate without copytruncate).",
        field="watch_log_file",
    ),
    log_option("use_syslog", "bool", False, "Log to syslog (/dev/log).", field="use_syslog"),
    log_option(
        "syslog_log_facility",
        "str",
        "LOG_USER",
        "Syslog facility (LOG_USER, LOG_LOCAL0 ... LOG_LOCAL7, or user, local0 ...).",
        field="syslog_log_facility",
    ),
    log_option(
        "use_journal",
        "bool",
        False,
        "Log to the systemd journal (needs the systemd Python bindings; falls back "
        "to standard error with a warning).",
        field="use_journal",
    ),
    log_option(
        "use_json",
        "bool",
        False,
        "One JSON object per log line (same as [allotment] log_format = json).",
        field="use_json",
    ),
    log_option(
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
    db_option(
        "connection",
        "str",
        None,
        "SQLAlchemy URL of the database (sqlite, postgresql or mysql/mariadb). Required "
        "by the WSGI application.",
        field="database_url",
        secret=True,
    ),
    db_option(
        "connection_parameters",
        "str",
        "",
        "Extra query-string parameters added to the connection URL (e.g. "
        "connect_timeout=5&sslmode=require).",
        field="connection_parameters",
    ),
    db_option(
        "sqlite_synchronous",
        "bool",
        True,
        "False runs SQLite with PRAGMA synchronous = OFF (faster, unsafe on power loss).",
        field="sqlite_synchronous",
    ),
    db_option(
        "slave_connection",
        "str",
        None,
        "SQLAlchemy URL of a read-only replica, used for the reads that tolerate lag "
        "(allocation candidates; see docs/scale-out.md).",
        field="database_slave_url",
        secret=True,
    ),
    db_option(
        "mysql_sql_mode",
        "str",
        "TRADITIONAL",
        "SQL mode set on each MySQL/MariaDB session; empty leaves the server's default.",
        field="mysql_sql_mode",
    ),
    db_option(
        "connection_recycle_time",
        "int",
        3600,
        "Seconds after which a pooled connection is replaced.",
        field="connection_recycle_time",
    ),
    db_option(
        "max_pool_size",
        "int",
        None,
        "Connections kept open per worker process (0: no limit; unset: 10).",
        field="max_pool_size",
        min=0,
    ),
    db_option(
        "max_overflow",
        "int",
        None,
        "Connections opened beyond max_pool_size under load (unset: 20).",
        field="max_overflow",
    ),
    db_option(
        "pool_timeout",
        "int",
        None,
        "Seconds to wait for a free pooled connection (unset: 30).",
        field="pool_timeout",
        min=0,
    ),
    db_option(
        "max_retries",
        "int",
        10,
        "Attempts to reach the database at start-up (-1: forever).",
        field="max_retries",
        min=-1,
    ),
    db_option(
        "retry_interval",
        "int",
        10,
        "Seconds between the start-up attempts.",
        field="retry_interval",
        min=0,
    ),
    db_option(
        "connection_debug",
        "int",
        0,
        "SQL logging: 0 none, 50 statements (INFO), 100 statements and rows (DEBUG).",
        field="connection_debug",
        min=0,
        max=100,
    ),
    db_option(
        "connection_trace",
        "bool",
        False,
        "Upstream adds Python stack traces to SQL as comments.",
        unsupported="SQL statements carry no stack-trace comments",
    ),
    db_option(
        "sync_on_startup",
        "bool",
        False,
        "Upgrade the schema when the application starts (under a database-wide lock, "
        "so any number of workers may start at once).",
        field="sync_on_startup",
    ),
    # --- [placement] ----------------------------------------------------------------------
    placement_option(
        "randomize_allocation_candidates",
        "bool",
        False,
        "Return a random sample of candidates when limit is used, a shuffle otherwise.",
    ),
    placement_option(
        "incomplete_consumer_project_id",
        "str",
        INCOMPLETE_CONSUMER_ID,
        "Project recorded for consumers written before microversion 1.8.",
    ),
    placement_option(
        "incomplete_consumer_user_id",
        "str",
        INCOMPLETE_CONSUMER_ID,
        "User recorded for consumers written before microversion 1.8.",
    ),
    placement_option(
        "allocation_conflict_retry_count",
        "int",
        10,
        "Server-side retries of an allocation write that lost a generation race.",
        min=0,
    ),
    placement_option(
        "max_allocation_candidates",
        "int",
        -1,
        "Cap on candidates generated per request (-1: no cap).",
        min=-1,
    ),
    placement_option(
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
    cors_option(
        "allowed_origin",
        "list",
        (),
        "Origins allowed to call the API from a browser (CORS is off when empty).",
        "cors_allowed_origin",
    ),
    cors_option("allow_credentials", "bool", True, "Allow credentials.", "cors_allow_credentials"),
    cors_option(
        "expose_headers",
        "list",
        CORS_EXPOSE_HEADERS,
        "Headers exposed to the browser.",
        "cors_expose_headers",
    ),
    cors_option(
        "max_age", "int", 3600, "Seconds a preflight answer may be cached.", "cors_max_age"
    ),
    cors_option(
        "allow_methods", "list", CORS_ALLOW_METHODS, "Methods allowed.", "cors_allow_methods"
    ),
    cors_option(
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
)
