"""WSGI middleware: request ids and access log, fault wrapper, and the dispatcher.

The dispatcher (``PlacementHandler``) negotiates the microversion, routes,
authorizes and calls the handler, turning every error into the placement
error body. ``allotment.app.make_app`` stacks these in order.
"""

from __future__ import annotations

import http
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from allotment import exceptions as exc
from allotment.http import errors, routes
from allotment.http import microversion as mv
from allotment.http.auth import ENV_GLOBAL_REQUEST_ID
from allotment.http.policy import PolicyDenied
from allotment.http.request import (
    ENV_ERROR,
    ENV_REQUEST_ID,
    ENV_ROUTE,
    ENV_STATE,
    ENV_VERSION,
    Request,
    Response,
    body_too_large,
    content_length,
)
from allotment.http.routing import Found, Refusal, below_first_version
from allotment.http.validation import check_text, truncate
from allotment.logs import LOG_CONTEXT, NO_VALUE
from allotment.store import faults

LOG = logging.getLogger("allotment.api")
# The GETs whose upstream handler does not insist on a JSON Accept header.
NO_ACCEPT_CHECK = frozenset({"/", "/traits/{name}"})
# The one GET whose upstream handler checks Accept before its first microversion.
ACCEPT_BEFORE_VERSION = frozenset({"/resource_providers/{uuid}/aggregates"})
# Set when upstream would answer this error past its Vary-adding layer.
ENV_HANDLER_ERROR = "allotment.handler_error"
ACCESS_LOG = logging.getLogger("allotment.access")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def send(response: Response, start_response: StartResponse) -> Iterable[bytes]:
    headers = list(response.headers)
    if response.content_type:
        headers.append(("content-type", response.content_type))
    if response.pieces is not None:
        # No Content-Length: the server frames the body (chunked on HTTP/1.1).
        start_response(_status_line(response.status), headers)
        return response.pieces
    headers.append(("content-length", str(len(response.body))))
    start_response(_status_line(response.status), headers)
    return [response.body]


def error_response(
    environ: dict[str, Any],
    status: int,
    message: str,
    code: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    message = truncate(message)
    media_type = errors.error_media_type(environ.get("HTTP_ACCEPT"))
    if media_type != "application/json":
        return Response(
            status,
            errors.text_error_body(status, message, media_type, environ, code),
            list(headers or []),
            f"{media_type}; charset=UTF-8",
        )
    body = errors.error_body(
        status,
        message,
        code,
        environ.get(ENV_REQUEST_ID),
        environ.get(ENV_VERSION),
        extra,
        environ,
    )
    return Response(status, orjson.dumps(body), list(headers or []), "application/json")


# oslo.middleware's rule for a global request id passed by a calling service.
GLOBAL_REQUEST_ID = re.compile(
    r"^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$"
)


# C0 and C1 control characters, DEL, and the Unicode line and paragraph
# separators: a client could forge log lines with any of them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_control(value: Any) -> str:
    """``value`` as text with every control character written as an escape."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


class RequestLog:
    """Outermost: gives each request an id, logs one access line, adds the id header.

    A ``x-openstack-request-id: req-<uuid>`` sent by a calling service is
    kept as the global request id (anything else there is ignored, as
    oslo.middleware does); every log line of the request carries both ids.
    """

    def __init__(self, app: WSGIApp, enabled: bool = True, json_format: bool = False):
        self.app = app
        self.enabled = enabled
        self.json_format = json_format

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        request_id = f"req-{uuid.uuid4()}"
        environ[ENV_REQUEST_ID] = request_id
        incoming = environ.get("HTTP_X_OPENSTACK_REQUEST_ID", "")
        global_id = incoming if GLOBAL_REQUEST_ID.match(incoming) else None
        if global_id:
            environ[ENV_GLOBAL_REQUEST_ID] = global_id
        log_context = {
            "request_id": request_id,
            "global_request_id": global_id or NO_VALUE,
            "user_id": NO_VALUE,
            "project_id": NO_VALUE,
        }
        token = LOG_CONTEXT.set(log_context)
        started = time.perf_counter()
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append(("x-openstack-request-id", request_id))
            captured["status"] = status
            captured["length"] = next(
                (v for k, v in headers if k.lower() == "content-length"), NO_VALUE
            )
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, start)
            if self.enabled:
                self._log(environ, captured, time.perf_counter() - started, log_context)
        finally:
            LOG_CONTEXT.reset(token)
        return result

    def _log(
        self,
        environ: dict[str, Any],
        captured: dict[str, Any],
        elapsed: float,
        log_context: dict[str, str],
    ) -> None:
        version = environ.get(ENV_VERSION)
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        # Every client-supplied value is escaped: no forged lines in the log.
        fields = {
            "remote": escape_control(environ.get("REMOTE_ADDR") or NO_VALUE),
            "method": escape_control(environ.get("REQUEST_METHOD")),
            "path": escape_control(path),
            "status": int(str(captured.get("status", "0")).split()[0]),
            "length": captured.get("length"),
            "microversion": str(version) if version else NO_VALUE,
            "duration_ms": round(elapsed * 1000, 2),
        }
        if self.json_format:
            # The route template groups requests the way the metrics do.
            fields["route"] = environ.get(ENV_ROUTE, NO_VALUE)
            ACCESS_LOG.info(orjson.dumps({**log_context, **fields}).decode())
        else:
            ACCESS_LOG.info(
                '%(remote)s "%(method)s %(path)s" status: %(status)s len: %(length)s '
                "microversion: %(microversion)s time: %(duration_ms)sms",
                fields,
            )


class FaultWrapper:
    """Turns any unexpected exception into a JSON 500 with the request id.

    A database that cannot be reached (``DatabaseUnavailable``, or a driver's
    connection error) is a 503 with ``Retry-After`` and one warning line, no
    traceback: the service resumes by itself when the database returns.
    """

    def __init__(self, app: WSGIApp):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        try:
            return self.app(environ, start_response)
        except Exception as error:
            method = escape_control(environ.get("REQUEST_METHOD"))
            path = escape_control(environ.get("PATH_INFO"))
            unavailable = faults.unavailable(error)
            if unavailable is not None:
                # The store's write path logs the outages it gives up on; a
                # driver error that escaped it is logged here, in one line.
                level = logging.DEBUG if unavailable is error else logging.WARNING
                LOG.log(
                    level,
                    "Database unavailable handling %s %s [%s]: %s",
                    method,
                    path,
                    environ.get(ENV_REQUEST_ID),
                    escape_control(faults.describe(unavailable)),
                )
                http_error = errors.from_domain(unavailable)
                response = error_response(
                    environ, 503, http_error.message, http_error.code, http_error.headers
                )
                return send(response, start_response)
            LOG.exception(
                "Unexpected error handling %s %s [%s]", method, path, environ.get(ENV_REQUEST_ID)
            )
            response = error_response(
                environ, 500, "An unexpected error occurred; see the server log for the request id."
            )
            return send(response, start_response)


def _accepts_json(environ: dict[str, Any]) -> bool:
    accept = environ.get("HTTP_ACCEPT")
    if not accept:
        return True
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("*/*", "application/*", "application/json"):
            return True
    return False


def _content_length_error(environ: dict[str, Any]) -> str | None:
    """Upstream checks Content-Length before routing: an integer, and a body needs a type."""
    length = environ.get("CONTENT_LENGTH")
    if not length:
        return None
    try:
        has_body = int(length) > 0
    except ValueError:
        return "content-length header must be an integer"
    if has_body and not environ.get("CONTENT_TYPE"):
        return "content-type header required when content-length > 0"
    return None


def _check_envelope(environ: dict[str, Any], max_body: int) -> None:
    """Before routing: a declared body over the limit is a 413 (however absurd
    the number), a path must be UTF-8 without a NUL."""
    length = content_length(environ)
    if length is not None and length > max_body:
        raise body_too_large(max_body)
    path = environ.get("PATH_INFO", "")
    try:
        # PEP 3333: the path's bytes as latin-1 text.
        path = path.encode("latin-1").decode("utf-8")
    except UnicodeEncodeError:
        pass  # a server that decoded the path already
    except UnicodeDecodeError:
        raise errors.HTTPError(400, "The request path is not valid UTF-8.") from None
    check_text(path, "the request path")


def _media_type(environ: dict[str, Any]) -> str:
    return (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()


class PlacementHandler:
    """Microversion negotiation, routing, authorization and handler dispatch."""

    def __init__(self, state: Any):
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        environ[ENV_STATE] = self.state
        try:
            version = mv.parse_header_value(environ.get("HTTP_OPENSTACK_API_VERSION"))
        except mv.MicroversionError as error:
            extra = None
            if error.status == 406:
                extra = {"min_version": str(mv.MIN_VERSION), "max_version": str(mv.MAX_VERSION)}
            return send(
                error_response(environ, error.status, error.message, extra=extra), start_response
            )
        environ[ENV_VERSION] = version
        response = self._dispatch(environ)
        response.headers.append((mv.HEADER, f"{mv.SERVICE_TYPE} {version}"))
        # Upstream's dispatcher raises a few errors (a missing object, a policy
        # refusal, a bad Content-Length) past the layer that adds Vary.
        if not environ.get(ENV_HANDLER_ERROR):
            response.headers.append(("vary", mv.HEADER))
        return send(response, start_response)

    def _dispatch(self, environ: dict[str, Any]) -> Response:
        length_error = _content_length_error(environ)
        if length_error:
            environ[ENV_HANDLER_ERROR] = True
            return error_response(environ, 400, length_error)
        try:
            _check_envelope(environ, self.state.settings.max_body_size)
        except errors.HTTPError as error:
            return error_response(environ, error.status, error.message, error.code)
        found = routes.resolve(environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"])
        if isinstance(found, Refusal):
            return _refuse(environ, found)
        endpoint = found.endpoint
        environ[ENV_ROUTE] = found.route.template
        req = Request(environ, found.params)
        refused = _before_handler(environ, found, req)
        if refused is not None:
            return refused
        try:
            if endpoint.policy:
                target = endpoint.target(req) if endpoint.target else _default_target(req)
                self.state.enforcer.authorize(endpoint.policy, req.context, target)
            # A request whose transaction failed before commit (deadlock, Galera
            # certification failure, lost connection) and that committed nothing
            # is run again under the write path's retry policy.
            return self.state.db.replay(lambda: endpoint.handler(req))
        except exc.DatabaseUnavailable:
            raise  # the fault wrapper answers 503 and logs one line
        except errors.HTTPError as error:
            environ[ENV_ERROR] = error
            return error_response(
                environ, error.status, error.message, error.code, error.headers, error.extra
            )
        except exc.PlacementError as error:
            environ[ENV_ERROR] = error
            http_error = errors.from_domain(error)
            if http_error.status == 404:
                # Upstream's handlers let a missing object escape to the
                # dispatcher, whose 404 skips the layer that adds Vary.
                environ[ENV_HANDLER_ERROR] = True
            return error_response(environ, http_error.status, http_error.message, http_error.code)
        except PolicyDenied as denied:
            environ[ENV_HANDLER_ERROR] = True
            return error_response(environ, 403, str(denied))


def _refuse(environ: dict[str, Any], refusal: Refusal) -> Response:
    """The error answer for a request the route table refuses (404, 405)."""
    if refusal.template is not None:
        environ[ENV_ROUTE] = refusal.template
    if not refusal.vary:
        environ[ENV_HANDLER_ERROR] = True
    headers = [("allow", refusal.allow)] if refusal.allow is not None else None
    return error_response(environ, refusal.status, refusal.message, headers=headers)


def _before_handler(environ: dict[str, Any], found: Found, req: Request) -> Response | None:
    """Upstream's handler-decorator checks, in upstream's order: Accept (before the
    microversion for one route), the route's first microversion, Accept, media type."""
    method = environ["REQUEST_METHOD"]
    template = found.route.template
    if method == "GET" and template in ACCEPT_BEFORE_VERSION and not _accepts_json(environ):
        return error_response(environ, 406, "Only application/json is provided")
    too_old = below_first_version(found, req.version)
    if too_old is not None:
        return _refuse(environ, too_old)
    if method == "GET" and template not in NO_ACCEPT_CHECK and not _accepts_json(environ):
        return error_response(environ, 406, "Only application/json is provided")
    if found.endpoint.needs_json(req.version):
        media = _media_type(environ)
        if media != "application/json":
            return error_response(
                environ,
                415,
                f"The media type {media or None} is not supported, use application/json",
            )
    return None


def _default_target(req: Request) -> dict[str, Any]:
    return {"project_id": req.context.project_id, "user_id": req.context.user_id}
