"""The front of ``allotment serve``: an asyncio HTTP/1.1 reader under gunicorn.

gunicorn's thread worker gives each connection a thread while it reads the
request, so a handful of clients trickling a head or a body froze a server
(workers x threads of them). This worker reads every request in one event
loop, with ``h11`` parsing HTTP, and hands only *complete* requests to a
small thread pool running the WSGI app: a slow client costs a coroutine and
a socket, never a thread. gunicorn still forks, supervises and restarts the
workers.

Every limit is an ``[allotment]`` option (see ``allotment.config``): time to
send a head and then a body (408 and close), idle keep-alive time, requests
per connection, request-line (414) and header (431) sizes, the body size
(413, answered from ``Content-Length`` before reading anything), and open
connections per worker (503). Those errors are placement-style JSON; the
rest is the app's answer. Chunked bodies are de-chunked here, so the app
sees a body with a ``CONTENT_LENGTH``.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import io
import logging
import os
import socket
import sys
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes, urlsplit

import h11
import orjson
from gunicorn.workers.base import Worker

from allotment.accept_board import Balance
from allotment.config import Settings
from allotment.http import errors
from allotment.http import microversion as mv

READ_SIZE = 65536
ACCEPT_RETRY_SECONDS = 0.1
LOG = logging.getLogger(__name__)
T = TypeVar("T")


class ClientError(Exception):
    """A request the front answers itself, then closes the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_bytes(status: int, message: str, extra: str = "") -> bytes:
    """A whole placement-style JSON error response made by the front (then close).

    Written raw, not through h11: these answer requests h11 never completed.
    The error carries a ``code``: no microversion was negotiated yet.
    """
    request_id = f"req-{uuid.uuid4()}"
    body = orjson.dumps(errors.error_body(status, message, None, request_id, mv.MAX_VERSION))
    head = (
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-openstack-request-id: {request_id}\r\n"
        f"{extra}connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class Connection:
    """One client connection: read a request, call the app, answer, repeat."""

    def __init__(
        self,
        worker: FrontWorker,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.worker = worker
        self.limits: Settings = worker.limits
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(
            h11.SERVER,
            max_incomplete_event_size=self.limits.max_request_line + self.limits.max_header_size,
        )
        self.served = 0
        # What every request of this connection shares (PEP 3333 wants a
        # fresh environ per request: each one starts from a copy).
        self.environ_base = self._environ_base()

    async def serve(self) -> None:
        self.task = task = asyncio.current_task()
        try:
            while await self._one_request():
                self.served += 1
                self.worker.busy.discard(task)
        except ClientError as error:
            await self._send_error(error.status, error.message)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass

    async def _receive(self, timeout: float) -> None:
        # asyncio.timeout, not wait_for: wait_for wraps the read in a task of
        # its own, two more loop steps for every read (of every request).
        async with asyncio.timeout(max(timeout, 0.001)):
            data = await self.reader.read(READ_SIZE)
        self.h11.receive_data(data)

    async def _next_event(self, deadline: float, on_timeout: str | None) -> Any:
        """The next h11 event, reading until ``deadline`` (loop time); past it, a
        408 saying ``on_timeout`` (or the TimeoutError itself, without one)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as error:
                raise self._protocol_error(error) from None
            if event is not h11.NEED_DATA:
                return event
            try:
                await self._receive(deadline - loop.time())
            except TimeoutError:
                if on_timeout is None:
                    raise
                raise ClientError(408, on_timeout) from None

    def _protocol_error(self, error: h11.RemoteProtocolError) -> ClientError:
        status = error.error_status_hint
        if status == 431:
            pending = self.h11.trailing_data[0]
            if b"\r\n" not in pending[: self.limits.max_request_line + 2]:
                status = 414
        messages = {
            414: f"The request line is longer than {self.limits.max_request_line} bytes.",
            431: f"The request header is larger than {self.limits.max_header_size} bytes.",
        }
        return ClientError(status, messages.get(status, f"Malformed HTTP request: {error}"))

    async def _one_request(self) -> bool:
        """Serve one request; False when the connection is to be closed."""
        loop = asyncio.get_running_loop()
        idle = self.limits.keepalive_timeout if self.served else self.limits.header_timeout
        try:
            # Idle until the first byte, then the whole head within header_timeout.
            if not self.h11.trailing_data[0]:
                await self._receive(idle)
        except TimeoutError:
            return False
        deadline = loop.time() + self.limits.header_timeout
        event = await self._next_event(deadline, "The request head was not received in time.")
        if isinstance(event, h11.ConnectionClosed):
            return False
        assert isinstance(event, h11.Request)
        if len(event.target) > self.limits.max_request_line:
            raise ClientError(
                414, f"The request line is longer than {self.limits.max_request_line} bytes."
            )
        # Iterated once here: h11's Headers is a Sequence whose iterator makes
        # two Python calls per header, and the head is looked through four times.
        fields = list(event.headers)
        if sum(len(n) + len(v) + 4 for n, v in fields) > self.limits.max_header_size:
            raise ClientError(
                431, f"The request header is larger than {self.limits.max_header_size} bytes."
            )
        body = await self._read_body(fields)
        # From here to the answer the connection is busy: a shutdown waits for it.
        self.worker.busy.add(self.task)
        try:
            status, headers, content = await self.worker.in_pool(
                self.worker.call_app, self._environ(event, fields, body)
            )
        except Exception:
            LOG.exception("The application failed outside its fault wrapper")
            raise ClientError(500, "An unexpected error occurred.") from None
        last = (
            self.served + 1 >= self.limits.keepalive_requests
            or not self.worker.alive
            or (
                _keeps_alive(event, fields)
                and self.worker.balance.sheds_one(len(self.worker.connections))
            )
        )
        if last:
            headers = [(k, v) for k, v in headers if k.lower() != "connection"]
            headers.append(("connection", "close"))
        if event.method == b"HEAD":
            _close(content)
            content = b""
        await self._send(status, headers, content)
        if self.h11.our_state is h11.MUST_CLOSE or last:
            return False
        try:
            self.h11.start_next_cycle()
        except h11.LocalProtocolError:
            return False  # the client did not finish its side: close
        return True

    async def _read_body(self, fields: list[tuple[bytes, bytes]]) -> bytes:
        limit = self.limits.max_body_size
        for name, value in fields:
            if name == b"content-length" and int(value) > limit:
                raise _too_large(limit)
        if self.h11.client_is_waiting_for_100_continue:
            self.writer.write(self.h11.send(h11.InformationalResponse(status_code=100, headers=[])))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.body_timeout
        body = bytearray()
        while True:
            event = await self._next_event(deadline, "The request body was not received in time.")
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > limit:
                    raise _too_large(limit)
            elif isinstance(event, h11.EndOfMessage):
                return bytes(body)
            else:
                raise ConnectionError("connection closed in the body")

    def _environ_base(self) -> dict[str, Any]:
        """The environ keys that stay the same for every request of the connection."""
        host, port = self.worker.server_address(self.writer)
        peer = self.writer.get_extra_info("peername") or ("", 0)
        return {
            "SCRIPT_NAME": "",
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "REMOTE_ADDR": str(peer[0]),
            "REMOTE_PORT": str(peer[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }

    def _environ(
        self, request: h11.Request, fields: list[tuple[bytes, bytes]], body: bytes
    ) -> dict[str, Any]:
        target = request.target.decode("latin-1")
        if not target.startswith("/"):
            parts = urlsplit(target)  # absolute form: http://host/path?query
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        environ = self.environ_base.copy()
        environ["REQUEST_METHOD"] = request.method.decode("latin-1")
        environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1")
        environ["QUERY_STRING"] = query
        environ["SERVER_PROTOCOL"] = f"HTTP/{request.http_version.decode('latin-1')}"
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(body)
        for raw_name, raw_value in fields:
            name = raw_name.decode("latin-1")
            value = raw_value.decode("latin-1")
            if "_" in name:
                continue  # as gunicorn: "X_Roles" must not pass for "X-Roles"
            if name == "content-type":
                environ["CONTENT_TYPE"] = value
                continue
            if name in ("content-length", "transfer-encoding"):
                continue  # the body is read whole: CONTENT_LENGTH says its size
            key = "HTTP_" + name.upper().replace("-", "_")
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    async def _send(
        self, status: str, headers: list[tuple[str, str]], content: bytes | Iterable[bytes]
    ) -> None:
        code, _, reason = status.partition(" ")
        response = h11.Response(
            status_code=int(code), headers=headers, reason=reason.encode("latin-1")
        )
        data = self.h11.send(response)
        if isinstance(content, bytes):
            if content:
                data += self.h11.send(h11.Data(data=content))
        else:
            self.writer.write(data)
            data = b""
            await self._send_pieces(content)
        data += self.h11.send(h11.EndOfMessage())
        self.writer.write(data)
        await self._drain()

    async def _drain(self) -> None:
        """Wait, up to body_timeout, until the client has taken what was written.

        When the socket took it all at once, ``drain`` cannot wait (the
        transport pauses only above its high-water mark): no wait_for then.
        """
        if self.writer.transport.get_write_buffer_size() == 0:
            await self.writer.drain()
        else:
            await asyncio.wait_for(self.writer.drain(), self.limits.body_timeout)

    async def _send_pieces(self, content: Iterable[bytes]) -> None:
        """A body without Content-Length (h11 frames it: chunked on HTTP/1.1), each
        piece produced in the pool (producing may cost CPU) and sent before the
        next is asked for: the whole body is never held here."""
        pieces = iter(content)
        try:
            while True:
                try:
                    piece = await self.worker.in_pool(next, pieces, None)
                except Exception:
                    # The status line is gone: closing mid-body is all that is left.
                    LOG.exception("The application failed while streaming a body")
                    raise ConnectionError("the body could not be produced") from None
                if piece is None:
                    return
                if piece:
                    self.writer.write(self.h11.send(h11.Data(data=piece)))
                    await self._drain()
        finally:
            _close(content)

    async def _send_error(self, status: int, message: str) -> None:
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return  # a response is under way: closing is all that is left
        with contextlib.suppress(Exception):
            self.writer.write(error_bytes(status, message))
            await asyncio.wait_for(self.writer.drain(), 1.0)


def _too_large(limit: int) -> ClientError:
    # Made when raised: every request used to build it (and a 408) beforehand.
    return ClientError(413, f"The request body is larger than {limit} bytes.")


def _keeps_alive(request: h11.Request, fields: list[tuple[bytes, bytes]]) -> bool:
    """Whether the client asked to keep the connection (HTTP/1.1, no ``close``)."""
    if request.http_version != b"1.1":
        return False
    return not any(name == b"connection" and b"close" in value.lower() for name, value in fields)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """Give ``future`` (an ``in_pool`` call's) its outcome, unless it was cancelled."""
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _close(content: Any) -> None:
    """Close a WSGI body iterable, as PEP 3333 asks of the server."""
    close = getattr(content, "close", None)
    if close is not None:
        close()


class FrontWorker(Worker):
    """A gunicorn worker: an event loop reads requests, threads run the app."""

    @property
    def limits(self) -> Settings:
        return self.app.settings

    def run(self) -> None:
        asyncio.run(self._main())

    def call_app(
        self, environ: dict[str, Any]
    ) -> tuple[str, list[tuple[str, str]], bytes | Iterable[bytes]]:
        """Run the WSGI app on a complete request (in a pool thread).

        A body with a Content-Length is collected here, whole; one without
        (a streamed answer) is returned as the app's iterable, to be pulled
        piece by piece while it is sent.
        """
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None and captured:
                raise exc_info[1].with_traceback(exc_info[2])
            captured["status"], captured["headers"] = status, list(headers)
            return chunks.append

        result = self.wsgi(environ, start_response)
        sized = any(name.lower() == "content-length" for name, _ in captured.get("headers", ()))
        if captured and not sized and not chunks:
            return captured["status"], captured["headers"], result
        try:
            chunks.extend(result)
        finally:
            _close(result)
        return captured["status"], captured["headers"], b"".join(chunks)

    def in_pool(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """``fn(*args)`` in a pool thread, awaited in the loop.

        ``loop.run_in_executor`` without its second future: that wraps the
        pool's future in an asyncio one and copies the outcome across with a
        callback on each side (two loop steps per request); here the thread
        settles the asyncio future itself, in one ``call_soon_threadsafe``.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def run() -> None:
            if future.cancelled():
                return  # as run_in_executor: what was cancelled before it started never runs
            try:
                outcome: tuple[Any, BaseException | None] = (fn(*args), None)
            except BaseException as error:  # as the pool's future would hold it
                outcome = (None, error)
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(_settle, future, *outcome)

        self.pool.submit(run)
        return future

    def server_address(self, writer: asyncio.StreamWriter) -> tuple[str, int]:
        sockname = writer.get_extra_info("sockname")
        if isinstance(sockname, tuple) and len(sockname) >= 2:
            return str(sockname[0]), int(sockname[1])
        return "localhost", 0

    async def _main(self) -> None:
        self.pool = ThreadPoolExecutor(self.cfg.threads, thread_name_prefix="allotment")
        self.connections: set[asyncio.Task[None]] = set()
        self.busy: set[asyncio.Task[Any] | None] = set()
        self.balance = Balance(
            getattr(self.app, "accept_board", None), getattr(self, "accept_slot", None), self.pid
        )
        self._publish_connections()  # none yet: the other workers defer to this one
        takers = [asyncio.create_task(self._take(listener.sock)) for listener in self.sockets]
        try:
            while self.alive:
                self.notify()
                self._publish_connections()  # also says this worker still accepts
                if self.ppid != os.getppid():
                    self.log.info("Parent changed, shutting down: %s", self)
                    break
                await asyncio.sleep(1.0)
        finally:
            for taker in takers:
                taker.cancel()
            self.balance.withdraw()  # nothing is deferred or moved to it while it drains
            await self._drain()
            self.pool.shutdown(wait=True)

    async def _take(self, sock: socket.socket) -> None:
        """Accept connections on ``sock`` one at a time, for as long as the worker runs.

        Not ``asyncio.start_server``: its accept loop drains the whole queue
        on one wake-up, so the worker that woke first took every connection
        a burst of clients opened, and keep-alive clients then stayed on it
        while the other workers idled (at 16 claimers, one of two workers
        served them all). Here a worker takes one connection at a time, and
        first waits for its turn (``accept_board.Balance.my_turn``).
        """
        loop = asyncio.get_running_loop()
        sock.setblocking(False)  # as start_server did: accept must never block the loop
        while True:
            await self.balance.my_turn(self.connections)
            conn: socket.socket | None = None
            try:
                conn, _ = await loop.sock_accept(sock)
                reader, writer = await asyncio.open_connection(sock=conn)
            except OSError as error:  # out of descriptors, a connection reset at once
                self.log.warning("accept failed: %s", error)
                if conn is not None:
                    conn.close()
                await asyncio.sleep(ACCEPT_RETRY_SECONDS)
                continue
            # The task holds itself in self.connections from its first step.
            asyncio.create_task(self._accept(reader, writer))
            await asyncio.sleep(0)  # let it count itself before the next turn

    def _publish_connections(self) -> None:
        self.balance.publish(len(self.connections))

    async def _drain(self) -> None:
        """Close idle connections now; let requests in progress finish, up to
        gunicorn's graceful timeout."""
        for task in self.connections - self.busy:
            task.cancel()
        busy = {task for task in self.busy if task is not None and not task.done()}
        if busy:
            _, pending = await asyncio.wait(busy, timeout=self.cfg.graceful_timeout)
            for task in pending:
                task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            if len(self.connections) >= self.limits.max_connections:
                message = "Too many open connections; try again later."
                with contextlib.suppress(Exception):
                    writer.write(error_bytes(503, message, "retry-after: 1\r\n"))
                    await asyncio.wait_for(writer.drain(), 1.0)
                return
            self.connections.add(task)
            self._publish_connections()
            await Connection(self, reader, writer).serve()
        except asyncio.CancelledError:
            pass  # closed by a shutdown
        finally:
            self.connections.discard(task)
            self._publish_connections()
            self.busy.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
