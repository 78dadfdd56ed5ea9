"""The route table: every URL and method, with its handler, policy, first
microversion and its description (summary, query, body and response schemas,
error codes), from which ``allotment.openapi`` generates the API document.

``resolve`` sends a request to its endpoint or refuses it (404, 405 with
``Allow``) as ``allotment.http.routing`` decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from allotment.http import error_codes as codes
from allotment.http import microversion as mv
from allotment.http import routing
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
from allotment.http.routing import Endpoint, ResponsesFn, Route, SchemaFn, route
from allotment.http.schemas import aggregate as agg_schemas
from allotment.http.schemas import allocation as alloc_schemas
from allotment.http.schemas import allocation_candidate as candidate_schemas
from allotment.http.schemas import inventory as inv_schemas
from allotment.http.schemas import reshaper as reshaper_schemas
from allotment.http.schemas import resource_class as rc_schemas
from allotment.http.schemas import resource_provider as rp_schemas
from allotment.http.schemas import responses
from allotment.http.schemas import trait as trait_schemas
from allotment.http.schemas import usage as usage_schemas


def _const(schema: dict[str, Any]) -> SchemaFn:
    return lambda _version: schema


def _json(schema: Callable[[mv.Version], dict[str, Any] | None], status: int = 200) -> ResponsesFn:
    return lambda version: {status: schema(version)}


def _empty(*statuses: int) -> ResponsesFn:
    return lambda _version: dict.fromkeys(statuses)


def _strings(names: Callable[[mv.Version], Iterable[str]]) -> SchemaFn:
    """A query string of optional parameters, each a string, nothing else."""
    return lambda version: {
        "type": "object",
        "properties": {name: {"type": "string"} for name in sorted(names(version))},
        "additionalProperties": False,
    }


def _created_provider(version: mv.Version) -> dict[int, dict[str, Any] | None]:
    if version.matches(mv.CREATE_RETURNS_PROVIDER):
        return {200: responses.provider(version)}
    return {201: None}


def _put_resource_class(version: mv.Version) -> dict[int, dict[str, Any] | None]:
    if version.matches(mv.RESOURCE_CLASS_PUT_CREATES):
        return {201: None, 204: None}
    return {200: responses.resource_class(version)}


E = Endpoint
RP = "placement:resource_providers"
INV = "placement:resource_providers:inventories"
UNDEFINED = codes.UNDEFINED
CONFLICT: dict[int, tuple[str, ...]] = {409: (codes.CONCURRENT_UPDATE,)}
BAD: dict[int, tuple[str, ...]] = {400: (UNDEFINED,)}
BAD_OR_CONFLICT = {**BAD, **CONFLICT}
# The candidate query grammar's 400s, shared by the search and its explanation.
CANDIDATE_QUERY_ERRORS: dict[int, tuple[str, ...]] = {
    400: (
        UNDEFINED,
        codes.QUERY_DUPLICATE_KEY,
        codes.QUERY_BAD_VALUE,
        codes.QUERY_MISSING_VALUE,
    ),
}

ROUTES: tuple[Route, ...] = (
    route(
        "/",
        GET=E(
            root.get_root, None, summary="The version document.", responses=_json(responses.root)
        ),
    ),
    route(
        "/resource_providers",
        GET=E(
            resource_provider.list_resource_providers,
            f"{RP}:list",
            summary="List resource providers, optionally filtered.",
            query=_strings(rp_schemas.list_params),
            responses=_json(responses.providers),
            errors=BAD,
        ),
        POST=E(
            resource_provider.create_resource_provider,
            f"{RP}:create",
            summary="Create a resource provider.",
            body=rp_schemas.create_schema,
            responses=_created_provider,
            errors={**BAD, 409: (codes.DUPLICATE_NAME,)},
        ),
    ),
    route(
        "/resource_providers/{uuid}",
        GET=E(
            resource_provider.get_resource_provider,
            f"{RP}:show",
            summary="Show one resource provider.",
            responses=_json(responses.provider),
        ),
        PUT=E(
            resource_provider.update_resource_provider,
            f"{RP}:update",
            summary="Rename or re-parent a resource provider.",
            body=rp_schemas.update_schema,
            responses=_json(responses.provider),
            errors={**BAD, 409: (codes.DUPLICATE_NAME, codes.CONCURRENT_UPDATE)},
        ),
        DELETE=E(
            resource_provider.delete_resource_provider,
            f"{RP}:delete",
            summary="Delete a resource provider without allocations or children.",
            responses=_empty(204),
            errors={
                409: (
                    codes.PROVIDER_INUSE,
                    codes.PROVIDER_CANNOT_DELETE_PARENT,
                    codes.CONCURRENT_UPDATE,
                )
            },
        ),
    ),
    route(
        "/resource_providers/{uuid}/inventories",
        GET=E(
            inventory.get_inventories,
            f"{INV}:list",
            summary="List a provider's inventories.",
            responses=_json(responses.inventories),
        ),
        PUT=E(
            inventory.set_inventories,
            f"{INV}:update",
            summary="Replace all of a provider's inventories.",
            body=_const(inv_schemas.REPLACE_ALL),
            responses=_json(responses.inventories),
            errors={**BAD, 409: (codes.CONCURRENT_UPDATE, codes.INVENTORY_INUSE)},
        ),
        POST=E(
            inventory.create_inventory,
            f"{INV}:create",
            summary="Add one inventory to a provider.",
            body=_const(inv_schemas.CREATE),
            responses=_json(responses.inventory, 201),
            errors=BAD_OR_CONFLICT,
        ),
        DELETE=E(
            inventory.delete_inventories,
            f"{INV}:delete",
            mv.DELETE_ALL_INVENTORIES,
            405,
            summary="Delete all of a provider's inventories.",
            responses=_empty(204),
            errors={409: (codes.CONCURRENT_UPDATE, codes.INVENTORY_INUSE)},
        ),
    ),
    route(
        "/resource_providers/{uuid}/inventories/{resource_class}",
        GET=E(
            inventory.get_inventory,
            f"{INV}:show",
            summary="Show one inventory of a provider.",
            responses=_json(responses.inventory),
        ),
        PUT=E(
            inventory.update_inventory,
            f"{INV}:update",
            summary="Update one inventory of a provider.",
            body=_const(inv_schemas.UPDATE_ONE),
            responses=_json(responses.inventory),
            errors={**BAD, 409: (codes.CONCURRENT_UPDATE, codes.INVENTORY_INUSE)},
        ),
        DELETE=E(
            inventory.delete_inventory,
            f"{INV}:delete",
            summary="Delete one inventory of a provider.",
            responses=_empty(204),
            errors={409: (codes.CONCURRENT_UPDATE, codes.INVENTORY_INUSE)},
        ),
    ),
    route(
        "/resource_providers/{uuid}/aggregates",
        GET=E(
            aggregate.get_aggregates,
            f"{RP}:aggregates:list",
            mv.AGGREGATES,
            summary="List a provider's aggregates.",
            responses=_json(responses.aggregates),
        ),
        PUT=E(
            aggregate.set_aggregates,
            f"{RP}:aggregates:update",
            mv.AGGREGATES,
            summary="Replace a provider's aggregates.",
            body=agg_schemas.put_aggregates,
            responses=_json(responses.aggregates),
            errors=BAD_OR_CONFLICT,
        ),
    ),
    route(
        "/resource_providers/{uuid}/usages",
        GET=E(
            usage.get_provider_usages,
            f"{RP}:usages",
            summary="Show a provider's usages by resource class.",
            responses=_json(responses.provider_usages),
        ),
    ),
    route(
        "/resource_providers/{uuid}/traits",
        GET=E(
            trait.get_provider_traits,
            f"{RP}:traits:list",
            mv.TRAITS,
            summary="List a provider's traits.",
            responses=_json(responses.provider_traits),
        ),
        PUT=E(
            trait.set_provider_traits,
            f"{RP}:traits:update",
            mv.TRAITS,
            summary="Replace a provider's traits.",
            body=_const(trait_schemas.SET_PROVIDER_TRAITS),
            responses=_json(responses.provider_traits),
            errors=BAD_OR_CONFLICT,
        ),
        DELETE=E(
            trait.delete_provider_traits,
            f"{RP}:traits:delete",
            mv.TRAITS,
            summary="Remove all of a provider's traits.",
            responses=_empty(204),
            errors=CONFLICT,
        ),
    ),
    route(
        "/resource_providers/{uuid}/allocations",
        GET=E(
            allocation.list_provider_allocations,
            f"{RP}:allocations:list",
            summary="List the allocations against a provider, by consumer.",
            responses=_json(responses.provider_allocations),
        ),
    ),
    route(
        "/resource_classes",
        GET=E(
            resource_class.list_resource_classes,
            "placement:resource_classes:list",
            mv.RESOURCE_CLASSES,
            summary="List resource classes, standard and custom.",
            responses=_json(responses.resource_classes),
        ),
        POST=E(
            resource_class.create_resource_class,
            "placement:resource_classes:create",
            mv.RESOURCE_CLASSES,
            summary="Create a custom resource class.",
            body=_const(rc_schemas.RESOURCE_CLASS_BODY),
            responses=_empty(201),
            errors={**BAD, 409: (codes.DUPLICATE_NAME, codes.CONCURRENT_UPDATE)},
        ),
    ),
    route(
        "/resource_classes/{name}",
        GET=E(
            resource_class.get_resource_class,
            "placement:resource_classes:show",
            mv.RESOURCE_CLASSES,
            summary="Show one resource class.",
            responses=_json(responses.resource_class),
        ),
        PUT=E(
            resource_class.update_resource_class,
            "placement:resource_classes:update",
            mv.RESOURCE_CLASSES,
            summary="Rename a custom class (before 1.7); create it if missing (from 1.7).",
            body=_const(rc_schemas.RESOURCE_CLASS_BODY),
            body_before=mv.RESOURCE_CLASS_PUT_CREATES,
            responses=_put_resource_class,
            errors={**BAD, 409: (codes.DUPLICATE_NAME, codes.CONCURRENT_UPDATE)},
        ),
        DELETE=E(
            resource_class.delete_resource_class,
            "placement:resource_classes:delete",
            mv.RESOURCE_CLASSES,
            summary="Delete an unused custom resource class.",
            responses=_empty(204),
            errors={**BAD, 409: (UNDEFINED,)},
        ),
    ),
    route(
        "/traits",
        GET=E(
            trait.list_traits,
            "placement:traits:list",
            mv.TRAITS,
            summary="List traits, optionally filtered by name or association.",
            query=_strings(lambda _version: trait.LIST_PARAMS),
            responses=_json(responses.traits),
            errors=BAD,
        ),
    ),
    route(
        "/traits/{name}",
        GET=E(
            trait.get_trait,
            "placement:traits:show",
            mv.TRAITS,
            summary="Check that a trait exists.",
            responses=_empty(204),
        ),
        PUT=E(
            trait.put_trait,
            "placement:traits:update",
            mv.TRAITS,
            summary="Create a custom trait (201), or confirm it exists (204).",
            responses=_empty(201, 204),
            errors=BAD,
        ),
        DELETE=E(
            trait.delete_trait,
            "placement:traits:delete",
            mv.TRAITS,
            summary="Delete an unused custom trait.",
            responses=_empty(204),
            errors={**BAD, 409: (UNDEFINED,)},
        ),
    ),
    route(
        "/allocations",
        POST=E(
            allocation.set_allocations_for_consumers,
            "placement:allocations:manage",
            mv.POST_ALLOCATIONS,
            summary="Replace the allocations of several consumers at once.",
            body=alloc_schemas.post_schema,
            responses=_empty(204),
            errors=BAD_OR_CONFLICT,
        ),
    ),
    route(
        "/allocations/{consumer_uuid}",
        GET=E(
            allocation.list_allocations,
            "placement:allocations:list",
            summary="List one consumer's allocations.",
            responses=_json(responses.consumer_allocations),
        ),
        PUT=E(
            allocation.set_allocations,
            "placement:allocations:update",
            summary="Replace one consumer's allocations.",
            body=alloc_schemas.put_schema,
            responses=_empty(204),
            errors=BAD_OR_CONFLICT,
        ),
        DELETE=E(
            allocation.delete_allocations,
            "placement:allocations:delete",
            summary="Delete one consumer's allocations.",
            responses=_empty(204),
            errors=CONFLICT,
        ),
    ),
    route(
        "/allocation_candidates",
        GET=E(
            allocation_candidate.list_allocation_candidates,
            "placement:allocation_candidates:list",
            mv.ALLOCATION_CANDIDATES,
            summary="Find allocation requests that satisfy the asked resources.",
            query=candidate_schemas.query_schema,
            responses=_json(responses.allocation_candidates),
            errors=CANDIDATE_QUERY_ERRORS,
        ),
    ),
    # An allotment extension (docs/explain.md): not part of upstream's API.
    route(
        "/allocation_candidates/explain",
        GET=E(
            allocation_candidate_explain.explain_allocation_candidates,
            "placement:allocation_candidates:explain",
            mv.ALLOCATION_CANDIDATES,
            summary="Explain why a candidates query returns what it returns (allotment).",
            query=candidate_schemas.query_schema,
            responses=_json(responses.explain),
            errors=CANDIDATE_QUERY_ERRORS,
        ),
    ),
    route(
        "/usages",
        GET=E(
            usage.get_total_usages,
            "placement:usages",
            mv.USAGES,
            target=usage.usages_policy_target,
            summary="Total usages of a project (and user), by consumer type from 1.38.",
            query=usage_schemas.query_schema,
            responses=_json(responses.total_usages),
            errors=BAD,
        ),
    ),
    route(
        "/reshaper",
        POST=E(
            reshaper.reshape,
            "placement:reshaper:reshape",
            mv.RESHAPER,
            summary="Move inventories and allocations between providers atomically.",
            body=reshaper_schemas.reshape_schema,
            responses=_empty(204),
            errors={
                400: (UNDEFINED, codes.PROVIDER_NOT_FOUND),
                409: (codes.CONCURRENT_UPDATE, codes.INVENTORY_INUSE),
            },
        ),
    ),
)


def match(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``path`` and its path parameters, or None."""
    return routing.match(ROUTES, path)


def resolve(path: str, method: str) -> routing.Found | routing.Refusal:
    """The endpoint for a request, or why there is none (404, 405)."""
    return routing.resolve(ROUTES, path, method)
