"""Our rules as oslo.policy objects, for the ``oslopolicy-*`` tools.

Registered as the ``oslo.policy.policies`` and ``oslo.policy.enforcer``
entry points under the name ``placement`` (upstream's namespace), so
``oslopolicy-sample-generator --namespace placement``,
``oslopolicy-policy-generator``, ``oslopolicy-list-redundant`` and
``oslopolicy-checker`` work when oslo.policy is installed. allotment itself
never imports oslo.policy: it evaluates the same rules with its own engine.
"""

from __future__ import annotations

from typing import Any

from allotment.http.policy import RULES, Rule


def _operations() -> dict[str, list[Any]]:
    from allotment.commands.policy import operations

    found: dict[str, list[Any]] = {}
    for name, ops in operations().items():
        found[name] = [{"method": op.split(" ", 1)[0], "path": op.split(" ", 1)[1]} for op in ops]
    return found


def _default(rule: Rule, ops: list[Any] | None) -> Any:
    from oslo_policy import policy

    deprecated = None
    if rule.deprecated:
        deprecated = policy.DeprecatedRule(
            name=rule.name,
            check_str=rule.deprecated,
            deprecated_reason="The placement API now supports system scope and default roles.",
            deprecated_since="W",
        )
    common: dict[str, Any] = {
        "name": rule.name,
        "check_str": rule.default,
        "description": rule.description,
        "scope_types": list(rule.scope_types) or None,
        "deprecated_rule": deprecated,
    }
    if ops:
        return policy.DocumentedRuleDefault(operations=ops, **common)
    return policy.RuleDefault(**common)


def list_rules() -> list[Any]:
    """``oslo.policy.policies`` entry point: every registered rule."""
    ops = _operations()
    return [_default(rule, ops.get(rule.name)) for rule in RULES]


def get_enforcer() -> Any:
    """``oslo.policy.enforcer`` entry point: an oslo.policy Enforcer over our rules,
    configured from placement.conf as the service is."""
    from oslo_config import cfg
    from oslo_policy import opts as policy_opts
    from oslo_policy import policy

    from allotment import config

    conf = cfg.ConfigOpts()
    for group, opts in policy_opts.list_opts():  # oslo.policy's own [oslo_policy]
        conf.register_opts(opts, group=group)
    conf = config.parse(conf=conf)
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(list_rules())
    return enforcer
