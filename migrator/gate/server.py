"""``migrator serve``: the readiness gate over HTTP (stdlib ``http.server``, HTTP/1.1 keep-alive).

Connections are bounded: until a connection has sent a whole request head (a silent or trickling
client, a keep-alive connection between requests), it waits in one selector and holds no thread;
a small pool of workers answers the complete requests, so a probe stays fast while hundreds of
slow clients are connected. A connection that sends no complete request within ``idle_timeout``
is closed; beyond ``max_connections`` open connections a new one gets 503 and is closed at once.

- probe mode, for Kubernetes readiness probes: ``GET /healthz/schema?release=V[&gate=ready]``
  -> 200 when the gate passes, 503 when it fails or the answer is unknown; body
  ``application/health+json`` with ``status`` pass | warn | fail;
- decision mode, for Argo Rollouts web metrics and pipeline webhooks:
  ``GET /v1/gate/{ready|contract|rollback}?release=V`` -> always 200 with the gate's JSON
  document (``verdict`` and, for ``successCondition: result == "pass"``, ``result``);
- ``GET /livez``: the server itself is up (200, never touches the database).

4xx only for a bad request: 400 bad or missing release or a malformed (or HTTP/0.9) request line, 404 unknown path or gate, 405 any method
but GET, 414 / 431 oversized request line / headers. Read-only sessions; answers come from a
short-lived cache so a probe stays fast; a database that goes away gives ``unknown`` / 503 and the
server recovers on its own when it returns (pre-ping on every pooled connection).
"""

from __future__ import annotations

import io
import json
import selectors
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from ..config import Config
from ..dburl import redact_text
from ..errors import UsageError
from ..releases import parse_release
from .core import GATES, NO_CATALOG, PASS, GateResult, Reason, evaluate

MAX_REQUEST_LINE = 8192
MAX_HEADER_BYTES = 16384
def _fd_budget(wanted: int = 4096) -> int:
    """Open connections allowed: ``wanted``, less when the process may not open that many files."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return 1024
    return wanted if soft == resource.RLIM_INFINITY else max(64, min(wanted, soft - 64))


MAX_CONNECTIONS = _fd_budget()  # open connections, idle ones included (the file limit permitting)
WORKERS = 16  # connections being read from or answered at the same time
IDLE_TIMEOUT = 30.0  # seconds a connection may stay open without sending a request
HEALTH_JSON = "application/health+json"
JSON = "application/json"


class GateService:
    """Gate answers with a per-(gate, release) cache of ``cache_ttl`` seconds; one evaluation at a
    time per key, so a burst of probes costs one database round trip."""

    def __init__(self, engine, config: Config, catalog=None, *, cache_ttl: float = 1.5,
                 default_release: str | None = None):
        self.engine = engine
        self.config = config
        self.catalog = NO_CATALOG if catalog is None else catalog
        self.cache_ttl = cache_ttl
        self.default_release = default_release
        self._cache: dict[tuple[str, str], tuple[float, GateResult]] = {}  # key -> (read started at, result)
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def answer(self, kind: str, release: str) -> tuple[GateResult, float]:
        """(result, age in seconds)."""
        key = (kind, release)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit and now - hit[0] < self.cache_ttl:
            return hit[1], now - hit[0]
        with self._guard:
            if len(self._locks) > 1024:  # releases come from requests: bound what they can grow
                self._cache.clear()
                self._locks.clear()
            lock = self._locks.setdefault(key, threading.Lock())
        arrived = now
        with lock:
            hit = self._cache.get(key)
            now = time.monotonic()
            # fresh enough, or computed while this request waited for the lock (so never older
            # than the request itself): concurrent requests share one evaluation even with ttl 0
            if hit and (now - hit[0] < self.cache_ttl or hit[0] >= arrived):
                return hit[1], now - hit[0]
            started = time.monotonic()  # the answer is as old as the read that made it
            result = evaluate(kind, release, engine=self.engine, config=self.config, catalog=self.catalog)
            self._cache[key] = (started, result)
            return result, 0.0


def health_document(result: GateResult, age: float) -> dict:
    if result.verdict == PASS:
        status = "warn" if result.warnings else "pass"
    else:
        status = "fail"
    doc = {
        "status": status,
        "version": "1",
        "description": f"migrator schema gate {result.gate} for release {result.release}",
        "gate": result.gate,
        "release": result.release,
        "verdict": result.verdict,
        "notes": [r.message for r in result.reasons],
        "checks": {
            f"migrator:{result.gate}": [{
                "componentType": "datastore",
                "observedValue": result.verdict,
                "status": status,
                "time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                "output": result.summary() if status != "pass" else "",
            }],
        },
        "window": result.as_dict()["window"],
        "cache_age_ms": round(age * 1000, 1),
    }
    if status != "pass":
        doc["output"] = result.summary()
    return doc


class GateHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "migrator-gate/1"
    timeout = 30  # an idle or trickling client loses its connection
    service: GateService  # set on the subclass built by make_server
    access_log = False

    def setup(self) -> None:
        super().setup()
        prefetched = getattr(self.server, "prefetched", {}).pop(self.connection, b"")
        if prefetched:  # what the server read while waiting for the request head
            self.rfile = io.BufferedReader(_Prefixed(self.connection, prefetched))
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def handle(self) -> None:
        """Answer the requests already sent, then give the connection back to the server's
        selector (keep-alive) instead of holding a worker while the client is quiet."""
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection and self._more_buffered():
            self.handle_one_request()
        self.keep_alive = not self.close_connection

    def _more_buffered(self) -> bool:
        """Whether a pipelined request already sits in our read buffer (the selector cannot see it)."""
        try:
            self.connection.setblocking(False)
            try:
                return bool(self.rfile.peek(1))
            finally:
                self.connection.settimeout(self.timeout)
        except (OSError, ValueError):
            return False

    def parse_request(self) -> bool:
        # "GET /livez" with no version is an HTTP/0.9 request line: the stdlib would answer it with
        # no status line (and our headers buffer would not exist); answer 400 like any bad line
        words = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n").split()
        if len(words) == 2:
            self.command, self.path, self.request_version = None, None, "HTTP/1.0"
            self.requestline = " ".join(words)[:200]
            self.close_connection = True
            self._error(400, "HTTP/0.9 request lines are not supported: send 'GET /path HTTP/1.1'")
            return False
        return super().parse_request()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        if self.access_log:
            sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))

    def _send(self, code: int, doc: dict, content_type: str = JSON, extra: dict | None = None) -> None:
        body = (json.dumps(doc, separators=(",", ":")) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        # Headers and body leave in one write: two small writes on a keep-alive connection meet
        # Nagle's algorithm and the client's delayed ACK, and a probe would take 40 ms.
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def _error(self, code: int, message: str, extra: dict | None = None) -> None:
        self._send(code, {"error": message, "status": code}, extra=extra)

    def _oversized(self) -> bool:
        if len(self.requestline) > MAX_REQUEST_LINE:
            self.close_connection = True
            self._error(414, f"request line longer than {MAX_REQUEST_LINE} bytes")
            return True
        if len(str(self.headers)) > MAX_HEADER_BYTES:
            self.close_connection = True
            self._error(431, f"request headers larger than {MAX_HEADER_BYTES} bytes")
            return True
        return False

    def _not_allowed(self) -> None:
        if self._oversized():
            return
        self.close_connection = True
        self._error(405, f"method {self.command} not allowed: this server only answers GET",
                    {"Allow": "GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self._oversized():
            return
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        path = parts.path.rstrip("/") or "/"
        if path == "/livez":
            self._send(200, {"status": "pass"}, HEALTH_JSON)
            return
        if path == "/healthz/schema":
            kind = (query.get("gate") or ["ready"])[-1]
            probe = True
        elif path.startswith("/v1/gate/") and path.count("/") == 3:
            kind = path.rsplit("/", 1)[1]
            probe = False
        else:
            self._error(404, f"no such endpoint {parts.path!r}: try /healthz/schema?release=V or "
                        "/v1/gate/{ready|contract|rollback}?release=V")
            return
        if kind not in GATES:
            self._error(404, f"unknown gate {kind!r}: expected one of {', '.join(GATES)}")
            return
        release = (query.get("release") or [self.service.default_release or ""])[-1]
        try:
            release = str(parse_release(release))
        except UsageError as e:
            self._error(400, e.message)
            return
        try:
            result, age = self.service.answer(kind, release)
        except UsageError as e:  # configuration trouble: the gate cannot answer
            result, age = GateResult(kind, release, "unknown", [Reason("configuration", e.render())]), 0.0
        except Exception as e:  # noqa: BLE001 - a bug: say so, keep serving, no traceback to clients
            sys.stderr.write(f"migrator serve: internal error: {redact_text(type(e).__name__ + ': ' + str(e))}\n")
            self._error(500, "internal error (see the server's log)")
            return
        if probe:
            doc = health_document(result, age)
            self._send(200 if result.verdict == PASS else 503, doc, HEALTH_JSON)
        else:
            doc = result.as_dict()
            doc["cache_age_ms"] = round(age * 1000, 1)
            self._send(200, doc)


class _Prefixed(socket.SocketIO):
    """A socket's reading side that first gives back bytes already received."""

    def __init__(self, sock: socket.socket, prefix: bytes):
        super().__init__(sock, "rb")
        self._prefix = memoryview(prefix)

    def readinto(self, b) -> int | None:
        if self._prefix.nbytes:
            n = min(len(b), self._prefix.nbytes)
            b[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        return super().readinto(b)


def _head_complete(data: bytes) -> bool:
    """Whether ``data`` holds a whole request head (or enough to refuse it)."""
    if len(data) > MAX_REQUEST_LINE + MAX_HEADER_BYTES + 2:
        return True
    line, sep, _ = data.partition(b"\n")
    if not sep:
        return len(line) > MAX_REQUEST_LINE
    if len(line.split()) < 3:  # no version (HTTP/0.9 or garbage): nothing more to wait for
        return True
    return b"\r\n\r\n" in data or b"\n\n" in data


class GateServer(HTTPServer):
    """An HTTP server whose idle connections wait in a selector (no thread each), served by a
    fixed pool of workers, with at most ``max_connections`` open connections."""

    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, *, max_connections: int = MAX_CONNECTIONS,
                 workers: int = WORKERS, idle_timeout: float = IDLE_TIMEOUT):
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="migrator-gate")
        self._waiting = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._waiting.register(self._wake_r, selectors.EVENT_READ, None)
        self._guard = threading.RLock()
        self._open = 0
        self._closing = False
        self._idle: dict[socket.socket, float] = {}  # waiting connection -> when it started waiting
        self.prefetched: dict[socket.socket, bytes] = {}  # bytes of a request head read so far
        self._closed_early: list[socket.socket] = []
        self._waiter: threading.Thread | None = None
        super().__init__(address, handler)  # binds: may raise (and then calls server_close)
        self._waiter = threading.Thread(target=self._wait_loop, name="migrator-gate-idle", daemon=True)
        self._waiter.start()

    def process_request(self, request, client_address) -> None:
        with self._guard:
            full = self._open >= self.max_connections
            if not full:
                self._open += 1
        if full:
            self._refuse(request)
            return
        self._park(request, client_address)

    def _refuse(self, request) -> None:
        body = b'{"error":"too many connections","status":503}\n'
        try:
            request.settimeout(1.0)
            request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                            b"Connection: close\r\nRetry-After: 1\r\nContent-Length: "
                            + str(len(body)).encode() + b"\r\n\r\n" + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def _park(self, request, client_address) -> None:
        """Wait (in the selector, without a thread) until the client sends something."""
        with self._guard:
            if self._closing:
                self._release(request)
                return
            self._idle[request] = time.monotonic()
            self._waiting.register(request, selectors.EVENT_READ, client_address)
        self._wake_w.send(b"\0")

    def _wait_loop(self) -> None:
        while True:
            try:
                events = self._waiting.select(timeout=1.0)
            except (OSError, ValueError):
                return
            ready = []
            with self._guard:
                if self._closing:
                    return
                for key, _ in events:
                    if key.fileobj is self._wake_r:
                        try:
                            self._wake_r.recv(4096)
                        except OSError:
                            pass
                        continue
                    sock = key.fileobj
                    try:
                        chunk = sock.recv(65536, socket.MSG_DONTWAIT)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        chunk = b""
                    data = self.prefetched.get(sock, b"") + chunk
                    self.prefetched[sock] = data
                    if chunk and not _head_complete(data):
                        continue  # a partial head: keep waiting, without a thread
                    self._waiting.unregister(sock)
                    self._idle.pop(sock, None)
                    if not data:  # closed before sending anything
                        self.prefetched.pop(sock, None)
                        self._closed_early.append(sock)
                        continue
                    ready.append((sock, key.data))
                cutoff = time.monotonic() - self.idle_timeout
                stale = [sock for sock, since in self._idle.items() if since < cutoff]
                for sock in stale:
                    self._waiting.unregister(sock)
                    del self._idle[sock]
                    self.prefetched.pop(sock, None)
                stale += self._closed_early
                self._closed_early = []
            for sock in stale:
                self._release(sock)
            for sock, address in ready:
                try:
                    self._pool.submit(self._serve, sock, address)
                except RuntimeError:  # the pool is shut down
                    self._release(sock)

    def _serve(self, request, client_address) -> None:
        keep = False
        try:
            handler = self.RequestHandlerClass(request, client_address, self)
            keep = bool(getattr(handler, "keep_alive", False))
        except Exception:  # noqa: BLE001 - a broken connection must not end the worker
            keep = False
        if keep:
            self._park(request, client_address)
        else:
            self._release(request)

    def _release(self, request) -> None:
        self.prefetched.pop(request, None)
        self.shutdown_request(request)
        with self._guard:
            self._open -= 1

    def finish_request(self, request, client_address) -> None:  # not used: see _serve
        self.RequestHandlerClass(request, client_address, self)

    def server_close(self) -> None:
        with self._guard:
            self._closing = True
            idle = list(self._idle)
            self._idle.clear()
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass
        if self._waiter is not None:
            self._waiter.join(timeout=5)
        for sock in idle:
            self.shutdown_request(sock)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._waiting.close()
        self._wake_r.close()
        self._wake_w.close()
        super().server_close()


def make_server(service: GateService, host: str = "127.0.0.1", port: int = 8080, *,
                access_log: bool = False, max_connections: int = MAX_CONNECTIONS,
                workers: int = WORKERS, idle_timeout: float = IDLE_TIMEOUT) -> GateServer:
    handler = type("BoundGateHandler", (GateHandler,), {"service": service, "access_log": access_log})
    return GateServer((host, port), handler, max_connections=max_connections, workers=workers,
                      idle_timeout=idle_timeout)


__all__ = ["GateService", "GateServer", "health_document", "make_server"]
