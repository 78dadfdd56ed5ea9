"""Query-string grammar shared by provider listing and allocation candidates.

``member_of`` and ``required`` parse into plain
sets; the store turns them into SQL. Every malformed value is a 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from allotment.http import microversion as mv
from allotment.http.errors import HTTPError
from allotment.http.validation import MAX_INT, parse_uuid


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


def parse_member_of(
    values: list[str], version: mv.Version, param: str = "member_of"
) -> AggregateFilter:
    """Parse every occurrence of a ``member_of`` parameter (ANDed together).

    Error texts are upstream's: clients and conformance suites match them.
    """
    if len(values) > 1 and not version.matches(mv.MULTI_MEMBER_OF):
        raise HTTPError(400, f"Multiple {param} parameters are not supported")
    any_of: list[frozenset[str]] = []
    none_of: set[str] = set()
    for raw in values:
        required, forbidden = _member_of_value(raw.strip())
        if required:
            any_of.append(frozenset(required))
        if forbidden:
            # Checked after the UUIDs, as upstream does.
            if not version.matches(mv.FORBIDDEN_AGGREGATES):
                raise HTTPError(
                    400,
                    f"Forbidden {param} parameters are not supported in the specified microversion",
                )
            none_of |= forbidden
    return AggregateFilter(tuple(any_of), frozenset(none_of))


def _member_of_value(value: str) -> tuple[set[str], set[str]]:
    """One ``member_of`` value as (any-of aggregates, forbidden aggregates)."""
    if "," in value and not value.startswith(("in:", "!in:")):
        raise HTTPError(
            400,
            "Multiple values for 'member_of' must be prefixed with the "
            "'in:' or '!in:' keyword using the valid microversion. "
            f"Got: {value}",
        )
    forbidden = value.startswith("!")
    body = value[1:] if forbidden else value
    items = body[3:].split(",") if body.startswith("in:") else [body]
    uuids = {_aggregate_uuid(item) for item in items}
    return (set(), uuids) if forbidden else (uuids, set())


def _aggregate_uuid(item: str) -> str:
    canonical = parse_uuid(item.strip())
    if canonical is None or item.strip().startswith("!"):
        raise HTTPError(
            400,
            "Invalid query string parameters: Expected 'member_of' "
            f"parameter to contain valid UUID(s). Got: {item}",
        )
    return canonical


def parse_required(values: list[str], version: mv.Version, param: str = "required") -> TraitFilter:
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
        raise HTTPError(
            400,
            f"Conflicting required and forbidden traits in {param}: {', '.join(sorted(overlap))}",
        )
    for group in collected.any_of:
        if group <= collected.forbidden:
            raise HTTPError(
                400,
                f"Conflicting required and forbidden traits in {param}: {', '.join(sorted(group))}",
            )
    return TraitFilter(tuple(collected.any_of), frozenset(collected.forbidden))


_ANY_FORM = "in:HW_CPU_X86_VMX,CUSTOM_MAGIC"


def _parse_required_value(raw: str, version: mv.Version, param: str, collected: _Collected) -> None:
    """One ``required`` value; error texts are upstream's (always naming 'required')."""
    if raw.startswith("in:"):
        collected.any_of.append(frozenset(_any_traits(raw, version, param)))
        return
    names = [item.strip() for item in raw.split(",")]
    forbidden_ok = version.matches(mv.FORBIDDEN_TRAITS)
    if any(not name.lstrip("!") for name in names):
        form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if forbidden_ok else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
        raise HTTPError(
            400,
            "Invalid query string parameters: Expected 'required' parameter "
            f"value of the form: {form}. Got an empty trait in: {raw}",
        )
    if not forbidden_ok and any(name.startswith("!") for name in names):
        raise HTTPError(
            400,
            "Invalid query string parameters: Expected 'required' parameter "
            f"value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {raw}",
        )
    # Names are not checked here: an unknown (or ill-formed) name is "No such
    # trait(s)" when it is looked up, after the request's other checks, as upstream.
    for name in names:
        forbidden = name.startswith("!")
        name = name.lstrip("!")
        if forbidden:
            collected.forbidden.add(name)
        else:
            collected.any_of.append(frozenset({name}))


def _any_traits(raw: str, version: mv.Version, param: str) -> set[str]:
    if not version.matches(mv.ANY_OF_TRAITS):
        raise HTTPError(
            400,
            f"Invalid query string parameters: The format '{_ANY_FORM}' "
            f"only supported since microversion {mv.ANY_OF_TRAITS}. Got: {raw}",
        )
    names = {item.strip() for item in raw[3:].split(",")}
    if not all(names):
        raise HTTPError(
            400,
            "Invalid query string parameters: Expected 'required' parameter "
            f"value of the form: {_ANY_FORM}. Got an empty trait in: {raw}",
        )
    if any(name.startswith("!") for name in names):
        raise HTTPError(
            400,
            f"Invalid query string parameters: The format '{_ANY_FORM}' "
            f"does not support forbidden traits. Got: {raw}",
        )
    return names


_RESOURCES_FORM = (
    "Badly formed resources parameter. Expected resources query string "
    "parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: "
)


def parse_resources(value: str, param: str = "resources") -> dict[str, int]:
    """``RC:N,RC:N`` into a dict; every amount an integer >= 1 (a repeated class: last wins).

    Error texts are upstream's, which always name the parameter 'resources'.
    """
    out: dict[str, int] = {}
    if not value.strip():
        raise HTTPError(400, f"{_RESOURCES_FORM}empty string.")
    for item in value.split(","):
        parts = item.split(":")
        if len(parts) != 2 or not parts[0].strip():
            raise HTTPError(400, f"{_RESOURCES_FORM}{item}.")
        name, amount = parts
        try:
            # More digits than any 32-bit amount is out of range, not parsed.
            number = int(amount) if len(amount.strip().lstrip("0")) <= 12 else MAX_INT + 1
        except ValueError:
            raise HTTPError(
                400, f"Requested resource {name} expected positive integer amount. Got: {amount}."
            ) from None
        if number < 1:
            raise HTTPError(400, f"Requested resource {name} requires amount >= 1. Got: {number}.")
        if number > MAX_INT:
            # The amount columns are 32-bit integers.
            raise HTTPError(
                400, f"Requested resource {name} requires amount <= {MAX_INT}. Got: {amount}."
            )
        out[name.strip()] = number
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
        raise HTTPError(
            400,
            "Invalid query string parameters: Additional properties are "
            f"not allowed ({names} {verb} unexpected)",
        )
