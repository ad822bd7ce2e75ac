"""Webhook notifications for phase and backfill events.

``notify(config, "expand.finished", release="1.2.0", ...)`` posts to every webhook configured in
``[tool.migrator] webhooks = [{url = "...", format = "cloudevents" | "slack", timeout = 2,
events = ["contract.*"], headers = {...}}]``:

- ``cloudevents`` (default): CloudEvents 1.0 in structured mode
  (``application/cloudevents+json``; specversion, id, source, type ``dev.migrator.<event>``,
  time, datacontenttype, subject, data);
- ``slack``: ``{"text": "..."}`` for Slack-compatible incoming webhooks.

Delivery never fails or blocks a migration: each post runs in a daemon thread with a bounded
timeout; at interpreter exit pending posts are joined for at most their timeout. Failures are
logged to stderr with the receiver's scheme and host only (webhook URLs often carry tokens).

Redirects are never followed: a 3xx answer is logged as a failed delivery naming where it
pointed (scheme and host), so the ``Authorization`` header and custom headers only ever go to
the configured URL, never to a host a receiver redirects to.
"""

from __future__ import annotations

import atexit
import base64
import fnmatch
import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ..dburl import redact_text
from ..errors import UsageError

FORMATS = ("cloudevents", "slack")
DEFAULT_TIMEOUT = 2.0
MAX_TIMEOUT = 30.0
EVENT_TYPE_PREFIX = "dev.migrator."

_pending: set[threading.Thread] = set()
_lock = threading.Lock()


def validate_webhooks(webhooks: Any, *, path: str | None = None) -> list[dict]:
    """Check the ``webhooks`` setting; a bad entry is a UsageError naming it."""
    if webhooks is None:
        return []
    if not isinstance(webhooks, list):
        raise UsageError("webhooks must be a list of tables like {url = \"https://...\"}", path=path)
    out = []
    for n, hook in enumerate(webhooks, 1):
        where = f"webhooks[{n}]"
        if not isinstance(hook, dict):
            raise UsageError(f"{where} must be a table like {{url = \"https://...\"}}", path=path)
        url = hook.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise UsageError(f"{where}.url must be an http(s) URL", path=path)
        fmt = hook.get("format", "cloudevents")
        if fmt not in FORMATS:
            raise UsageError(f"{where}.format must be one of {', '.join(FORMATS)}, got {fmt!r}", path=path)
        timeout = hook.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT:
            raise UsageError(f"{where}.timeout must be a number of seconds in (0, {MAX_TIMEOUT:g}]", path=path)
        events = hook.get("events", ["*"])
        if isinstance(events, str):
            events = [events]
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise UsageError(f"{where}.events must be a list of event patterns like \"contract.*\"", path=path)
        headers = hook.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise UsageError(f"{where}.headers must be a table of strings", path=path)
        out.append({"url": url, "format": fmt, "timeout": float(timeout), "events": events,
                    "headers": headers, "source": hook.get("source")})
    return out


def safe_target(url: str) -> str:
    """What may be printed about a receiver: scheme and host, never path, query or credentials."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _clean(value: Any) -> Any:
    """JSON-ready data with passwords removed from every string."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return redact_text(str(value))


def build_cloudevent(event: str, data: dict, *, source: str | None = None) -> dict:
    doc = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source or f"urn:migrator:{socket.gethostname()}",
        "type": EVENT_TYPE_PREFIX + event,
        "time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }
    if data.get("release"):
        doc["subject"] = str(data["release"])
    return doc


def build_slack(event: str, data: dict) -> dict:
    phase, _, what = event.partition(".")
    icon = {"failed": ":x:", "finished": ":white_check_mark:", "started": ":arrow_forward:"}.get(what, ":information_source:")
    head = f"{icon} migrator {phase} {what}".rstrip()
    if data.get("release"):
        head += f" (release {data['release']})"
    details = []
    for key, value in data.items():
        if key == "release" or value in (None, "", [], {}):
            continue
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for item in value[:10]:  # e.g. migrations: one line each
                name = item.get("revision") or item.get("name") or "?"
                rest = ", ".join(f"{k} {v}" for k, v in item.items()
                                 if k not in ("revision", "name") and v not in (None, "", [], {}))
                details.append(f"• {name}: {rest}" if rest else f"• {name}")
            if len(value) > 10:
                details.append(f"• … and {len(value) - 10} more")
        elif isinstance(value, dict):
            details.append(f"{key}: " + ", ".join(f"{k} {v}" for k, v in value.items() if v is not None))
        else:
            details.append(f"{key}: {value}")
    return {"text": head + ("\n" + "\n".join(details[:24]) if details else "")}


def _wants(hook: dict, event: str) -> bool:
    return any(fnmatch.fnmatchcase(event, pattern) for pattern in hook["events"])


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: the 3xx answer surfaces as an HTTPError."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post(hook: dict, event: str, body: bytes, content_type: str) -> None:
    headers = {"Content-Type": content_type, "User-Agent": "migrator-webhook/1", **hook["headers"]}
    if hook["format"] == "cloudevents":
        headers.setdefault("Accept", "application/json")
    url = hook["url"]
    parts = urlsplit(url)
    if parts.username is not None:  # credentials in the URL become a Basic auth header
        token = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()).decode()
        headers.setdefault("Authorization", f"Basic {token}")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.monotonic()
    try:
        with _OPENER.open(request, timeout=hook["timeout"]) as response:
            response.read(65536)
    except urllib.error.HTTPError as e:
        location = e.headers.get("Location") if e.headers is not None and 300 <= e.code < 400 else None
        if location:
            target = safe_target(urllib.parse.urljoin(url, location))
            _log(hook, event, f"HTTP {e.code} redirect to {target} not followed "
                              "(webhooks never follow redirects: configure the final URL)")
        else:
            _log(hook, event, f"HTTP {e.code}")
    except (TimeoutError, socket.timeout):
        _log(hook, event, f"no answer within {hook['timeout']:g}s")
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            _log(hook, event, f"no answer within {hook['timeout']:g}s")
        else:
            _log(hook, event, redact_text(str(reason)))
    except Exception as e:  # noqa: BLE001 - a receiver must never break a migration
        _log(hook, event, f"{type(e).__name__} after {time.monotonic() - started:.1f}s")


def _log(hook: dict, event: str, why: str) -> None:
    try:
        sys.stderr.write(f"migrator: webhook {safe_target(hook['url'])} ({event}) failed: {why}\n")
    except Exception:  # noqa: BLE001
        pass


def notify(config, event: str, **data: Any) -> list[threading.Thread]:
    """Post ``event`` with ``data`` to each configured webhook that wants it, in the background.
    Returns at once (the started threads, for tests and ``flush``); never raises."""
    try:
        hooks = validate_webhooks(getattr(config, "webhooks", None) or [])
    except UsageError as e:
        sys.stderr.write(f"migrator: webhooks not sent: {e.render()}\n")
        return []
    clean = _clean(data)
    threads = []
    for hook in hooks:
        if not _wants(hook, event):
            continue
        if hook["format"] == "slack":
            body, ctype = json.dumps(build_slack(event, clean)).encode(), "application/json"
        else:
            doc = build_cloudevent(event, clean, source=hook.get("source"))
            body, ctype = json.dumps(doc).encode(), "application/cloudevents+json"
        t = threading.Thread(target=_deliver, args=(hook, event, body, ctype), daemon=True,
                             name=f"migrator-webhook-{event}")
        t.join_timeout = hook["timeout"] + 1.0  # type: ignore[attr-defined]
        with _lock:
            _pending.add(t)
        t.start()
        threads.append(t)
    return threads


def _deliver(hook: dict, event: str, body: bytes, ctype: str) -> None:
    try:
        _post(hook, event, body, ctype)
    finally:
        with _lock:
            _pending.discard(threading.current_thread())


def flush(timeout: float | None = None) -> bool:
    """Wait for pending deliveries, at most ``timeout`` seconds in all (default: the longest
    webhook timeout + 1 s). True when none is left."""
    with _lock:
        threads = list(_pending)
    if not threads:
        return True
    if timeout is None:
        timeout = max(getattr(t, "join_timeout", DEFAULT_TIMEOUT + 1) for t in threads)
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    with _lock:
        return not _pending


atexit.register(flush)
