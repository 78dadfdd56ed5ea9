"""Authorization: every upstream policy name with its default rule.

The default rules are upstream's "new" defaults (admin or service for
everything; project readers may read their own ``/usages``; the reshaper
is for the service role only). ``enforce_new_defaults = False`` ORs in the
legacy ``role:admin`` rule as upstream does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from allotment.http.auth import RequestContext

ADMIN_OR_SERVICE = "role:admin or role:service"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
ADMIN_OR_PROJECT_READER_OR_SERVICE = f"role:admin or ({PROJECT_READER}) or role:service"
SERVICE = "role:service"
LEGACY = "role:admin"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    default: str
    description: str


def _crud(prefix: str, verbs: tuple[str, ...], what: str) -> list[Rule]:
    return [Rule(f"{prefix}:{verb}", ADMIN_OR_SERVICE, f"{verb} {what}") for verb in verbs]


RULES: tuple[Rule, ...] = (
    *_crud("placement:resource_providers", ("list", "create", "show", "update", "delete"),
           "resource providers"),
    *_crud("placement:resource_providers:inventories",
           ("list", "create", "show", "update", "delete"), "provider inventories"),
    *_crud("placement:resource_providers:aggregates", ("list", "update"), "provider aggregates"),
    Rule("placement:resource_providers:usages", ADMIN_OR_SERVICE, "show provider usages"),
    Rule("placement:usages", ADMIN_OR_PROJECT_READER_OR_SERVICE, "show project usages"),
    *_crud("placement:resource_providers:traits", ("list", "update", "delete"),
           "provider traits"),
    *_crud("placement:traits", ("list", "show", "update", "delete"), "traits"),
    *_crud("placement:resource_classes", ("list", "create", "show", "update", "delete"),
           "resource classes"),
    *_crud("placement:allocations", ("list", "update", "delete", "manage"), "allocations"),
    Rule("placement:resource_providers:allocations:list", ADMIN_OR_SERVICE,
         "list allocations on a provider"),
    Rule("placement:allocation_candidates:list", ADMIN_OR_SERVICE, "list allocation candidates"),
    Rule("placement:reshaper:reshape", SERVICE, "reshape provider inventories and allocations"),
)
RULES_BY_NAME: Mapping[str, Rule] = {rule.name: rule for rule in RULES}


class PolicyDenied(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"Policy does not allow {name} to be performed.")
        self.name = name


def _check_atom(atom: str, creds: dict[str, Any], target: dict[str, Any]) -> bool:
    kind, _, value = atom.partition(":")
    if kind == "role":
        return value.lower() in creds["roles"]
    if value.startswith("%(") and value.endswith(")s"):
        value = str(target.get(value[2:-2]))
    return str(creds.get(kind)) == value


class Enforcer:
    """Evaluates the default rules (a small subset of the oslo.policy language)."""

    def __init__(self, enforce_new_defaults: bool = True) -> None:
        self.enforce_new_defaults = enforce_new_defaults

    def rule_text(self, name: str) -> str:
        rule = RULES_BY_NAME[name].default
        if not self.enforce_new_defaults:
            rule = f"({rule}) or {LEGACY}"
        return rule

    def allowed(self, name: str, context: RequestContext, target: dict[str, Any]) -> bool:
        creds = context.policy_credentials()
        creds["roles"] = set(creds["roles"])
        return _evaluate(self.rule_text(name), creds, target)

    def authorize(self, name: str, context: RequestContext, target: dict[str, Any]) -> None:
        if not self.allowed(name, context, target):
            raise PolicyDenied(name)


def _evaluate(rule: str, creds: dict[str, Any], target: dict[str, Any]) -> bool:
    """Evaluate ``a or (b and c)`` over role/credential atoms."""
    tokens = rule.replace("(", " ( ").replace(")", " ) ").split()
    pos = 0

    def parse_or() -> bool:
        nonlocal pos
        result = parse_and()
        while pos < len(tokens) and tokens[pos] == "or":
            pos += 1
            result = parse_and() or result
        return result

    def parse_and() -> bool:
        nonlocal pos
        result = parse_atom()
        while pos < len(tokens) and tokens[pos] == "and":
            pos += 1
            result = parse_atom() and result
        return result

    def parse_atom() -> bool:
        nonlocal pos
        token = tokens[pos]
        pos += 1
        if token == "(":
            result = parse_or()
            pos += 1  # ")"
            return result
        if token == "not":
            return not parse_atom()
        return _check_atom(token, creds, target)

    return parse_or()
