"""Upstream's policy names and their default rules, declared once.

Base rules (``admin_api``, ``service_api``, ``admin_or_service_api`` and the
project-reader ones) carry upstream's secure-RBAC ("new") defaults and, where
upstream deprecated the old default, the legacy check ``Enforcer`` ORs back in
when ``enforce_new_defaults`` is False. Every API policy points at one of the
base rules; ``allotment.http.routes`` names the policy of each route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PROJECT_SCOPE = ("project",)
# Upstream deprecated the pre-Wallaby "admin for everything" rule; it is
# OR'ed back into the base rules when new defaults are not enforced.
LEGACY_CHECK = "role:admin"

ADMIN_OR_SERVICE = "rule:admin_or_service_api"
SERVICE = "rule:service_api"
ADMIN_OR_PROJECT_READER_OR_SERVICE = "rule:admin_or_project_reader_or_service_api"


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered rule: its default check string and documentation."""

    name: str
    default: str
    description: str
    scope_types: tuple[str, ...] = ()
    # The legacy check OR'ed in when enforce_new_defaults is False.
    deprecated: str | None = None


BASE_RULES: tuple[Rule, ...] = (
    Rule("admin_api", "role:admin", "Default rule for admin-only APIs.", PROJECT_SCOPE),
    Rule(
        "service_api",
        "role:service",
        "Default rule for service-to-service APIs.",
        PROJECT_SCOPE,
        LEGACY_CHECK,
    ),
    Rule(
        "admin_or_service_api",
        "role:admin or role:service",
        "Default rule for most placement APIs.",
        PROJECT_SCOPE,
        LEGACY_CHECK,
    ),
    Rule(
        "project_reader_api",
        "role:reader and project_id:%(project_id)s",
        "Default rule for project level reader APIs.",
        (),
        LEGACY_CHECK,
    ),
    Rule(
        "admin_or_project_reader_or_service_api",
        "role:admin or rule:project_reader_api or role:service",
        "Default rule for project level reader APIs.",
        PROJECT_SCOPE,
        LEGACY_CHECK,
    ),
)


def _api(name: str, description: str, default: str = ADMIN_OR_SERVICE) -> Rule:
    return Rule(name, default, description, PROJECT_SCOPE)


def _crud(prefix: str, verbs: tuple[str, ...], what: str) -> list[Rule]:
    return [_api(f"{prefix}:{verb}", f"{verb.capitalize()} {what}.") for verb in verbs]


API_RULES: tuple[Rule, ...] = (
    *_crud(
        "placement:resource_providers",
        ("list", "create", "show", "update", "delete"),
        "resource providers",
    ),
    *_crud(
        "placement:resource_providers:inventories",
        ("list", "create", "show", "update", "delete"),
        "resource provider inventories",
    ),
    *_crud(
        "placement:resource_providers:aggregates",
        ("list", "update"),
        "resource provider aggregates",
    ),
    _api("placement:resource_providers:usages", "List resource provider usages."),
    _api(
        "placement:usages",
        "List total resource usages for a given project.",
        ADMIN_OR_PROJECT_READER_OR_SERVICE,
    ),
    *_crud(
        "placement:resource_providers:traits",
        ("list", "update", "delete"),
        "resource provider traits",
    ),
    *_crud("placement:traits", ("list", "show", "update", "delete"), "traits"),
    *_crud(
        "placement:resource_classes",
        ("list", "create", "show", "update", "delete"),
        "resource classes",
    ),
    _api("placement:allocations:list", "List allocations of a consumer."),
    _api("placement:allocations:update", "Update allocations of a consumer."),
    _api("placement:allocations:delete", "Delete allocations of a consumer."),
    _api("placement:allocations:manage", "Manage allocations of several consumers."),
    _api(
        "placement:resource_providers:allocations:list",
        "List allocations against a resource provider.",
    ),
    _api("placement:allocation_candidates:list", "List allocation candidates."),
    _api(
        "placement:allocation_candidates:explain",
        "Explain an allocation candidates query (allotment extension, not upstream).",
        "rule:admin_api",
    ),
    _api(
        "placement:reshaper:reshape",
        "Reshape inventories and allocations of several providers atomically.",
        SERVICE,
    ),
)
RULES: tuple[Rule, ...] = BASE_RULES + API_RULES
RULES_BY_NAME: Mapping[str, Rule] = {rule.name: rule for rule in RULES}
