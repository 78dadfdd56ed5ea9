"""``allotment policy list``: every policy rule, its default and the rule in effect.

The effective rule accounts for ``[oslo_policy] enforce_new_defaults``
(legacy ``role:admin`` OR'ed into the base rules when False) and the policy
file; rules the file adds (helper rules) are listed after the registered
ones. A broken policy file is reported, like at start-up, with exit code 2.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, TextIO

from allotment.config import Settings
from allotment.http import routes
from allotment.http.policy import Effective, Enforcer, resolve_policy_file


def operations() -> dict[str, list[str]]:
    """Policy name -> the ``METHOD /path`` operations it guards, from the route table."""
    found: dict[str, list[str]] = defaultdict(list)
    for route in routes.ROUTES:
        for method, endpoint in sorted(route.methods.items()):
            if endpoint.policy:
                found[endpoint.policy].append(f"{method} {route.template}")
    return found


def describe(rule: Effective, ops: dict[str, list[str]]) -> dict[str, Any]:
    registered = rule.registered
    return {
        "name": rule.name,
        "default": registered.default if registered else None,
        "effective": rule.text,
        "source": rule.source,
        "scope_types": list(registered.scope_types) if registered else [],
        "description": registered.description if registered else "",
        "operations": ops.get(rule.name, []),
    }


def _print_text(settings: Settings, rules: list[dict[str, Any]], out: TextIO) -> None:
    path = resolve_policy_file(settings)
    print(
        f"# enforce_new_defaults = {settings.enforce_new_defaults}, "
        f"enforce_scope = {settings.enforce_scope}, policy file: {path or 'none'}",
        file=out,
    )
    for rule in rules:
        print(file=out)
        print(rule["name"], file=out)
        if rule["description"]:
            print(f"  description: {rule['description']}", file=out)
        print(
            f"  default:     {rule['default'] or '(not registered: defined by the policy file)'}",
            file=out,
        )
        print(f"  effective:   {rule['effective']}", file=out)
        print(f"  source:      {rule['source']}", file=out)
        if rule["scope_types"]:
            print(f"  scope:       {', '.join(rule['scope_types'])}", file=out)
        for operation in rule["operations"]:
            print(f"  operation:   {operation}", file=out)


def list_rules(settings: Settings, out: TextIO, as_json: bool = False) -> int:
    """Print every rule; raises PolicyFileError for a broken policy file."""
    enforcer = Enforcer.from_settings(settings)
    ops = operations()
    rules = [describe(rule, ops) for rule in enforcer.rules()]
    if as_json:
        print(json.dumps(rules, indent=2), file=out)
    else:
        _print_text(settings, rules, out)
    return 0
