"""Settings read as upstream placement reads them: oslo.config and placement.conf.

The options are declared once, in ``allotment.options``. ``register_opts(conf)``
puts every one of them on an oslo.config ``ConfigOpts``; ``settings_from_conf``
turns a parsed ``ConfigOpts`` into the frozen ``Settings`` the rest of the code
takes. oslo.config itself does the parsing, so values mean exactly what they
mean to upstream: quotes, booleans, lists, ``$var`` interpolation, deprecated
names, the ``OS_<GROUP>__<OPTION>`` environment source and the default files
and ``.conf.d`` directories in oslo's search order.

Which files, first match wins: ``--config-file``/``--config-dir`` given on the
command line; ``ALLOTMENT_CONFIG_FILE``; ``$OS_PLACEMENT_CONFIG_DIR/placement.conf``
(as upstream's WSGI application); else oslo.config's search for project
``placement`` (``~/.placement/``, ``~/``, ``/etc/placement/``, ``/etc/``, with
their ``placement.conf.d`` directories).

Precedence, lowest first: the option's default, the config files,
``ALLOTMENT_<FIELD>`` environment variables, then explicit overrides (CLI flags).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from allotment.options import (
    AUTH_STRATEGIES,
    DEFAULT_BIND,
    GENERATION_STRATEGIES,
    INCOMPLETE_CONSUMER_ID,
    OPTIONS,
    OPTIONS_BY_FIELD,
    Option,
)
from allotment.settings import ConfigError, Settings

__all__ = [
    "AUTH_STRATEGIES",
    "DEFAULT_BIND",
    "GENERATION_STRATEGIES",
    "INCOMPLETE_CONSUMER_ID",
    "ConfigError",
    "Settings",
    "all_options",
    "load",
    "register_opts",
    "settings_from_conf",
]

PROJECT = "placement"

# Options added by other branches as (section, option) -> Settings field, before they
# were ported to ``allotment.options``: each is registered as a string option and
# converted by its Settings field's type. Prefer declaring an ``Option``.
FILE_OPTIONS: dict[tuple[str, str], str] = {}

_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _legacy_option(section: str, name: str, field_name: str) -> Option:
    kind = str(_FIELDS[field_name].type)
    typ = "bool" if kind == "bool" else "int" if kind.startswith("int") else "str"
    typ = "float" if kind == "float" else typ
    typ = "list" if kind.startswith("tuple") else typ
    default = _FIELDS[field_name].default
    return Option(section, name, typ, default, f"Settings.{field_name}", "allotment", field_name)


def all_options() -> tuple[Option, ...]:
    """The registry: ``allotment.options.OPTIONS`` plus any FILE_OPTIONS entries."""
    extra = tuple(
        _legacy_option(section, name, field_name)
        for (section, name), field_name in FILE_OPTIONS.items()
        if field_name not in OPTIONS_BY_FIELD
    )
    return OPTIONS + extra


def _oslo_opt(option: Option) -> Any:
    from oslo_config import cfg

    group = None if option.group == "DEFAULT" else option.group
    kwargs: dict[str, Any] = {
        "default": list(option.default) if isinstance(option.default, tuple) else option.default,
        "help": option.help,
        "secret": option.secret,
        "deprecated_opts": [cfg.DeprecatedOpt(old, group=group) for old in option.deprecated_names],
    }
    if option.type == "bool":
        return cfg.BoolOpt(option.name, **kwargs)
    if option.type == "int":
        return cfg.IntOpt(option.name, min=option.min, max=option.max, **kwargs)
    if option.type == "list":
        return cfg.ListOpt(option.name, **kwargs)
    if option.type == "float":
        return cfg.FloatOpt(option.name, **kwargs)
    return cfg.StrOpt(option.name, choices=option.choices, **kwargs)


def register_opts(conf: Any) -> None:
    """Register every option (upstream placement's and ours) on an oslo.config
    ``ConfigOpts``. An option the caller already registered (e.g. oslo.log's
    ``debug``) is left as it is."""
    from oslo_config import cfg

    for option in all_options():
        group = None if option.group == "DEFAULT" else option.group
        try:
            conf.register_opt(_oslo_opt(option), group=group)
        except cfg.DuplicateOptError:
            pass


def list_opts() -> list[tuple[str, list[Any]]]:
    """``oslo.config.opts`` entry point: oslo-config-generator --namespace placement."""
    groups: dict[str, list[Any]] = {}
    for option in all_options():
        groups.setdefault(option.group, []).append(_oslo_opt(option))
    return list(groups.items())


def _conf_value(conf: Any, option: Option) -> Any:
    from oslo_config import cfg

    try:
        node = conf if option.group == "DEFAULT" else getattr(conf, option.group)
        value = getattr(node, option.name)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return option.default
    except (cfg.ConfigFileValueError, ValueError) as error:
        raise ConfigError(f"{option.key}: {_oslo_message(error)}") from None
    except cfg.Error as error:
        raise ConfigError(f"{option.key}: {_oslo_message(error)}") from None
    return tuple(value) if isinstance(value, list) else value


def _oslo_message(error: Exception) -> str:
    return " ".join(str(error).split())


def conf_values(conf: Any) -> dict[str, Any]:
    """Settings field values from a parsed ``ConfigOpts`` (every registered option)."""
    values: dict[str, Any] = {}
    for option in all_options():
        if option.field is None:
            continue
        value = _conf_value(conf, option)
        if option.field == "database_url":
            if value:
                values["database_url"] = value
            continue
        values[option.field] = value
    return values


def startup_notices(conf: Any) -> tuple[str, ...]:
    """A warning for each option set that we accept but do not act on."""
    found = []
    for option in all_options():
        if option.unsupported and _conf_value(conf, option) not in (option.default, None, ""):
            found.append(f"{option.key} is set but ignored: {option.unsupported}")
    return tuple(found)


def settings_from_conf(conf: Any, **overrides: Any) -> Settings:
    """The ``Settings`` for a parsed oslo.config ``ConfigOpts`` (e.g. a test's
    ``conf_fixture.conf``). Call ``register_opts(conf)`` first; unregistered options
    keep their registry default."""
    conf = getattr(conf, "conf", conf)  # an oslo_config.fixture.Config
    values = conf_values(conf)
    values["notices"] = startup_notices(conf)
    values.update(overrides)
    return Settings(**values).validate()


# --------------------------------------------------------------------------
# Finding and reading the files.


def search(
    config_files: list[str] | None, config_dirs: list[str] | None, environ: dict[str, str]
) -> tuple[list[str] | None, list[str] | None]:
    """(default_config_files, default_config_dirs) to hand to oslo.config:
    None means oslo.config's own search for project ``placement``."""
    if config_files or config_dirs:
        return list(config_files or []), list(config_dirs or [])
    if environ.get("ALLOTMENT_CONFIG_FILE"):
        return [environ["ALLOTMENT_CONFIG_FILE"]], []
    dirname = environ.get("OS_PLACEMENT_CONFIG_DIR", "").strip()
    if dirname:
        return [os.path.join(dirname, "placement.conf")], []
    return None, None


def parse(
    config_files: list[str] | None = None,
    config_dirs: list[str] | None = None,
    environ: dict[str, str] | None = None,
    conf: Any = None,
) -> Any:
    """A ``ConfigOpts`` (``conf``, or a new one) with every option registered and
    the files parsed. Options ``conf`` already holds are kept as registered."""
    from oslo_config import cfg

    # oslo.config's own OS_<GROUP>__<OPTION> environment source reads os.environ:
    # used unless the caller passed an environment of its own (tests).
    use_env = environ is None
    environ = dict(os.environ if environ is None else environ)
    files, dirs = search(config_files, config_dirs, environ)
    for path in files or []:
        if not os.path.isfile(path):
            raise ConfigError(f"config file not found: {path}")
    for path in dirs or []:
        if not os.path.isdir(path):
            raise ConfigError(f"config directory not found: {path}")
    conf = cfg.ConfigOpts() if conf is None else conf
    register_opts(conf)
    try:
        conf(
            [],
            project=PROJECT,
            prog=PROJECT,
            default_config_files=files,
            default_config_dirs=dirs,
            use_env=use_env,
        )
    except cfg.ConfigFilesPermissionDeniedError as error:
        raise ConfigError(f"cannot read config file: {_oslo_message(error)}") from None
    except cfg.ConfigFilesNotFoundError as error:
        raise ConfigError(_oslo_message(error)) from None
    except cfg.ConfigFileParseError as error:
        raise ConfigError(_oslo_message(error)) from None
    except cfg.Error as error:
        raise ConfigError(_oslo_message(error)) from None
    return conf


def files_read(conf: Any) -> list[str]:
    """The files oslo.config read, in its order (files, then each directory's *.conf)."""
    found = [os.path.abspath(p) for p in conf.config_file or []]
    dirs = conf.config_dir
    for directory in [dirs] if isinstance(dirs, str) else list(dirs or []):
        found += sorted(str(p.absolute()) for p in Path(directory).glob("*.conf"))
    return list(dict.fromkeys(found))  # project and prog are both "placement"


def raw_sections(paths: list[str]) -> dict[str, dict[str, str]]:
    """Each section's raw values (last one wins, quotes stripped as oslo.config does),
    for sections configured by other libraries (``[keystone_authtoken]``)."""
    from oslo_config import cfg

    merged: dict[str, dict[str, str]] = {}
    for path in paths:
        sections: dict[str, dict[str, list[str]]] = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except cfg.ParseError as error:
            raise ConfigError(_oslo_message(error)) from None
        for name, options in sections.items():
            target = merged.setdefault(name, {})
            for key, values in options.items():
                target[key] = values[-1]
    return merged


# Sections whose every option we know: anything else in them is a typo or an
# option of another release, and is named at start-up rather than ignored silently.
CHECKED_SECTIONS = ("placement_database", "placement", "api", "workarounds", "allotment")


def unknown_options(sections: dict[str, dict[str, str]]) -> tuple[str, ...]:
    known: dict[str, set[str]] = {}
    for option in all_options():
        known.setdefault(option.group, set()).update((option.name, *option.deprecated_names))
    found = []
    for section in CHECKED_SECTIONS:
        for name in sections.get(section, {}):
            if name not in known.get(section, set()):
                found.append(f"[{section}] {name} is not an option allotment knows; ignored")
    return tuple(found)


def _policy_path(conf: Any, configured: str | None) -> str | None:
    """A relative ``[oslo_policy] policy_file`` is found as oslo.policy finds it:
    through oslo.config's ``find_file`` (next to the config files)."""
    name = os.path.expanduser(configured or "policy.yaml")
    if os.path.isabs(name):
        return name
    found = conf.find_file(name)
    if found:
        return str(Path(found).absolute())
    paths = files_read(conf)
    return str(Path(paths[-1]).parent / name) if paths else name


def _policy_dirs(conf: Any, dirs: tuple[str, ...]) -> tuple[str, ...]:
    resolved = []
    for name in dirs:
        name = os.path.expanduser(name)
        if os.path.isabs(name):
            resolved.append(name)
            continue
        found = conf.find_file(name)
        if found:
            resolved.append(str(Path(found).absolute()))
    return tuple(resolved)


def read_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``ALLOTMENT_<FIELD>`` variables, parsed by the field's option type."""
    from oslo_config import types

    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    options = {o.field: o for o in all_options() if o.field}
    for name in _FIELDS:
        key = f"ALLOTMENT_{name.upper()}"
        if key not in environ or name in ("sections", "notices", "embedded", "config_files"):
            continue
        option = options.get(name)
        kind = option.type if option else "str"
        raw = environ[key]
        try:
            if kind == "bool":
                values[name] = types.Boolean()(raw)
            elif kind == "int":
                values[name] = types.Integer()(raw) if raw.strip() else None
            elif kind == "list":
                values[name] = tuple(types.List()(raw))
            elif kind == "float":
                values[name] = types.Float()(raw)
            else:
                values[name] = raw
        except ValueError as error:
            raise ConfigError(f"{key}: {_oslo_message(error)}") from None
    return values


def load(
    config_file: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    *,
    config_dir: list[str] | None = None,
    require_database: bool = False,
) -> Settings:
    """Settings from the config files, environment and overrides, validated.

    When no config file is found the settings are ``embedded`` (for
    ``allotment serve`` and the other commands): noauth2 and the schema upgraded
    on start unless the environment says otherwise, and a SQLite file in the
    data directory unless a database is named. ``require_database`` (the WSGI
    application) refuses a configuration without a database instead, and keeps
    upstream's defaults (keystone, no upgrade on start) even without a file.
    """
    conf = parse(config_file, config_dir, environ)
    environ = dict(os.environ if environ is None else environ)
    paths = files_read(conf)
    values = conf_values(conf)
    values["policy_file"] = _policy_path(conf, values.get("policy_file")) if paths else None
    values["policy_dirs"] = _policy_dirs(conf, values.get("policy_dirs", ())) if paths else ()
    env_values = read_environment(environ)
    explicit = {k: v for k, v in (overrides or {}).items() if v is not None}
    has_database = any("database_url" in d for d in (values, env_values, explicit))
    if require_database and not has_database:
        if paths:
            raise ConfigError(
                "no database configured: set [placement_database] connection in " + ", ".join(paths)
            )
        raise ConfigError(
            "no configuration found: create /etc/placement/placement.conf (or set "
            "OS_PLACEMENT_CONFIG_DIR) with [placement_database] connection"
        )
    embedded = not paths and not require_database
    if embedded:
        values.update(auth_strategy="noauth2", sync_on_startup=True)
    values.update(env_values)
    values.update(explicit)
    sections = raw_sections(paths)
    values.update(
        config_files=tuple(paths),
        embedded=embedded,
        notices=startup_notices(conf) + unknown_options(sections),
        sections=sections,
    )
    try:
        return Settings(**values).validate()
    except TypeError as error:  # a value of the wrong type from an override
        raise ConfigError(str(error)) from None
