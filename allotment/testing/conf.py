"""The placement options on an oslo.config ``ConfigOpts``, for the test fixture.

Upstream's fixture is configured through an oslo.config ``Config`` fixture:
callers set ``[placement] max_allocation_candidates`` and friends with
``conf_fixture.config(group=..., **options)``, also after the fixture has
started. ``register_opts(conf)`` declares every option of allotment's option
registry (``allotment.config``: upstream's names in upstream's groups; an
option already registered is left alone) and ``settings_from_conf(conf)``
returns the ``Settings`` fields a request reads, as ``conf`` holds them now:
the ``[placement]`` and ``[workarounds]`` options.
"""

from __future__ import annotations

from typing import Any

from allotment import config

# The fields a request reads from the settings: changing them through the conf
# after start takes effect on the next request.
PER_REQUEST_FIELDS = frozenset(
    option.field
    for option in config.all_options()
    if option.group in ("placement", "workarounds") and option.field
)


def register_opts(conf: Any) -> None:
    """Declare every placement option on ``conf``; already known ones are kept."""
    config.register_opts(conf)


def value(conf: Any, group: str, name: str) -> Any:
    """The option's current value, ``None`` when it is not registered."""
    try:
        return getattr(getattr(conf, group), name)
    except Exception:  # noqa: BLE001 - oslo.config raises several kinds for "not there"
        return None


def settings_from_conf(conf: Any) -> dict[str, Any]:
    """The per-request ``Settings`` fields as ``conf`` holds them now."""
    values = config.conf_values(getattr(conf, "conf", conf))
    return {name: values[name] for name in PER_REQUEST_FIELDS if name in values}
