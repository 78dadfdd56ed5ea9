"""What a route table is made of: ``Endpoint`` (one method of one URL) and
``Route`` (a URL template and its methods), and where a request goes.

``resolve`` and ``below_first_version`` decide every request's fate in one
place: dispatch to an endpoint, 404 for an unknown path (or a route asked for
below its first microversion), 405 for a known path asked with another method
(with an ``Allow`` header; ``below_status`` covers upstream's one 405 below a
route's first microversion, which has none). ``allotment.http.routes``
declares the table itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from allotment.http import microversion as mv
from allotment.http.request import Request, Response

Handler = Callable[[Request], Response]
# Policy target for most routes is the caller's own project and user.
TargetFn = Callable[[Request], dict[str, Any]]
# A JSON schema (of a body or of the query string) at a microversion.
SchemaFn = Callable[[mv.Version], dict[str, Any]]
# The success statuses at a microversion, each with its body schema (None: no body).
ResponsesFn = Callable[[mv.Version], dict[int, dict[str, Any] | None]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One method of one route: what runs, who may call it, and what it speaks.

    ``summary``, ``query``, ``body``, ``responses`` and ``errors`` describe
    the API: the OpenAPI document is generated from them, and the handlers
    validate with the very same schema functions, so the two cannot drift.
    ``errors`` maps each status the endpoint itself may answer to the
    ``placement.*`` codes it may carry (``placement.undefined_code`` is
    always possible); the statuses every endpoint shares (bad microversion,
    authentication, policy, media type) are added by the generator.
    """

    handler: Handler
    policy: str | None
    min_version: mv.Version = mv.MIN_VERSION
    below_status: int = 404
    target: TargetFn | None = None
    summary: str = ""
    query: SchemaFn | None = None
    # The JSON body schema. A request without the application/json content
    # type is refused (415) before authorization, as upstream does;
    # ``body_before`` limits the body to microversions below it.
    body: SchemaFn | None = None
    body_before: mv.Version | None = None
    responses: ResponsesFn | None = None
    errors: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The operation's name (its handler's), e.g. ``list_resource_providers``."""
        return self.handler.__name__

    def needs_json(self, version: mv.Version) -> bool:
        return self.body is not None and (self.body_before is None or version < self.body_before)


@dataclass(frozen=True, slots=True)
class Route:
    template: str
    methods: dict[str, Endpoint]
    pattern: re.Pattern[str]

    @property
    def allow(self) -> str:
        return ", ".join(sorted(self.methods))


def route(template: str, **methods: Endpoint) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(template, methods, re.compile(f"^{regex}$"))


def match(table: Iterable[Route], path: str) -> tuple[Route, dict[str, str]] | None:
    """The route of ``table`` for ``path`` and its path parameters, or None."""
    path = path or "/"
    for route in table:
        found = route.pattern.match(path)
        if found:
            return route, found.groupdict()
    return None


# -- deciding a request's fate: dispatch, 404 or 405 ------------------------------

NOT_ALLOWED = "The method specified is not allowed for this resource."


@dataclass(frozen=True, slots=True)
class Found:
    """The endpoint a request goes to, with its path parameters."""

    route: Route
    endpoint: Endpoint
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request no endpoint takes: its status, message and headers."""

    status: int  # 404 or 405
    message: str = ""
    # The matched route's template (None for an unknown path): logs and metrics.
    template: str | None = None
    # The Allow header of a 405 from the router (None: no header).
    allow: str | None = None
    # Upstream's router raises its 404 past the layer that adds ``Vary``; the
    # other refusals come from that layer and carry it.
    vary: bool = True


def resolve(table: Iterable[Route], path: str, method: str) -> Found | Refusal:
    """Where a request goes: an unknown path is 404 (without ``Vary``); a known
    path asked with another method is 405 with ``Allow`` listing its methods."""
    matched = match(table, path)
    if matched is None:
        return Refusal(404, vary=False)
    route, params = matched
    endpoint = route.methods.get(method)
    if endpoint is None:
        return Refusal(405, NOT_ALLOWED, route.template, allow=route.allow)
    return Found(route, endpoint, params)


def below_first_version(found: Found, version: mv.Version) -> Refusal | None:
    """A route asked for below its first microversion is 404, or 405 without
    ``Allow`` where upstream's handler answers so itself (``below_status``)."""
    if version >= found.endpoint.min_version:
        return None
    return Refusal(found.endpoint.below_status, "", found.route.template)
