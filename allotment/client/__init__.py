"""A Python client for the placement API (``pip install allotment[client]``).

    from allotment.client import PlacementClient, ProviderSpec
    with PlacementClient("http://placement:8778", token=token) as placement:
        placement.ensure_provider_tree(ProviderSpec("compute-1", inventories={"VCPU": 8}))

``PlacementClient`` has one typed method per route plus the compute-service
operations of ``allotment.client.operations`` (their retry rules are there).
Errors raise ``PlacementError`` subclasses from ``allotment.client.errors``.
"""

from allotment.client.client import LATEST, PlacementClient, allocation_body, parse_version
from allotment.client.errors import (
    BadQueryValue,
    BadRequest,
    CannotDeleteParent,
    ConcurrentUpdate,
    Conflict,
    DuplicateName,
    DuplicateQueryKey,
    Forbidden,
    InventoryInUse,
    MethodNotAllowed,
    MissingQueryValue,
    NotAcceptable,
    NotFound,
    PlacementError,
    ResourceProviderInUse,
    ResourceProviderNotFound,
    ServerError,
    Unauthorized,
    UnsupportedMediaType,
)
from allotment.client.models import (
    AllocationCandidates,
    AllocationRequest,
    AllocationWrite,
    ConsumerAllocations,
    Inventory,
    ProviderAggregates,
    ProviderAllocations,
    ProviderInventories,
    ProviderInventory,
    ProviderSpec,
    ProviderSummary,
    ProviderTraits,
    ProviderUsages,
    RequestGroup,
    ResourceProvider,
    ResourceSummary,
)

__all__ = [
    "LATEST",
    "PlacementClient",
    "allocation_body",
    "parse_version",
    "BadQueryValue",
    "BadRequest",
    "CannotDeleteParent",
    "ConcurrentUpdate",
    "Conflict",
    "DuplicateName",
    "DuplicateQueryKey",
    "Forbidden",
    "InventoryInUse",
    "MethodNotAllowed",
    "MissingQueryValue",
    "NotAcceptable",
    "NotFound",
    "PlacementError",
    "ResourceProviderInUse",
    "ResourceProviderNotFound",
    "ServerError",
    "Unauthorized",
    "UnsupportedMediaType",
    "AllocationCandidates",
    "AllocationRequest",
    "AllocationWrite",
    "ConsumerAllocations",
    "Inventory",
    "ProviderAggregates",
    "ProviderAllocations",
    "ProviderInventories",
    "ProviderInventory",
    "ProviderSpec",
    "ProviderSummary",
    "ProviderTraits",
    "ProviderUsages",
    "RequestGroup",
    "ResourceProvider",
    "ResourceSummary",
]
