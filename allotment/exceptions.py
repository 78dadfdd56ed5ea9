"""Domain exceptions raised by the persistence layer and the domain logic.

They carry no HTTP knowledge: ``allotment.http.errors`` maps each class to a
status and a ``placement.*`` error code in one table.
"""

from __future__ import annotations


class PlacementError(Exception):
    """Base class of every domain error; ``str(exc)`` is the user-facing detail."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(PlacementError):
    """A named entity does not exist."""


class ResourceProviderNotFound(NotFound):
    pass


class ResourceClassNotFound(NotFound):
    pass


class TraitNotFound(NotFound):
    pass


class InventoryNotFound(NotFound):
    pass


class Invalid(PlacementError):
    """The request is well-formed but semantically invalid (400)."""


class AllocationClassNotFound(Invalid):
    """An allocation names a resource class that does not exist (400).

    Handlers add upstream's context ("Unable to allocate inventory ...").
    """


class InvalidInventoryCapacity(Invalid):
    pass


class Conflict(PlacementError):
    """A state conflict without a specific error code (409)."""


class Exists(Conflict):
    """The entity to create exists already."""


class ConcurrentUpdate(Conflict):
    """A generation check failed or a concurrent writer won a race."""


class ResourceProviderConcurrentUpdate(ConcurrentUpdate):
    """A provider generation compare-and-swap lost; allocation writes retry on this."""


class ConsumerGenerationConflict(ConcurrentUpdate):
    """A consumer generation check failed; never retried by the server."""


class DuplicateName(Conflict):
    pass


class InventoryInUse(Conflict):
    pass


class ResourceProviderInUse(Conflict):
    pass


class CannotDeleteParentProvider(Conflict):
    pass


class ResourceProviderNotFoundForReshape(Invalid):
    """A provider named in a reshaper request does not exist (400 with a specific code)."""


class CapacityExceeded(Conflict):
    """An allocation does not fit an inventory (capacity, min/max unit, step size)."""


class InvalidInventory(Conflict):
    """An allocation names a class the provider has no inventory of."""


class DatabaseNotAtHead(PlacementError):
    """The database schema is not at the revision this code expects."""


class DatabaseUnavailable(PlacementError):
    """The database cannot be reached or the connection was lost (answered 503).

    Raised by the store when failover is exhausted, and made in the HTTP fault
    path from a driver's connection error: the request may be retried later.
    """


class ConnectionLost(DatabaseUnavailable):
    """The connection broke before anything was committed: running the work
    again, on another database host, is safe (the write path does it once)."""
