"""The allocation-candidates request as plain data (no HTTP, no SQL).

The HTTP handler parses the query string into a ``CandidateRequest``; the
research step (SQL) and the assembler (pure Python) only ever see this model.
Names are kept as names (resource classes, traits, aggregate uuids): the
research step checks that classes and traits exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

ISOLATE = "isolate"
NONE = "none"
GROUP_POLICIES = (NONE, ISOLATE)

UNNUMBERED = ""


@dataclass(frozen=True)
class RequestGroup:
    """One request group: the unnumbered one (suffix ``""``) or a suffixed one.

    ``required`` is an AND of any-of sets (``[{A}, {B, C}]`` = A and (B or C)),
    ``member_of`` likewise for aggregate uuids.
    """

    suffix: str = UNNUMBERED
    resources: Mapping[str, int] = field(default_factory=dict)
    required: tuple[frozenset[str], ...] = ()
    forbidden: frozenset[str] = frozenset()
    member_of: tuple[frozenset[str], ...] = ()
    forbidden_aggs: frozenset[str] = frozenset()
    in_tree: str | None = None

    @property
    def same_provider(self) -> bool:
        """Suffixed groups must be satisfied by a single provider."""
        return self.suffix != UNNUMBERED

    @property
    def resourceless(self) -> bool:
        return not self.resources

    def trait_names(self) -> set[str]:
        names = set(self.forbidden)
        for group in self.required:
            names |= group
        return names

    def aggregate_uuids(self) -> set[str]:
        uuids = set(self.forbidden_aggs)
        for group in self.member_of:
            uuids |= group
        return uuids


@dataclass(frozen=True)
class CandidateRequest:
    """Every group plus the request-wide options of one GET /allocation_candidates."""

    groups: tuple[RequestGroup, ...]
    limit: int | None = None
    group_policy: str | None = None
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    same_subtrees: tuple[frozenset[str], ...] = ()
    # Below microversion 1.29 a candidate may not use two providers of one tree.
    nested_aware: bool = True

    @property
    def isolate(self) -> bool:
        return self.group_policy == ISOLATE

    def group(self, suffix: str) -> RequestGroup | None:
        for group in self.groups:
            if group.suffix == suffix:
                return group
        return None

    # Cached: the assembler asks for these once per anchor.
    @cached_property
    def unnumbered(self) -> RequestGroup | None:
        return self.group(UNNUMBERED)

    @cached_property
    def suffixed(self) -> tuple[RequestGroup, ...]:
        return tuple(g for g in self.groups if g.same_provider)

    def resource_classes(self) -> set[str]:
        """Every class named by any group."""
        return {rc for group in self.groups for rc in group.resources}

    def trait_names(self) -> set[str]:
        names = set(self.root_required | self.root_forbidden)
        for group in self.groups:
            names |= group.trait_names()
        return names

    def aggregate_uuids(self) -> set[str]:
        uuids: set[str] = set()
        for group in self.groups:
            uuids |= group.aggregate_uuids()
        return uuids
