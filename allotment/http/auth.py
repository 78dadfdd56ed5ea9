"""Who is calling: the request context, and the noauth2 authentication middleware.

``noauth2`` (for tests and labs) takes the ``X-Auth-Token`` value as
``user`` or ``user:project``; user ``admin`` gets role ``admin`` unless
``X-Roles`` says otherwise. With ``keystone`` the identity headers set by
keystonemiddleware are read the same way. The root document is always open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from allotment.http.request import ENV_CONTEXT

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True, slots=True)
class RequestContext:
    user_id: str | None
    project_id: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    system_scope: str | None = None
    domain_id: str | None = None
    global_request_id: str | None = None

    def policy_credentials(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "roles": sorted(self.roles),
            "system_scope": self.system_scope,
            "domain_id": self.domain_id,
        }


def _roles(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(r.strip().lower() for r in value.split(",") if r.strip())


def context_from_identity_headers(environ: dict[str, Any]) -> RequestContext:
    """The context keystonemiddleware (or noauth2) left in the environ."""
    return RequestContext(
        user_id=environ.get("HTTP_X_USER_ID") or environ.get("HTTP_X_USER"),
        project_id=environ.get("HTTP_X_PROJECT_ID") or environ.get("HTTP_X_TENANT_ID"),
        roles=_roles(environ.get("HTTP_X_ROLES") or environ.get("HTTP_X_ROLE")),
        system_scope=environ.get("HTTP_OPENSTACK_SYSTEM_SCOPE"),
        domain_id=environ.get("HTTP_X_DOMAIN_ID"),
    )


def is_root_path(environ: dict[str, Any]) -> bool:
    return environ.get("PATH_INFO", "") in ("", "/")


class NoAuth2:
    """Fabricates identity headers from the token, as upstream's noauth2 does."""

    def __init__(self, app: WSGIApp, unauthorized: Callable[[dict[str, Any], str], Any]):
        self.app = app
        self.unauthorized = unauthorized

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if is_root_path(environ):
            return self.app(environ, start_response)
        token = environ.get("HTTP_X_AUTH_TOKEN", "")
        if not token:
            return self.unauthorized(environ, "Unauthorized")(environ, start_response)
        user_id, _, project_id = token.partition(":")
        project_id = project_id or user_id
        if "HTTP_X_ROLES" not in environ:
            environ["HTTP_X_ROLES"] = "admin" if user_id == "admin" else "member"
        environ["HTTP_X_USER_ID"] = user_id
        if "HTTP_OPENSTACK_SYSTEM_SCOPE" not in environ:
            environ["HTTP_X_PROJECT_ID"] = project_id
            environ["HTTP_X_TENANT_ID"] = project_id
        return self.app(environ, start_response)


class ContextMiddleware:
    """Builds the RequestContext from identity headers; 401 without a user."""

    def __init__(self, app: WSGIApp, unauthorized: Callable[[dict[str, Any], str], Any]):
        self.app = app
        self.unauthorized = unauthorized

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if is_root_path(environ):
            environ[ENV_CONTEXT] = RequestContext(None, None)
            return self.app(environ, start_response)
        context = context_from_identity_headers(environ)
        if not context.user_id:
            return self.unauthorized(environ, "Unauthorized")(environ, start_response)
        environ[ENV_CONTEXT] = context
        return self.app(environ, start_response)
