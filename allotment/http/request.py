"""The request object handlers receive, and the response they return."""

from __future__ import annotations

import datetime
import email.utils
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson

from allotment.config import Settings
from allotment.http import microversion as mv
from allotment.http.errors import HTTPError
from allotment.http.validation import check_json, check_text

if TYPE_CHECKING:
    from allotment.app import AppState
    from allotment.http.auth import RequestContext

ENV_STATE = "allotment.state"
ENV_VERSION = "allotment.microversion"
ENV_CONTEXT = "allotment.context"
ENV_REQUEST_ID = "allotment.request_id"
# Dispatch records the matched route template (for logs and metrics: a
# template, never the raw path) and the exception an error answer came from.
ENV_ROUTE = "allotment.route"
ENV_ERROR = "allotment.error"

# The limits of a request with no app state (a bare Request in a unit test).
_DEFAULT_LIMITS = Settings(database_url="sqlite://")


def body_too_large(limit: int) -> HTTPError:
    return HTTPError(413, f"The request body is larger than {limit} bytes.")


def content_length(environ: dict[str, Any]) -> int | None:
    """The declared body length; None when absent; 400 when not an integer."""
    text = environ.get("CONTENT_LENGTH")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise HTTPError(400, "content-length header must be an integer") from None


def is_chunked(environ: dict[str, Any]) -> bool:
    encoding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding or bool(environ.get("wsgi.input_terminated"))


class Request:
    """A thin view over the WSGI environ with what handlers need."""

    __slots__ = ("environ", "path_params", "_query", "_json")

    def __init__(self, environ: dict[str, Any], path_params: dict[str, str] | None = None):
        self.environ = environ
        self.path_params = path_params or {}
        self._query: dict[str, list[str]] | None = None
        self._json: Any = None

    @property
    def method(self) -> str:
        return self.environ["REQUEST_METHOD"]

    @property
    def path(self) -> str:
        return self.environ.get("PATH_INFO", "") or "/"

    @property
    def script_name(self) -> str:
        return self.environ.get("SCRIPT_NAME", "").rstrip("/")

    @property
    def state(self) -> AppState:
        return self.environ[ENV_STATE]

    @property
    def limits(self) -> Settings:
        state = self.environ.get(ENV_STATE)
        return state.settings if state is not None else _DEFAULT_LIMITS

    @property
    def version(self) -> mv.Version:
        return self.environ.get(ENV_VERSION, mv.MIN_VERSION)

    @property
    def context(self) -> RequestContext:
        return self.environ[ENV_CONTEXT]

    @property
    def request_id(self) -> str:
        return self.environ.get(ENV_REQUEST_ID, "")

    def header(self, name: str, default: str | None = None) -> str | None:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            return self.environ.get(key, default)
        return self.environ.get("HTTP_" + key, default)

    @property
    def query(self) -> dict[str, list[str]]:
        """Query parameters, each name with every value in order of appearance."""
        if self._query is None:
            parsed: dict[str, list[str]] = {}
            raw = self.environ.get("QUERY_STRING", "")
            for key, value in parse_qsl(raw, keep_blank_values=True):
                check_text(key, "a query parameter name")
                check_text(value, f"query parameter {key}")
                parsed.setdefault(key, []).append(value)
            self._query = parsed
        return self._query

    def json_body(self) -> Any:
        """The decoded JSON body, enforcing placement's content rules."""
        if self._json is not None:
            return self._json
        raw = self._read_body()
        content_type = (self.header("content-type") or "").split(";")[0].strip().lower()
        if not content_type:
            if raw:
                raise HTTPError(400, "content-type header required when body is provided")
            raise HTTPError(400, "Malformed JSON: Expecting value: line 1 column 1 (char 0)")
        if content_type != "application/json":
            raise HTTPError(
                415, f"The media type {content_type} is not supported, use application/json"
            )
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = _stdlib_json(raw)
        limits = self.limits
        check_json(data, limits.max_json_depth, limits.max_list_items)
        self._json = data
        return self._json

    def _read_body(self) -> bytes:
        """The body, at most ``max_body_size`` bytes (413 beyond), chunked or not."""
        limit = self.limits.max_body_size
        length = content_length(self.environ)
        stream = self.environ["wsgi.input"]
        if length is None:
            if not is_chunked(self.environ):
                return b""
            # No length: read what the server decoded, one byte past the limit.
            raw = stream.read(limit + 1)
            if len(raw) > limit:
                raise body_too_large(limit)
            return raw
        if length > limit:
            raise body_too_large(limit)
        if length <= 0:
            return b""
        return stream.read(length)

    def link(self, path: str) -> str:
        """A link for a response body: relative, with the mount prefix."""
        return self.script_name + path

    def absolute_url(self, path: str) -> str:
        """An absolute URL for a ``Location`` header."""
        env = self.environ
        scheme = env.get("wsgi.url_scheme", "http")
        host = env.get("HTTP_HOST")
        if not host:
            host = env.get("SERVER_NAME", "localhost")
            port = env.get("SERVER_PORT")
            if port and (scheme, port) not in (("http", "80"), ("https", "443")):
                host = f"{host}:{port}"
        return f"{scheme}://{host}{self.script_name}{path}"


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = None
    # A body too large to hold whole: sent piece by piece, without a
    # Content-Length (``body`` is then empty). Producing the pieces must not
    # fail: the status line is gone by then.
    pieces: Iterable[bytes] | None = None


def http_date(when: datetime.datetime | None) -> str:
    if when is None:
        when = datetime.datetime.now(datetime.UTC)
    elif when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return email.utils.format_datetime(when, usegmt=True)


def _stdlib_json(raw: bytes) -> Any:
    """What orjson refused, read as upstream reads it (the standard library's
    parser): its error message is upstream's, and what it accepts is kept."""
    try:
        return json.loads(raw.decode("utf-8", "replace"))
    except ValueError as error:
        raise HTTPError(400, f"Malformed JSON: {error}") from None


def json_response(
    req: Request,
    data: Any,
    status: int = 200,
    last_modified: datetime.datetime | None = None,
    cache_headers: bool = True,
    headers: list[tuple[str, str]] | None = None,
    omit_last_modified: bool = False,
) -> Response:
    """A JSON response; from 1.15 with ``Last-Modified`` and ``Cache-Control``.

    ``last_modified`` is the newest timestamp of what was rendered; None means
    "now" (root document, usages, candidates and other computed results).
    ``omit_last_modified`` sends ``Cache-Control`` alone, where upstream has no
    timestamp to send (an empty inventory, a provider never updated before).
    """
    out = list(headers or [])
    if cache_headers and req.version.matches(mv.LAST_MODIFIED):
        if not omit_last_modified:
            out.append(("last-modified", http_date(last_modified)))
        out.append(("cache-control", "no-cache"))
    return Response(status, orjson.dumps(data), out, "application/json")


def raw_json_response(req: Request, body: bytes) -> Response:
    """A 200 of already serialised JSON, with the headers of ``json_response``
    for a computed result."""
    response = json_response(req, None)
    response.body = body
    return response


def streamed_json_response(req: Request, pieces: Iterable[bytes]) -> Response:
    """``raw_json_response`` for a body sent piece by piece as ``pieces`` yields it."""
    response = raw_json_response(req, b"")
    response.pieces = pieces
    return response


def empty_response(status: int = 204, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, b"", list(headers or []))


def newest(*stamps: datetime.datetime | None) -> datetime.datetime | None:
    """The latest of some timestamps, ignoring missing ones."""
    present = [s for s in stamps if s is not None]
    return max(present) if present else None
