"""The route table: every URL, its methods, handler, policy and first microversion.

Unknown paths are 404; known paths with another method are 405 with an
``Allow`` header; a route asked for below its first microversion is 404
(``below_status`` covers upstream's one 405 exception).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from allotment.http import microversion as mv
from allotment.http.handlers import (
    aggregate,
    allocation,
    allocation_candidate,
    allocation_candidate_explain,
    inventory,
    reshaper,
    resource_class,
    resource_provider,
    root,
    trait,
    usage,
)
from allotment.http.request import Request, Response

Handler = Callable[[Request], Response]
# Policy target for most routes is the caller's own project and user.
TargetFn = Callable[[Request], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    handler: Handler
    policy: str | None
    min_version: mv.Version = mv.MIN_VERSION
    below_status: int = 404
    target: TargetFn | None = None
    # The handler reads a JSON body: a request without the application/json
    # content type is refused (415) before authorization, as upstream does.
    # ``body_before`` limits that to microversions below it.
    body: bool = False
    body_before: mv.Version | None = None

    def needs_json(self, version: mv.Version) -> bool:
        return self.body and (self.body_before is None or version < self.body_before)


@dataclass(frozen=True, slots=True)
class Route:
    template: str
    methods: dict[str, Endpoint]
    pattern: re.Pattern[str]

    @property
    def allow(self) -> str:
        return ", ".join(sorted(self.methods))


def _route(template: str, **methods: Endpoint) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(template, methods, re.compile(f"^{regex}$"))


E = Endpoint
RP = "placement:resource_providers"
INV = "placement:resource_providers:inventories"

ROUTES: tuple[Route, ...] = (
    _route("/", GET=E(root.get_root, None)),
    _route(
        "/resource_providers",
        GET=E(resource_provider.list_resource_providers, f"{RP}:list"),
        POST=E(resource_provider.create_resource_provider, f"{RP}:create", body=True),
    ),
    _route(
        "/resource_providers/{uuid}",
        GET=E(resource_provider.get_resource_provider, f"{RP}:show"),
        PUT=E(resource_provider.update_resource_provider, f"{RP}:update", body=True),
        DELETE=E(resource_provider.delete_resource_provider, f"{RP}:delete"),
    ),
    _route(
        "/resource_providers/{uuid}/inventories",
        GET=E(inventory.get_inventories, f"{INV}:list"),
        PUT=E(inventory.set_inventories, f"{INV}:update", body=True),
        POST=E(inventory.create_inventory, f"{INV}:create", body=True),
        DELETE=E(inventory.delete_inventories, f"{INV}:delete", mv.DELETE_ALL_INVENTORIES, 405),
    ),
    _route(
        "/resource_providers/{uuid}/inventories/{resource_class}",
        GET=E(inventory.get_inventory, f"{INV}:show"),
        PUT=E(inventory.update_inventory, f"{INV}:update", body=True),
        DELETE=E(inventory.delete_inventory, f"{INV}:delete"),
    ),
    _route(
        "/resource_providers/{uuid}/aggregates",
        GET=E(aggregate.get_aggregates, f"{RP}:aggregates:list", mv.AGGREGATES),
        PUT=E(aggregate.set_aggregates, f"{RP}:aggregates:update", mv.AGGREGATES, body=True),
    ),
    _route(
        "/resource_providers/{uuid}/usages",
        GET=E(usage.get_provider_usages, f"{RP}:usages"),
    ),
    _route(
        "/resource_providers/{uuid}/traits",
        GET=E(trait.get_provider_traits, f"{RP}:traits:list", mv.TRAITS),
        PUT=E(trait.set_provider_traits, f"{RP}:traits:update", mv.TRAITS, body=True),
        DELETE=E(trait.delete_provider_traits, f"{RP}:traits:delete", mv.TRAITS),
    ),
    _route(
        "/resource_providers/{uuid}/allocations",
        GET=E(allocation.list_provider_allocations, f"{RP}:allocations:list"),
    ),
    _route(
        "/resource_classes",
        GET=E(
            resource_class.list_resource_classes,
            "placement:resource_classes:list",
            mv.RESOURCE_CLASSES,
        ),
        POST=E(
            resource_class.create_resource_class,
            "placement:resource_classes:create",
            mv.RESOURCE_CLASSES,
            body=True,
        ),
    ),
    _route(
        "/resource_classes/{name}",
        GET=E(
            resource_class.get_resource_class,
            "placement:resource_classes:show",
            mv.RESOURCE_CLASSES,
        ),
        PUT=E(
            resource_class.update_resource_class,
            "placement:resource_classes:update",
            mv.RESOURCE_CLASSES,
            body=True,
            body_before=mv.RESOURCE_CLASS_PUT_CREATES,
        ),
        DELETE=E(
            resource_class.delete_resource_class,
            "placement:resource_classes:delete",
            mv.RESOURCE_CLASSES,
        ),
    ),
    _route("/traits", GET=E(trait.list_traits, "placement:traits:list", mv.TRAITS)),
    _route(
        "/traits/{name}",
        GET=E(trait.get_trait, "placement:traits:show", mv.TRAITS),
        PUT=E(trait.put_trait, "placement:traits:update", mv.TRAITS),
        DELETE=E(trait.delete_trait, "placement:traits:delete", mv.TRAITS),
    ),
    _route(
        "/allocations",
        POST=E(
            allocation.set_allocations_for_consumers,
            "placement:allocations:manage",
            mv.POST_ALLOCATIONS,
            body=True,
        ),
    ),
    _route(
        "/allocations/{consumer_uuid}",
        GET=E(allocation.list_allocations, "placement:allocations:list"),
        PUT=E(allocation.set_allocations, "placement:allocations:update", body=True),
        DELETE=E(allocation.delete_allocations, "placement:allocations:delete"),
    ),
    _route(
        "/allocation_candidates",
        GET=E(
            allocation_candidate.list_allocation_candidates,
            "placement:allocation_candidates:list",
            mv.ALLOCATION_CANDIDATES,
        ),
    ),
    # An allotment extension (docs/explain.md): not part of upstream's API.
    _route(
        "/allocation_candidates/explain",
        GET=E(
            allocation_candidate_explain.explain_allocation_candidates,
            "placement:allocation_candidates:explain",
            mv.ALLOCATION_CANDIDATES,
        ),
    ),
    _route(
        "/usages",
        GET=E(
            usage.get_total_usages, "placement:usages", mv.USAGES, target=usage.usages_policy_target
        ),
    ),
    _route(
        "/reshaper", POST=E(reshaper.reshape, "placement:reshaper:reshape", mv.RESHAPER, body=True)
    ),
)


def match(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``path`` and its path parameters, or None."""
    path = path or "/"
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            return route, found.groupdict()
    return None
