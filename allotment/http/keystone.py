"""``auth_strategy = keystone``: tokens validated by keystonemiddleware's auth_token.

Needs the optional dependency (``pip install 'allotment[keystone]'``). The
middleware is configured from the ``[keystone_authtoken]`` section of the
config file exactly as upstream placement's is (``www_authenticate_uri``,
``auth_type = password``, ``auth_url``, ``username``, ``password``,
``project_name``, ``user_domain_name``, ``project_domain_name``,
``memcached_servers``, ``service_token_roles_required``, ``auth_section``,
...), through a private oslo.config object so that nothing global is touched.
The root document is served without a token, as upstream does.

keystonemiddleware removes identity headers a client sent, validates the
token (``X-Auth-Token``, and a service token in ``X-Service-Token``) and
sets ``X-User-Id``, ``X-Project-Id``, ``X-Roles``, ``OpenStack-System-Scope``
and friends, which ``allotment.http.auth.ContextMiddleware`` reads. An
invalid or missing token is a 401 from keystonemiddleware with a
``WWW-Authenticate: Keystone uri=...`` header.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from allotment.config import ConfigError, Settings
from allotment.http.auth import WSGIApp, is_open_path

LOG = logging.getLogger(__name__)

GROUP = "keystone_authtoken"


def _opts_by_name(opts: list[Any]) -> dict[str, Any]:
    """Each option under its name and its deprecated names."""
    found: dict[str, Any] = {}
    for opt in opts:
        # Config files spell keystoneauth's "auth-url" as auth_url.
        found[opt.dest] = opt
        found[opt.name.replace("-", "_")] = opt
        for old in opt.deprecated_opts:
            if old.name and old.group in (None, GROUP):
                found.setdefault(old.name.replace("-", "_"), opt)
    return found


def _apply(conf: Any, group: str, values: Mapping[str, str], opts: list[Any]) -> None:
    """Set each known option of ``group`` from the config file section."""
    known = _opts_by_name(opts)
    for key, value in values.items():
        opt = known.get(key)
        if opt is None:
            # The section may carry [DEFAULT] values and options of other
            # tools; oslo.config ignores unknown options the same way.
            LOG.debug("[%s] %s is not a keystonemiddleware option; ignored", group, key)
            continue
        try:
            conf.set_override(opt.dest, value, group=group)
        except ValueError as error:
            raise ConfigError(f"[{group}] {key}: {error}") from None


def build_conf(sections: Mapping[str, Mapping[str, str]]) -> Any:
    """A private oslo.config object holding the ``[keystone_authtoken]`` options."""
    from keystoneauth1 import exceptions as ksa_exceptions
    from keystoneauth1 import loading
    from keystonemiddleware import auth_token
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    conf([], project="allotment", default_config_files=[], default_config_dirs=[])
    token_opts: list[Any] = []
    for group, opts in auth_token.list_opts():
        conf.register_opts(opts, group=group)
        if group == GROUP:
            token_opts = list(opts)
    section = sections.get(GROUP, {})
    _apply(conf, GROUP, section, token_opts)

    # The auth plugin (the service user that validates tokens) may be
    # configured in another section named by auth_section.
    plugin_group = section.get("auth_section") or GROUP
    plugin_section = sections.get(plugin_group, {})
    common = loading.get_auth_common_conf_options()
    if plugin_group != GROUP:
        conf.register_opts(common, group=plugin_group)
        _apply(conf, plugin_group, plugin_section, common)
    auth_type = plugin_section.get("auth_type")
    if auth_type:
        try:
            loader: Any = loading.get_plugin_loader(auth_type)
        except ksa_exceptions.NoMatchingPlugin:
            raise ConfigError(f"[{plugin_group}] auth_type: unknown plugin {auth_type!r}") from None
        plugin_opts = loading.get_auth_plugin_conf_options(loader)
        conf.register_opts(plugin_opts, group=plugin_group)
        _apply(conf, plugin_group, plugin_section, plugin_opts)
    return conf


class _OpenRoot:
    """Serves the root document without a token; everything else is checked."""

    def __init__(self, protected: WSGIApp, app: WSGIApp):
        self.protected = protected
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if is_open_path(environ):
            return self.app(environ, start_response)
        return self.protected(environ, start_response)


def _auth_token() -> Any:
    try:
        from keystonemiddleware import auth_token
    except ImportError:
        raise ConfigError(
            "auth_strategy = keystone needs keystonemiddleware: pip install 'allotment[keystone]'"
        ) from None
    return auth_token


def check(settings: Settings) -> None:
    """Raise ConfigError if keystone authentication cannot be set up."""
    _auth_token()
    build_conf(settings.sections)


def wrap(app: WSGIApp, settings: Settings) -> WSGIApp:
    """``app`` behind keystonemiddleware's auth_token, configured from ``settings``."""
    auth_token = _auth_token()
    conf = build_conf(settings.sections)
    protocol = auth_token.AuthProtocol(app, {"oslo_config_config": conf})
    return _OpenRoot(protocol, app)
