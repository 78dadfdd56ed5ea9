"""Query-string grammar shared by provider listing and allocation candidates.

``member_of`` (spec C2.1) and ``required`` (spec C2.2) parse into plain
sets; the store turns them into SQL. Every malformed value is a 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from allotment.http import microversion as mv
from allotment.http.errors import HTTPError
from allotment.http.validation import is_uuid, is_valid_name, parse_uuid


@dataclass(frozen=True)
class AggregateFilter:
    """``any_of``: each set must intersect the provider's aggregates; ``none_of``: must not."""

    any_of: tuple[frozenset[str], ...] = ()
    none_of: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.any_of or self.none_of)


@dataclass(frozen=True)
class TraitFilter:
    """``any_of``: each set needs at least one trait present; ``forbidden``: none present."""

    any_of: tuple[frozenset[str], ...] = ()
    forbidden: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.any_of or self.forbidden)

    @property
    def required(self) -> frozenset[str]:
        """Traits that must all be present (the single-member any-of sets)."""
        return frozenset(next(iter(s)) for s in self.any_of if len(s) == 1)

    def names(self) -> set[str]:
        out = set(self.forbidden)
        for group in self.any_of:
            out |= group
        return out


@dataclass
class _Collected:
    any_of: list[frozenset[str]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)


def parse_member_of(values: list[str], version: mv.Version, param: str = "member_of"
                    ) -> AggregateFilter:
    """Parse every occurrence of a ``member_of`` parameter (ANDed together)."""
    if len(values) > 1 and not version.matches(mv.MULTI_MEMBER_OF):
        raise HTTPError(400, f"Multiple {param} parameters are not supported "
                             f"before microversion {mv.MULTI_MEMBER_OF}.")
    any_of: list[frozenset[str]] = []
    none_of: set[str] = set()
    for raw in values:
        value = raw.strip()
        forbidden = value.startswith("!")
        if forbidden:
            if not version.matches(mv.FORBIDDEN_AGGREGATES):
                raise HTTPError(400, f"Forbidden {param} (!) is not supported before "
                                     f"microversion {mv.FORBIDDEN_AGGREGATES}.")
            value = value[1:]
        if value.startswith("in:"):
            uuids = _aggregate_list(value[3:], param)
        elif "," in value:
            raise HTTPError(400, f"Invalid {param} value {raw!r}: use 'in:' to give a "
                                 f"list of aggregates.")
        else:
            uuids = _aggregate_list(value, param)
        if forbidden:
            none_of |= uuids
        else:
            any_of.append(frozenset(uuids))
    return AggregateFilter(tuple(any_of), frozenset(none_of))


def _aggregate_list(text: str, param: str) -> set[str]:
    items = text.split(",")
    out = set()
    for item in items:
        canonical = parse_uuid(item.strip()) if is_uuid(item.strip()) else None
        if canonical is None or item.strip().startswith("!"):
            raise HTTPError(400, f"Invalid {param} value: {item!r} is not a valid UUID.")
        out.add(canonical)
    return out


def parse_required(values: list[str], version: mv.Version, param: str = "required"
                   ) -> TraitFilter:
    """Parse every occurrence of a ``required`` parameter.

    Before 1.39 only the last occurrence counts (upstream behaviour).
    """
    if not values:
        return TraitFilter()
    if not version.matches(mv.ANY_OF_TRAITS):
        values = values[-1:]
    collected = _Collected()
    for raw in values:
        _parse_required_value(raw, version, param, collected)
    overlap = {t for group in collected.any_of if len(group) == 1 for t in group}
    overlap &= collected.forbidden
    if overlap:
        raise HTTPError(400, f"Conflicting required and forbidden traits in {param}: "
                             f"{', '.join(sorted(overlap))}")
    for group in collected.any_of:
        if group <= collected.forbidden:
            raise HTTPError(400, f"Conflicting required and forbidden traits in {param}: "
                                 f"{', '.join(sorted(group))}")
    return TraitFilter(tuple(collected.any_of), frozenset(collected.forbidden))


def _parse_required_value(raw: str, version: mv.Version, param: str,
                          collected: _Collected) -> None:
    if raw.startswith("in:"):
        if not version.matches(mv.ANY_OF_TRAITS):
            raise HTTPError(400, f"Invalid {param} value {raw!r}: 'in:' is not supported "
                                 f"before microversion {mv.ANY_OF_TRAITS}.")
        names = raw[3:].split(",")
        group = set()
        for name in names:
            if name.startswith("!") or not _valid_trait(name):
                raise HTTPError(400, f"Invalid trait name {name!r} in {param}.")
            group.add(name)
        collected.any_of.append(frozenset(group))
        return
    for name in raw.split(","):
        forbidden = name.startswith("!")
        if forbidden:
            if not version.matches(mv.FORBIDDEN_TRAITS):
                raise HTTPError(400, f"Invalid trait name {name!r} in {param}: forbidden "
                                     f"traits need microversion {mv.FORBIDDEN_TRAITS}.")
            name = name.lstrip("!")
        if not _valid_trait(name):
            raise HTTPError(400, f"Invalid {param} value {raw!r}: empty or malformed "
                                 f"trait name {name!r}.")
        if forbidden:
            collected.forbidden.add(name)
        else:
            collected.any_of.append(frozenset({name}))


def _valid_trait(name: str) -> bool:
    return bool(name) and is_valid_name(name)


def parse_resources(value: str, param: str = "resources") -> dict[str, int]:
    """``RC:N,RC:N`` into a dict; every amount an integer >= 1."""
    out: dict[str, int] = {}
    if not value:
        raise HTTPError(400, f"Badly formed {param} parameter: it is empty.")
    for item in value.split(","):
        name, sep, amount = item.partition(":")
        name = name.strip()
        if not sep or not name:
            raise HTTPError(400, f"Badly formed {param} parameter {value!r}: expected "
                                 f"RESOURCE_CLASS:AMOUNT.")
        try:
            number = int(amount)
        except ValueError:
            number = 0
        if number < 1 or not amount.strip().isdigit():
            raise HTTPError(400, f"Requested resource {name} expected positive integer "
                                 f"amount, got {amount!r}.")
        if name in out:
            raise HTTPError(400, f"Badly formed {param} parameter: {name} given twice.")
        out[name] = number
    return out


def single(query: dict[str, list[str]], name: str) -> str | None:
    """The value of a parameter that may appear once (the last one if repeated)."""
    values = query.get(name)
    return values[-1] if values else None


def reject_unknown(query: dict[str, list[str]], allowed: set[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        # Worded like the JSON-schema message upstream gives, which clients match.
        names = ", ".join(repr(name) for name in unknown)
        verb = "was" if len(unknown) == 1 else "were"
        raise HTTPError(400, "Invalid query string parameters: Additional properties are "
                             f"not allowed ({names} {verb} unexpected)")
