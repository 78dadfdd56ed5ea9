"""GET /allocation_candidates: parse the query, search, render per microversion.

Parsing is pure: the query string becomes a ``CandidateRequest`` (see
``allotment.store.candidates.request``) or a 400 with the placement error
code upstream gives it. The search itself lives in ``allotment.store.candidates``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from allotment import exceptions as exc
from allotment.http import error_codes
from allotment.http import microversion as mv
from allotment.http.errors import HTTPError
from allotment.http.handlers.allocation_candidate_render import (
    RequestPieces,
    body_pieces,
    render,
)
from allotment.http.query import (
    parse_member_of,
    parse_required,
    parse_resources,
    reject_unknown,
)
from allotment.http.request import (
    Request,
    Response,
    json_response,
    raw_json_response,
    streamed_json_response,
)
from allotment.http.schemas.allocation_candidate import query_schema
from allotment.http.validation import MAX_INT, is_valid_name, parse_uuid, validate_query
from allotment.metrics import candidate_search
from allotment.store import resource_class as rc_store
from allotment.store.candidates.request import (
    GROUP_POLICIES,
    UNNUMBERED,
    CandidateRequest,
    RequestGroup,
)
from allotment.store.candidates.search import (
    SearchOptions,
    find_candidates,
    find_candidates_in_batches,
)
from allotment.store.explain import explain, log_line

LOG = logging.getLogger(__name__)

_GROUP_PARAM = re.compile(r"^(resources|required|member_of|in_tree)(.*)$")
_NUMERIC_SUFFIX = re.compile(r"^[1-9][0-9]*$")
_STRING_SUFFIX = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LIMIT = re.compile(r"^[1-9][0-9]*$")

# First microversion of each group parameter and of each request-wide one.
_GROUP_PARAM_SINCE = {
    "resources": mv.ALLOCATION_CANDIDATES,
    "required": mv.CANDIDATES_REQUIRED,
    "member_of": mv.CANDIDATES_MEMBER_OF,
    "in_tree": mv.CANDIDATES_IN_TREE,
}
_WIDE_PARAM_SINCE = {
    "limit": mv.CANDIDATES_LIMIT,
    "group_policy": mv.GRANULAR_GROUPS,
    "root_required": mv.ROOT_REQUIRED,
    "same_subtree": mv.SAME_SUBTREE,
}


# Rendered allocation requests above this many bytes: the body is streamed
# (no Content-Length), the answer never held whole. Below it holding the body
# costs a few MiB at most, and the answer keeps its Content-Length (what the
# access log reports, what some clients and proxies prefer): only large
# no-limit answers change framing. A no-limit answer at N=5,000 (12,000
# candidates) has 1.4-2.8 MB of allocation requests.
STREAM_ABOVE = 1 << 20


def list_allocation_candidates(req: Request) -> Response:
    request = parse_request(req.query, req.version)
    options = search_options(req.state.settings)
    # Without a limit the candidates are rendered batch by batch as they are
    # found (randomised: trees in random order, each batch shuffled).
    pieces = None
    if request.limit is None:
        pieces = RequestPieces(req.version)
    # A replica's lag is harmless here: every claim is checked on the primary.
    with (
        candidate_errors(trait_prefix=""),
        candidate_search(req.state.metrics) as search,
        req.state.db.read(replica=True, own_snapshots=True) as conn,
    ):
        try:
            if pieces is None:
                result = find_candidates(conn, request, options)
            else:
                result = find_candidates_in_batches(conn, request, options, pieces)
        except exc.ResourceClassNotFound:
            unknown = _unknown_unnumbered_class(conn, request)
            if unknown is None:
                # Upstream: an unknown class in a suffixed group finds nothing.
                return json_response(req, {"allocation_requests": [], "provider_summaries": {}})
            raise unknown from None
        providers = len(result.universe.providers)
        search.found(result.found, providers, request.limit, options.max_candidates)
        if not result.found and LOG.isEnabledFor(logging.DEBUG):
            # Why nothing (docs/explain.md): one line, only paid for at DEBUG.
            LOG.debug(log_line(explain(conn, request, options), req.request_id))
    if pieces is None:
        return json_response(req, render(result, request, req.version))
    # Everything that could fail has run: the rest is rendering known data.
    body = body_pieces(pieces.pieces, result, request, req.version)
    if pieces.size > STREAM_ABOVE:
        return streamed_json_response(req, body)
    return raw_json_response(req, b"".join(body))


def search_options(settings: Any) -> SearchOptions:
    """The ``[placement]`` options that shape a candidate search."""
    return SearchOptions(
        max_candidates=settings.max_allocation_candidates,
        strategy=settings.allocation_candidates_generation_strategy,
        randomize=settings.randomize_allocation_candidates,
        in_memory=settings.in_memory_candidates,
    )


@contextmanager
def candidate_errors(trait_prefix: str = "Invalid trait in required parameter: ") -> Iterator[None]:
    """Unknown classes and traits (found by the search) as 400s. Upstream's
    GET /allocation_candidates words an unknown trait with no prefix."""
    try:
        yield
    except exc.ResourceClassNotFound as error:
        raise HTTPError(400, f"Invalid resource class in resources parameter: {error}") from None
    except exc.TraitNotFound as error:
        raise HTTPError(400, f"{trait_prefix}{error}") from None


def _unknown_unnumbered_class(conn: Any, request: Any) -> exc.ResourceClassNotFound | None:
    """The error for the unnumbered group's first unknown class (in query order), if any."""
    names = [name for g in request.groups if g.suffix == "" for name in g.resources]
    try:
        rc_store.ids_for_names(conn, names)
    except exc.ResourceClassNotFound as error:
        return error
    return None


# ---------------------------------------------------------------------------
# Parsing (no SQL)


# A query string longer than this is parsed every time, never kept.
PARSED_KEEP_BELOW = 4096

_Key = tuple[mv.Version, tuple[tuple[str, tuple[str, ...]], ...]]


def parse_request(query: dict[str, list[str]], version: mv.Version) -> CandidateRequest:
    """The query string as a ``CandidateRequest``; HTTPError 400 for anything invalid.

    A scheduler sends the same query for every instance of a flavour, so a
    worker keeps the last few hundred answers: the request is immutable, and
    validating it is a tenth of a claim's candidate request. Invalid queries
    raise, so they are never kept; nor are long ones (a bound on memory).
    """
    items = tuple((name, tuple(values)) for name, values in query.items())
    if sum(len(name) + sum(map(len, values)) for name, values in items) >= PARSED_KEEP_BELOW:
        return _parse(query, version)
    return _parsed((version, items))


@lru_cache(maxsize=256)
def _parsed(key: _Key) -> CandidateRequest:
    version, items = key
    return _parse({name: list(values) for name, values in items}, version)


def _parse(query: dict[str, list[str]], version: mv.Version) -> CandidateRequest:
    validate_query(query_schema(version), query)
    grouped = _split_params(query, version)
    limit = _parse_limit(query.get("limit"))
    group_policy = _parse_group_policy(query.get("group_policy"))
    root_required, root_forbidden = _parse_root_required(query.get("root_required"))
    same_subtrees = _parse_same_subtree(query.get("same_subtree", []))
    groups = tuple(_parse_group(suffix, params, version) for suffix, params in grouped.items())
    _check_groups(groups, same_subtrees, version)
    if len([g for g in groups if g.same_provider]) > 1 and group_policy is None:
        raise HTTPError(
            400,
            'The "group_policy" parameter is required when specifying more '
            'than one "resources{N}" parameter.',
        )
    return CandidateRequest(
        groups=groups,
        limit=limit,
        group_policy=group_policy,
        root_required=root_required,
        root_forbidden=root_forbidden,
        same_subtrees=same_subtrees,
        nested_aware=version.matches(mv.NESTED_CANDIDATES),
    )


def _split_params(
    query: dict[str, list[str]], version: mv.Version
) -> dict[str, dict[str, list[str]]]:
    """Group parameters by suffix; 400 for any name unknown at this microversion."""
    grouped: dict[str, dict[str, list[str]]] = {}
    unknown = []
    for name, values in query.items():
        since = _WIDE_PARAM_SINCE.get(name)
        if since is not None:
            if not version.matches(since):
                unknown.append(name)
            continue
        match = _GROUP_PARAM.match(name)
        if match is None or not _group_param_allowed(match.group(1), match.group(2), version):
            unknown.append(name)
            continue
        grouped.setdefault(match.group(2), {})[match.group(1)] = values
    if unknown:
        # Same wording as every other strictly validated query string.
        reject_unknown({name: [] for name in unknown}, set())
    if not version.matches(mv.GRANULAR_GROUPS) and "resources" not in query:
        raise HTTPError(400, "Invalid query string parameters: 'resources' is a required property.")
    return grouped


def _group_param_allowed(prefix: str, suffix: str, version: mv.Version) -> bool:
    if not version.matches(_GROUP_PARAM_SINCE[prefix]):
        return False
    if suffix == UNNUMBERED:
        return True
    if not version.matches(mv.GRANULAR_GROUPS):
        return False
    if version.matches(mv.STRING_SUFFIXES):
        return bool(_STRING_SUFFIX.match(suffix))
    return bool(_NUMERIC_SUFFIX.match(suffix))


def _parse_limit(values: list[str] | None) -> int | None:
    if not values:
        return None
    for value in values:
        if not _LIMIT.match(value):
            # Worded like upstream's JSON-schema failure, which clients match.
            raise HTTPError(
                400,
                f"Invalid query string parameters: {value!r} does not match "
                f"'^[1-9][0-9]*$'\n\nFailed validating 'pattern' in "
                f"schema['properties']['limit']",
            )
    # Any limit beyond a 32-bit count means "no limit": never parse huge numbers.
    first = values[0]
    return int(first) if len(first) <= 10 and int(first) <= MAX_INT else MAX_INT


def _parse_group_policy(values: list[str] | None) -> str | None:
    if not values:
        return None
    for value in values:
        if value not in GROUP_POLICIES:
            raise HTTPError(
                400,
                f"Invalid query string parameters: group_policy {value!r} "
                f"is not one of {', '.join(GROUP_POLICIES)}.",
            )
    return values[0]


def _parse_root_required(values: list[str] | None) -> tuple[frozenset[str], frozenset[str]]:
    if not values:
        return frozenset(), frozenset()
    if len(values) > 1:
        raise HTTPError(
            400,
            "Query parameter 'root_required' may be specified only once.",
            error_codes.QUERY_DUPLICATE_KEY,
        )
    required: set[str] = set()
    forbidden: set[str] = set()
    for item in values[0].split(","):
        name = item.lstrip("!")
        if not name or not is_valid_name(name):
            raise HTTPError(
                400, f"Invalid query string parameters: malformed trait {item!r} in root_required."
            )
        (forbidden if item.startswith("!") else required).add(name)
    conflicts = required & forbidden
    if conflicts:
        raise HTTPError(
            400,
            f"Conflicting required and forbidden traits found in "
            f"root_required: {', '.join(sorted(conflicts))}",
            error_codes.QUERY_BAD_VALUE,
        )
    return frozenset(required), frozenset(forbidden)


def _parse_same_subtree(values: list[str]) -> tuple[frozenset[str], ...]:
    out = []
    for value in values:
        suffixes = {item.strip() for item in value.split(",")}
        if "" in suffixes:
            raise HTTPError(
                400,
                "Empty string (unsuffixed group) can not be specified in `same_subtree` ",
                error_codes.QUERY_BAD_VALUE,
            )
        out.append(frozenset(suffixes))
    return tuple(out)


def _parse_group(suffix: str, params: dict[str, list[str]], version: mv.Version) -> RequestGroup:
    resources: dict[str, int] = {}
    if "resources" in params:
        # A repeated resources key: the last one counts (as upstream).
        raw = params["resources"][-1]
        if not raw:
            raise HTTPError(
                400,
                f"Badly formed resources{suffix} parameter. Expected resources "
                f"query string parameter in form: "
                f"?resources=VCPU:2,MEMORY_MB:1024. Got: empty string.",
            )
        resources = parse_resources(raw, f"resources{suffix}")
    _check_required_form(params.get("required", []), version, f"required{suffix}")
    traits = parse_required(params.get("required", []), version, f"required{suffix}")
    aggregates = parse_member_of(params.get("member_of", []), version, f"member_of{suffix}")
    in_tree = None
    if "in_tree" in params:
        in_tree = parse_uuid(params["in_tree"][-1])
        if in_tree is None:
            raise HTTPError(
                400,
                f"Invalid query string parameters: Expected 'in_tree{suffix}' "
                f"parameter to be a format of uuid. Got: "
                f"{params['in_tree'][-1]}",
            )
    return RequestGroup(
        suffix=suffix,
        resources=resources,
        required=traits.any_of,
        forbidden=traits.forbidden,
        member_of=aggregates.any_of,
        forbidden_aggs=aggregates.none_of,
        in_tree=in_tree,
    )


def _check_required_form(values: list[str], version: mv.Version, param: str) -> None:
    """Empty trait names, or ``!`` before 1.22, get upstream's "expected form" message."""
    if not version.matches(mv.ANY_OF_TRAITS):
        values = values[-1:]
    forbidden_ok = version.matches(mv.FORBIDDEN_TRAITS)
    for value in values:
        names = value[3:] if value.startswith("in:") else value
        items = names.split(",")
        if any(not item.lstrip("!") for item in items) or (
            not forbidden_ok and any(item.startswith("!") for item in items)
        ):
            form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if forbidden_ok else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
            raise HTTPError(
                400,
                f"Invalid query string parameters: Expected '{param}' "
                f"parameter value of the form: {form}. Got: {value}",
            )


def _check_groups(
    groups: tuple[RequestGroup, ...], same_subtrees: tuple[frozenset[str], ...], version: mv.Version
) -> None:
    if version.matches(mv.SAME_SUBTREE):
        _check_resourceless(groups, same_subtrees)
        return
    # Every orphan is named, in query order, as upstream does (a group with
    # only forbidden traits is not a traits orphan; it fails the next check).
    orphans = [f"required{g.suffix}" for g in groups if not g.resources and g.required]
    if orphans:
        raise HTTPError(
            400,
            "All traits parameters must be associated with resources.  "
            f"Found the following orphaned traits keys: {', '.join(orphans)}",
        )
    orphans = [
        f"member_of{g.suffix}"
        for g in groups
        if not g.resources and (g.member_of or g.forbidden_aggs)
    ]
    if orphans:
        raise HTTPError(
            400,
            "All member_of parameters must be associated with resources. "
            f"Found the following orphaned member_of keys: {', '.join(orphans)}",
        )
    if any(not group.resources for group in groups):
        raise HTTPError(400, "All request groups must specify resources.")
    if not groups:
        raise HTTPError(
            400, "At least one request group (`resources` or `resources{$S}`) is required."
        )


def _check_resourceless(
    groups: tuple[RequestGroup, ...], same_subtrees: tuple[frozenset[str], ...]
) -> None:
    """From 1.36: resourceless groups are only legal when named in ``same_subtree``."""
    if all(not group.resources for group in groups):
        raise HTTPError(
            400,
            "There must be at least one resources or resources[$S] parameter.",
            error_codes.QUERY_MISSING_VALUE,
        )
    named = frozenset().union(*same_subtrees)
    bad = sorted(g.suffix for g in groups if not g.resources and g.suffix not in named)
    if bad:
        raise HTTPError(
            400,
            f"Resourceless suffixed group request should be specified in "
            f"`same_subtree` query param: bad group(s) - {bad}.",
            error_codes.QUERY_BAD_VALUE,
        )
    suffixes = {group.suffix for group in groups}
    missing = sorted(named - suffixes)
    if missing:
        raise HTTPError(
            400,
            f"Real suffixes should be specified in `same_subtree`: "
            f"{missing} not found in {sorted(suffixes)}.",
            error_codes.QUERY_BAD_VALUE,
        )
