"""``migrator serve``: the readiness gate over HTTP (stdlib ``http.server``, one thread per
connection, HTTP/1.1 keep-alive).

- probe mode, for Kubernetes readiness probes: ``GET /healthz/schema?release=V[&gate=ready]``
  -> 200 when the gate passes, 503 when it fails or the answer is unknown; body
  ``application/health+json`` with ``status`` pass | warn | fail;
- decision mode, for Argo Rollouts web metrics and pipeline webhooks:
  ``GET /v1/gate/{ready|contract|rollback}?release=V`` -> always 200 with the gate's JSON
  document (``verdict`` and, for ``successCondition: result == "pass"``, ``result``);
- ``GET /livez``: the server itself is up (200, never touches the database).

4xx only for a bad request: 400 bad or missing release, 404 unknown path or gate, 405 any method
but GET, 414 / 431 oversized request line / headers. Read-only sessions; answers come from a
short-lived cache so a probe stays fast; a database that goes away gives ``unknown`` / 503 and the
server recovers on its own when it returns (pre-ping on every pooled connection).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..config import Config
from ..dburl import redact_text
from ..errors import UsageError
from ..releases import parse_release
from .core import GATES, NO_CATALOG, PASS, GateResult, Reason, evaluate

MAX_REQUEST_LINE = 8192
MAX_HEADER_BYTES = 16384
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
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

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


class GateServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(service: GateService, host: str = "127.0.0.1", port: int = 8080, *,
                access_log: bool = False) -> GateServer:
    handler = type("BoundGateHandler", (GateHandler,), {"service": service, "access_log": access_log})
    return GateServer((host, port), handler)


__all__ = ["GateService", "GateServer", "health_document", "make_server"]
