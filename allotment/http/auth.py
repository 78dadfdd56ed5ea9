"""Who is calling: the request context, noauth2, and the 401 answer.

Identity arrives as the headers keystonemiddleware sets after validating a
token (``X-User-Id``, ``X-Project-Id``, ``X-Roles``, ``X-Domain-Id``,
``OpenStack-System-Scope``, ``X-Service-*`` for service tokens; see
``allotment.http.keystone``) or that ``NoAuth2`` fabricates for tests and
labs. ``ContextMiddleware`` turns them into a ``RequestContext`` that handlers
read as ``req.context``, and answers 401 when there is no user.

``noauth2`` takes the ``X-Auth-Token`` value as ``user`` or
``user:project`` (project defaults to the user); user ``admin`` gets role
``admin``, anyone else no role, unless the request carries ``X-Roles``.
With ``OpenStack-System-Scope`` the token is system scoped (no project).
No token is a 401 (webob's stock JSON, as upstream). The root document and the
health check never need a token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from allotment.http.request import ENV_CONTEXT, ENV_REQUEST_ID
from allotment.logs import bind_log_identity

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Set by RequestLog when the caller passed a valid global request id.
ENV_GLOBAL_REQUEST_ID = "openstack.global_request_id"
# Paths served without authentication: the version document (and its
# mount-point spelling without a slash).
OPEN_PATHS = ("", "/")

# The body upstream's auth layer returns (webob's stock 401, JSON flavour):
# deliberately not the placement error format.
UNAUTHORIZED_BODY = (
    b'{"message": "This server could not verify that you are authorized to access the '
    b"document you requested. Either you supplied the wrong credentials (e.g., bad "
    b"password), or your browser does not understand how to supply the credentials "
    b'required.<br /><br />\\n\\n\\n", "code": "401 Unauthorized", "title": "Unauthorized"}'
)


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The caller's identity, roles and scope, and the request's ids."""

    user_id: str | None
    project_id: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    system_scope: str | None = None
    domain_id: str | None = None
    user_domain_id: str | None = None
    project_domain_id: str | None = None
    service_user_id: str | None = None
    service_project_id: str | None = None
    service_roles: frozenset[str] = field(default_factory=frozenset)
    request_id: str | None = None
    global_request_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def policy_credentials(self) -> dict[str, Any]:
        """What policy rules may test (oslo.context's ``to_policy_values``)."""
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "system_scope": self.system_scope,
            "domain_id": self.domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "roles": self.roles,
            "is_admin": self.is_admin,
            "is_admin_project": True,
            "service_user_id": self.service_user_id,
            "service_project_id": self.service_project_id,
            "service_roles": self.service_roles,
        }


def _roles(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(r.strip().lower() for r in value.split(",") if r.strip())


def context_from_identity_headers(environ: dict[str, Any]) -> RequestContext:
    """The context keystonemiddleware (or noauth2) left in the environ."""
    get = environ.get
    return RequestContext(
        user_id=get("HTTP_X_USER_ID") or get("HTTP_X_USER") or None,
        project_id=get("HTTP_X_PROJECT_ID") or get("HTTP_X_TENANT_ID") or None,
        roles=_roles(get("HTTP_X_ROLES") or get("HTTP_X_ROLE")),
        system_scope=get("HTTP_OPENSTACK_SYSTEM_SCOPE") or None,
        domain_id=get("HTTP_X_DOMAIN_ID") or None,
        user_domain_id=get("HTTP_X_USER_DOMAIN_ID") or None,
        project_domain_id=get("HTTP_X_PROJECT_DOMAIN_ID") or None,
        service_user_id=get("HTTP_X_SERVICE_USER_ID") or None,
        service_project_id=get("HTTP_X_SERVICE_PROJECT_ID") or None,
        service_roles=_roles(get("HTTP_X_SERVICE_ROLES")),
        request_id=get(ENV_REQUEST_ID),
        global_request_id=get(ENV_GLOBAL_REQUEST_ID),
    )


def is_open_path(environ: dict[str, Any]) -> bool:
    return environ.get("PATH_INFO", "") in OPEN_PATHS


def unauthorized(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response(
        "401 Unauthorized",
        [
            ("content-type", "application/json"),
            ("content-length", str(len(UNAUTHORIZED_BODY))),
        ],
    )
    return [UNAUTHORIZED_BODY]


class NoAuth2:
    """Fabricates identity headers from the token, as upstream's noauth2 does."""

    def __init__(self, app: WSGIApp):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if is_open_path(environ):
            return self.app(environ, start_response)
        token = environ.get("HTTP_X_AUTH_TOKEN")
        if not token:
            return unauthorized(environ, start_response)
        user_id, _, project_id = token.partition(":")
        # As upstream's noauth2: the user always comes from the token and the
        # token's project goes in X-Tenant-Id (unless system scoped). An
        # explicit X-Project-Id from the caller is kept and wins, as it does
        # in oslo.context, so tests can act as a member of any project;
        # X-Roles and OpenStack-System-Scope are the caller's to choose too.
        environ.pop("HTTP_X_USER", None)
        environ["HTTP_X_USER_ID"] = user_id
        if not environ.get("HTTP_OPENSTACK_SYSTEM_SCOPE"):
            environ["HTTP_X_TENANT_ID"] = project_id or user_id
        if "HTTP_X_ROLES" not in environ:
            environ["HTTP_X_ROLES"] = "admin" if user_id == "admin" else ""
        return self.app(environ, start_response)


class ContextMiddleware:
    """Builds the RequestContext from identity headers; 401 without a user."""

    def __init__(self, app: WSGIApp):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        context = context_from_identity_headers(environ)
        # keystonemiddleware with delay_auth_decision passes invalid tokens on,
        # marked Invalid, with identity headers removed.
        invalid = environ.get("HTTP_X_IDENTITY_STATUS", "Confirmed") != "Confirmed"
        if (invalid or not context.user_id) and not is_open_path(environ):
            return unauthorized(environ, start_response)
        environ[ENV_CONTEXT] = context
        bind_log_identity(context.user_id, context.project_id)
        return self.app(environ, start_response)
