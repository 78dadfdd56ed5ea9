"""The placement options on an oslo.config ``ConfigOpts``, for the test fixture.

Upstream's fixture is configured through an oslo.config ``Config`` fixture:
callers set ``[placement] max_allocation_candidates`` and friends with
``conf_fixture.config(group=..., **options)``, also after the fixture has
started. ``register_opts(conf)`` declares the options the fixture reads (the
upstream names, in their upstream groups; an option already registered is
left alone) and ``settings_from_conf(conf)`` turns their current values into
``Settings`` fields.
"""

from __future__ import annotations

from typing import Any

from allotment.config import GENERATION_STRATEGIES, INCOMPLETE_CONSUMER_ID

# (group, option, kind, default, Settings field or None). ``None``: accepted for
# compatibility, nothing in allotment reads it.
OPTIONS: tuple[tuple[str, str, str, Any, str | None], ...] = (
    ("api", "auth_strategy", "str", "keystone", None),
    ("placement_database", "connection", "str", None, None),
    ("placement_database", "sync_on_startup", "bool", False, None),
    (
        "placement",
        "randomize_allocation_candidates",
        "bool",
        False,
        "randomize_allocation_candidates",
    ),
    (
        "placement",
        "incomplete_consumer_project_id",
        "str",
        INCOMPLETE_CONSUMER_ID,
        "incomplete_consumer_project_id",
    ),
    (
        "placement",
        "incomplete_consumer_user_id",
        "str",
        INCOMPLETE_CONSUMER_ID,
        "incomplete_consumer_user_id",
    ),
    ("placement", "allocation_conflict_retry_count", "int", 10, "allocation_conflict_retry_count"),
    ("placement", "max_allocation_candidates", "int", -1, "max_allocation_candidates"),
    (
        "placement",
        "allocation_candidates_generation_strategy",
        "str",
        "depth-first",
        "allocation_candidates_generation_strategy",
    ),
    (
        "workarounds",
        "optimize_for_wide_provider_trees",
        "bool",
        False,
        "optimize_for_wide_provider_trees",
    ),
    ("oslo_policy", "policy_file", "str", "policy.yaml", None),
    ("oslo_policy", "enforce_new_defaults", "bool", True, None),
    ("oslo_policy", "enforce_scope", "bool", True, None),
)


def _opt(name: str, kind: str, default: Any) -> Any:
    from oslo_config import cfg

    if kind == "bool":
        return cfg.BoolOpt(name, default=default)
    if kind == "int":
        return cfg.IntOpt(name, default=default)
    if name == "allocation_candidates_generation_strategy":
        return cfg.StrOpt(name, default=default, choices=GENERATION_STRATEGIES)
    return cfg.StrOpt(name, default=default)


def register_opts(conf: Any) -> None:
    """Declare the placement options on ``conf``; already known ones are kept."""
    from oslo_config import cfg

    for group, name, kind, default, _field in OPTIONS:
        try:
            conf.register_opt(_opt(name, kind, default), group=group)
        except cfg.DuplicateOptError:
            pass


def value(conf: Any, group: str, name: str) -> Any:
    """The option's current value, ``None`` when it is not registered."""
    try:
        return getattr(getattr(conf, group), name)
    except Exception:  # noqa: BLE001 - oslo.config raises several kinds for "not there"
        return None


def settings_from_conf(conf: Any) -> dict[str, Any]:
    """The per-request ``Settings`` fields as ``conf`` holds them now."""
    values: dict[str, Any] = {}
    for group, name, _kind, _default, field in OPTIONS:
        if field is None:
            continue
        current = value(conf, group, name)
        if current is not None:
            values[field] = current
    return values
