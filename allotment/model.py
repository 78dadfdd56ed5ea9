"""Frozen dataclasses of the domain, returned by the persistence layer."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ResourceProvider:
    id: int
    uuid: str
    name: str
    generation: int
    root_provider_uuid: str
    parent_provider_uuid: str | None
    root_provider_id: int
    parent_provider_id: int | None
    updated_at: datetime.datetime | None
    created_at: datetime.datetime | None

    @property
    def last_modified(self) -> datetime.datetime | None:
        return self.updated_at or self.created_at


@dataclass(frozen=True, slots=True)
class Inventory:
    resource_class: str
    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = 2147483647
    step_size: int = 1
    allocation_ratio: float = 1.0

    @property
    def capacity(self) -> float:
        """Un-truncated capacity, as used by fit checks."""
        return (self.total - self.reserved) * self.allocation_ratio


@dataclass(frozen=True, slots=True)
class Consumer:
    """A consumer of resources; project and user are the external ids."""

    id: int
    uuid: str
    project_id: str
    user_id: str
    generation: int
    consumer_type: str | None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    """One allocation row, with what its representations need."""

    consumer_uuid: str
    resource_provider_uuid: str
    resource_provider_generation: int
    resource_class: str
    used: int
    # None when the consumer has no row (allocations from before consumers existed).
    consumer_generation: int | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    @property
    def last_modified(self) -> datetime.datetime | None:
        return self.updated_at or self.created_at


def _catalogue_last_modified(
    standard: bool, created_at: datetime.datetime | None, updated_at: datetime.datetime | None
) -> datetime.datetime | None:
    """Standard traits and classes ship with the service: only a later change counts (A3)."""
    return updated_at if standard else (updated_at or created_at)


@dataclass(frozen=True, slots=True)
class Trait:
    name: str
    standard: bool
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None

    @property
    def last_modified(self) -> datetime.datetime | None:
        return _catalogue_last_modified(self.standard, self.created_at, self.updated_at)


@dataclass(frozen=True, slots=True)
class ResourceClass:
    id: int
    name: str
    standard: bool
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None

    @property
    def last_modified(self) -> datetime.datetime | None:
        return _catalogue_last_modified(self.standard, self.created_at, self.updated_at)
