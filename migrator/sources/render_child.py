"""The renderer child: a process that renders Alembic revisions for :mod:`.isolated`.

Started by the parent with a scrubbed environment and fds 0/1/2 on /dev/null, it isolates
itself before any revision code runs:

- network: a new (user and) network namespace when the kernel allows it, so the process has no
  interface but a loopback that is down; in any case ``socket`` refuses to create sockets, and
  each attempt is an error finding on the revision line that made it;
- output: fds 1 and 2 go to in-memory files, ``sys.stdout`` / ``sys.stderr`` to
  counters; what a revision writes is measured after it and discarded (fd-level writes to
  standard output, and more than ``OUTPUT_BUDGET`` in all, are error findings);
- ``os._exit()`` raises instead of ending the process (an error finding on its line); a real
  death (a signal, running out of memory) is seen by the parent;
- resources: address space, file size and core dumps are limited;
- time: an interval timer stops a revision that runs past its budget, on the line it was
  running.

Requests and answers travel as length-prefixed JSON over two pipes whose numbers the parent
passes on the command line; nothing is ever written to the parent's stdout.
"""

from __future__ import annotations

import builtins
import ctypes
import importlib.util
import json
import os
import resource
import signal
import socket
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..model import Finding, Location, Severity
from .alembic_offline import Budget, OfflineRenderer, RenderStopped

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
OUTPUT_BUDGET = 10 * 1024 * 1024  # bytes a revision may print while rendering
FILE_SIZE_LIMIT = 160 * 1024 * 1024
ADDRESS_SPACE_LIMIT = 4 * 1024 * 1024 * 1024
NETWORK_REFUSED = ("network access is refused while migrator renders revisions (revision code "
                   "runs isolated, with no network)")


# -- isolation set up once, before any revision code -------------------------------------------

def isolate_network() -> str:
    """Enter a new network namespace: 'namespace', or 'none' when the kernel refuses."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        for flags in (CLONE_NEWUSER | CLONE_NEWNET, CLONE_NEWNET):
            if libc.unshare(flags) == 0:
                return "namespace"
    except (OSError, AttributeError):
        pass
    return "none"


class _Events:
    """Isolation events of the revision being rendered: (message, revision line)."""

    real_path: str | None = None
    found: list[tuple[str, int]] = []

    @classmethod
    def add(cls, message: str) -> None:
        line = 1
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == cls.real_path:
                line = frame.f_lineno or 1
                break
            frame = frame.f_back
        if (message, line) not in cls.found:
            cls.found.append((message, line))


def _refuse_network(what: str):
    def refused(*args: Any, **kwargs: Any) -> Any:
        _Events.add(f"tried to open a network connection ({what}) while rendering; it got "
                    f"nothing: {NETWORK_REFUSED}. A revision must not depend on the network")
        raise PermissionError(13, NETWORK_REFUSED)

    return refused


def refuse_sockets() -> None:
    import _socket

    class RefusedSocket(socket.socket):
        __init__ = _refuse_network("socket.socket")

    socket.socket = RefusedSocket  # type: ignore[misc]
    _socket.socket = RefusedSocket  # type: ignore[misc]
    for name in ("create_connection", "create_server", "socketpair", "fromfd", "getaddrinfo",
                 "gethostbyname", "gethostbyname_ex"):
        if hasattr(socket, name):
            setattr(socket, name, _refuse_network(f"socket.{name}"))


def refuse_exit() -> None:
    def _exit(status: int = 0) -> None:
        _Events.add(f"called os._exit({status}) while rendering: migrator kept the process "
                    "alive; what follows that call was not checked")
        raise RenderStopped(f"called os._exit({status}); rendering stopped here")

    os._exit = _exit  # type: ignore[assignment]


def limit_resources() -> None:
    for which, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT),
                         (resource.RLIMIT_AS, ADDRESS_SPACE_LIMIT)):
        try:
            soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            pass


class _Counter:
    """sys.stdout / sys.stderr of the child: counts what revision code prints, keeps nothing."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self) -> None:
        self.count = 0
        self.stopped = False

    def write(self, text: Any) -> int:
        n = len(text) if isinstance(text, (str, bytes)) else 0
        self.count += n
        if _Output.total() > OUTPUT_BUDGET and not self.stopped:
            self.stopped = True
            raise RenderStopped(f"printed more than {OUTPUT_BUDGET // (1024 * 1024)} MB while "
                                "rendering (output budget); rendering stopped here")
        return n

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("no file descriptor while rendering")


class _Output:
    """fds 1 and 2 on unlinked files (measured, then emptied, per revision) and the counters."""

    stdout = _Counter()
    stderr = _Counter()

    @classmethod
    def install(cls) -> None:
        for fd in (1, 2):
            try:  # in memory, never on disk
                tmp = os.memfd_create(f"migrator-render-fd{fd}")
            except (AttributeError, OSError):
                tmp = os.dup(tempfile.TemporaryFile().fileno())
            os.dup2(tmp, fd)
            os.close(tmp)
        sys.stdout, sys.stderr = cls.stdout, cls.stderr  # type: ignore[assignment]
        sys.__stdout__ = sys.__stderr__ = None  # type: ignore[misc]

    @classmethod
    def reset(cls) -> None:
        for fd in (1, 2):
            try:
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
            except OSError:
                pass
        cls.stdout.count = cls.stderr.count = 0
        cls.stdout.stopped = cls.stderr.stopped = False

    @staticmethod
    def fd_size(fd: int) -> int:
        try:
            return max(os.fstat(fd).st_size, os.lseek(fd, 0, os.SEEK_CUR))
        except OSError:
            return 0

    @classmethod
    def total(cls) -> int:
        return cls.stdout.count + cls.stderr.count + cls.fd_size(1) + cls.fd_size(2)

    @staticmethod
    def head(fd: int) -> str:
        try:
            return os.pread(fd, 80, 0).decode("utf-8", "replace")
        except OSError:
            return ""


# -- which project files a revision read --------------------------------------------------------

class ImportTracker:
    """Wraps ``__import__`` to note the project's own modules a revision imports, directly or
    through other modules, even when an earlier revision imported them first."""

    def __init__(self) -> None:
        self.roots: list[str] = []
        self.excluded = [p for p in {sys.prefix, sys.base_prefix, sys.exec_prefix} if p]
        self.deps: dict[str, set[str]] = {}
        self.stack: list[set[str]] = [set()]
        self._real = builtins.__import__

    def local_file(self, name: str) -> str | None:
        if name == "migrator" or name.startswith("migrator."):
            return None
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            return None
        path = os.path.realpath(path)
        if ("site-packages" in path or "dist-packages" in path
                or any(path.startswith(p + os.sep) for p in self.excluded)):
            return None
        return path if any(path.startswith(r + os.sep) for r in self.roots) else None

    def files_of(self, name: str) -> set[str]:
        if name in self.deps:
            return self.deps[name]
        own = self.local_file(name)
        return {own} if own else set()

    def __call__(self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                 level: int = 0) -> Any:
        before = len(sys.modules)
        frame: set[str] = set()
        self.stack.append(frame)
        try:
            module = self._real(name, globals, locals, fromlist, level)
        finally:
            self.stack.pop()
        if len(sys.modules) != before:
            for new in list(sys.modules)[before:]:
                own = self.local_file(new)
                if own:
                    self.deps[new] = frame | {own}
        try:
            absolute = importlib.util.resolve_name("." * level + name, (globals or {}).get(
                "__package__")) if level else name
        except (ImportError, ValueError):
            return module
        touched = set()
        parts = absolute.split(".")
        touched.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        touched.update(f"{absolute}.{item}" for item in (fromlist or ()) if isinstance(item, str))
        for mod in touched:
            self.stack[-1].update(self.files_of(mod))
        return module

    def begin(self) -> None:
        self.stack = [set()]

    def forget(self) -> None:
        """Drop the previous project's own modules, so the next project imports its own."""
        for name in [n for n in list(sys.modules) if self.local_file(n)]:
            sys.modules.pop(name, None)
        self.deps.clear()

    def read(self, revision_path: str) -> list[str]:
        return sorted(f for f in self.stack[0] if f != revision_path)


# -- the protocol -------------------------------------------------------------------------------

def send(fd: int, obj: Any) -> None:
    data = json.dumps(obj).encode("utf-8")
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def receive(fd: int) -> Any | None:
    def exactly(n: int) -> bytes | None:
        chunks, left = [], n
        while left:
            chunk = os.read(fd, left)
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    head = exactly(4)
    if head is None:
        return None
    body = exactly(struct.unpack(">I", head)[0])
    return None if body is None else json.loads(body)


def source_dict(src: Any) -> dict:
    return {
        "path": src.path, "revision": src.revision, "down_revisions": list(src.down_revisions),
        "depends_on": list(src.depends_on), "branch_labels": list(src.branch_labels),
        "release": src.release, "declared_phase": src.declared_phase, "kind": src.kind,
        "text": src.text, "checksum": src.checksum, "read_files": list(src.read_files),
        "read_env": list(src.read_env),
        "statements": [[s.sql, s.loc.line, s.loc.column, s.in_transaction, s.note, s.previous_type]
                       for s in src.statements],
        "diagnostics": [[f.rule, f.severity.value, f.loc.line, f.loc.column, f.message, f.fix]
                        for f in src.diagnostics],
    }


# -- one revision -------------------------------------------------------------------------------

class _Timer:
    armed = False
    seconds = 10.0

    @classmethod
    def expired(cls, signum: int, frame: Any) -> None:
        if cls.armed:
            cls.armed = False
            raise RenderStopped(f"still running after {cls.seconds:g} s (render_timeout): "
                                "stopped here; an endless loop (over query results?)")

    @classmethod
    def start(cls) -> None:
        cls.armed = True
        signal.setitimer(signal.ITIMER_REAL, cls.seconds)

    @classmethod
    def stop(cls) -> None:
        cls.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)


def render(renderer: OfflineRenderer, tracker: ImportTracker, path: str, display: str,
           function: str = "upgrade") -> dict:
    real = os.path.realpath(path)
    _Events.real_path, _Events.found = real, []
    _Output.reset()
    tracker.begin()
    _Timer.start()
    try:
        src = renderer.render(Path(path), display, function)
    except RenderStopped as e:  # the budget ran out outside the revision's own frames
        from ..model import MigrationSource

        src = MigrationSource(path=display, kind="alembic")
        src.diagnostics = [Finding("revision-render-error", Severity.ERROR,
                                   Location(display, 1, 1), e.message)]
    finally:
        _Timer.stop()
    src.read_files = tuple(tracker.read(real))
    stopped_at = {f.loc.line for f in src.diagnostics
                  if f.rule == "revision-render-error" and f.severity is Severity.ERROR}
    for message, line in _Events.found:
        if "os._exit" in message and line in stopped_at:
            continue
        src.diagnostics.append(Finding("revision-render-error", Severity.ERROR,
                                       Location(display, line, 1), message))
    raw_out = _Output.fd_size(1)
    if raw_out:
        head = _Output.head(1)
        src.diagnostics.append(Finding(
            "revision-render-error", Severity.ERROR, Location(display, 1, 1),
            f"wrote {raw_out} bytes straight to file descriptor 1 (standard output, around "
            f"sys.stdout), starting {head[:60]!r}: under `alembic upgrade --sql` that text lands "
            "in the SQL script unchecked, and it would corrupt a report on stdout. migrator "
            "discarded it; log through sys.stdout/logging, emit SQL with op.execute()"))
    total = _Output.total()
    if total > OUTPUT_BUDGET and not any("output budget" in f.message for f in src.diagnostics):
        src.diagnostics.append(Finding(
            "revision-render-error", Severity.ERROR, Location(display, 1, 1),
            f"wrote {total / (1024 * 1024):.1f} MB of output while rendering (output budget "
            f"{OUTPUT_BUDGET // (1024 * 1024)} MB); the output was discarded"))
    _Output.reset()
    return source_dict(src)


def main(cmd_fd: int, res_fd: int) -> None:
    network = isolate_network()
    refuse_sockets()
    refuse_exit()
    limit_resources()
    _Output.install()
    signal.signal(signal.SIGALRM, _Timer.expired)
    # warm up what every render needs
    import alembic.operations  # noqa: F401
    import alembic.runtime.environment  # noqa: F401
    import sqlglot  # noqa: F401

    from . import offline_engine  # noqa: F401

    tracker = ImportTracker()
    builtins.__import__ = tracker
    renderer: OfflineRenderer | None = None
    try:
        while True:
            request = receive(cmd_fd)
            if request is None:
                break
            if "setup" in request:
                if renderer is not None:
                    renderer.__exit__(None, None, None)
                    tracker.forget()
                renderer = _configure(request["setup"], tracker)
                send(res_fd, {"ready": True, "network": network})
            elif renderer is not None:
                send(res_fd, {"source": render(renderer, tracker, request["path"], request["display"],
                                               request.get("function", "upgrade"))})
    finally:
        if renderer is not None:
            renderer.__exit__(None, None, None)


def _configure(setup: dict, tracker: ImportTracker) -> OfflineRenderer:
    """Set up for one project (one batch of revisions from the parent)."""
    os.chdir(setup["cwd"])
    _Timer.seconds = float(setup["timeout"])
    budget = Budget(max_statements=int(setup["max_statements"]))
    tracker.roots = [os.path.realpath(p) for p in setup["front"] + setup["back"]]
    ini = Path(setup["ini_path"]) if setup.get("ini_path") else None
    renderer = OfflineRenderer(setup["front"], setup["back"], ini, budget).__enter__()
    sys.stdout = _Output.stdout  # OfflineRenderer redirected it to a buffer that keeps all
    return renderer
