"""Alembic revisions rendered in child processes (:mod:`.render_child`), never in this one.

Revision code is code from the repository being linted: it may read secrets from the
environment, talk to the network, print over the report, loop forever or end the process. So
the linter runs it in a small pool of reusable children, each started with a scrubbed
environment (only the variables named in ``[tool.migrator] render_env``), fds 0/1/2 away from
ours, no network where the OS allows, and a wall-clock and statement budget per revision.
Answers come back as JSON over a dedicated pipe; the report is written only by this process.

A revision that runs past its budget is stopped on its line by the child; one that keeps
running (it swallowed the stop) or kills its child (a signal, ``os.kill``, running out of
memory) is an error finding, the child is replaced, and the other revisions are still rendered.
Nothing a revision does can turn into a clean result.
"""

from __future__ import annotations

import atexit
import os
import re
import select
import signal
import struct
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import UsageError
from ..model import Finding, Location, MigrationSource, Severity, Statement
from .alembic_offline import assignment_line, import_path, ini_sys_path, read_revision_ids

_BOOT = ("import sys; sys.path.append(sys.argv[3]); "
         "from migrator.sources.render_child import main; main(int(sys.argv[1]), int(sys.argv[2]))")
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_START_TIMEOUT = 120.0  # a child importing Alembic on a loaded machine
_GRACE = 3.0  # after the child's own timer should have stopped a revision
_MAX_ANSWER = 256 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass
class RenderSettings:
    """How revisions render: the environment they see and their budget."""

    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    max_statements: int = 10_000
    workers: int | None = None  # None: chosen from the number of revisions and CPUs
    # called with (revisions rendered, revisions to render) as renders finish (a progress display)
    progress: Callable[[int, int], None] | None = None

    @classmethod
    def from_config(cls, config, environ=None) -> "RenderSettings":
        return cls(render_environment(getattr(config, "render_env", None) or [], environ),
                   float(getattr(config, "render_timeout", 10.0)),
                   int(getattr(config, "render_max_statements", 10_000)))


def render_environment(entries: list[str], environ=None) -> dict[str, str]:
    """``render_env`` entries: ``NAME`` passes this process's value through (when set),
    ``NAME=value`` gives the value. Nothing else reaches revision code."""
    environ = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, str):
            raise UsageError(f"render_env: entries are \"NAME\" or \"NAME=value\", got {entry!r}")
        name, eq, value = entry.partition("=")
        name = name.strip()
        if not _NAME.match(name):
            raise UsageError(f"render_env: {entry!r} is not \"NAME\" or \"NAME=value\"")
        if eq:
            out[name] = value
        elif name in environ:
            out[name] = environ[name]
    return out


def _workers(settings: RenderSettings, count: int) -> int:
    if settings.workers:
        return max(1, min(settings.workers, count))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, 4, count // 40 + 1))


class _Child:
    """One renderer process and its two pipes."""

    def __init__(self, env: dict[str, str]):
        cmd_r, self.cmd_w = os.pipe()
        self.res_r, res_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                # -B: rendering leaves no __pycache__ in the project being linted
                [sys.executable, "-B", "-c", _BOOT, str(cmd_r), str(res_w), _PACKAGE_PARENT],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=env, pass_fds=(cmd_r, res_w), close_fds=True, start_new_session=True)
        finally:
            os.close(cmd_r)
            os.close(res_w)
        self.buffer = bytearray()
        self.ready = False
        self.job: int | None = None
        self.deadline = time.monotonic() + _START_TIMEOUT

    def configure(self, setup: dict) -> bool:
        """Set the child up for a batch; it answers "ready" when it is."""
        self.ready, self.job, self.buffer = False, None, bytearray()
        self.deadline = time.monotonic() + _START_TIMEOUT
        return self.send({"setup": setup})

    def send(self, obj: dict) -> bool:
        import json

        data = json.dumps(obj).encode("utf-8")
        try:
            os.write(self.cmd_w, struct.pack(">I", len(data)) + data)
            return True
        except OSError:  # it died
            return False

    def read(self) -> list[dict] | None:
        """Complete answers available now; None when the child closed its pipe (died)."""
        import json

        try:
            chunk = os.read(self.res_r, 1 << 20)
        except OSError:
            chunk = b""
        if not chunk:
            return None
        self.buffer += chunk
        out = []
        while len(self.buffer) >= 4:
            size = struct.unpack(">I", self.buffer[:4])[0]
            if size > _MAX_ANSWER:
                return None
            if len(self.buffer) < 4 + size:
                break
            body = bytes(self.buffer[4:4 + size])
            del self.buffer[:4 + size]
            try:
                out.append(json.loads(body))
            except ValueError:
                return None
        return out

    def end(self, kill: bool = False) -> str:
        """Stop the child (and anything it started); how it ended, in words."""
        for fd in (self.cmd_w, self.res_r):
            try:
                os.close(fd)
            except OSError:
                pass
        if kill:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if code is None or code >= 0:
            return f"exit status {code}"
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"


def _decode(doc: dict, display: str) -> MigrationSource:
    def loc(line, column) -> Location:
        return Location(display, int(line or 1), int(column or 1))

    src = MigrationSource(
        path=display, kind="alembic", revision=doc.get("revision"),
        down_revisions=tuple(doc.get("down_revisions") or ()),
        depends_on=tuple(doc.get("depends_on") or ()),
        branch_labels=tuple(doc.get("branch_labels") or ()), release=doc.get("release"),
        declared_phase=doc.get("declared_phase"), text=doc.get("text") or "",
        checksum=doc.get("checksum") or "", read_files=tuple(doc.get("read_files") or ()),
        read_env=tuple(doc.get("read_env") or ()))
    src.statements = [Statement(sql, loc(line, col), bool(in_tx), note, prev)
                      for sql, line, col, in_tx, note, prev in doc.get("statements") or ()]
    src.diagnostics = [Finding(rule, Severity(sev), loc(line, col), message, fix or "")
                       for rule, sev, line, col, message, fix in doc.get("diagnostics") or ()]
    return src


def _unanswered(path: Path, display: str, message: str) -> MigrationSource:
    """A revision the renderer never answered for: an error, with what can be read unimported."""
    import hashlib

    src = MigrationSource(path=display, kind="alembic")
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    src.text = data.decode("utf-8", errors="replace")
    src.checksum = hashlib.sha256(data).hexdigest()
    ids = read_revision_ids(src.text)
    src.revision = ids.get("revision") if isinstance(ids.get("revision"), str) else None
    down = ids.get("down_revision")
    src.down_revisions = (down,) if isinstance(down, str) else tuple(down or ())
    line = _upgrade_line(src.text) or assignment_line(src.text, "revision")
    src.diagnostics = [Finding("revision-render-error", Severity.ERROR,
                               Location(display, line, 1), message)]
    return src


def _upgrade_line(text: str) -> int | None:
    m = re.search(r"^def upgrade\b", text, re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else None


# Children stay alive for the life of this process, one set per environment, and are set up
# again for each batch (a runner lints, then plans, then applies: one start-up).
_IDLE: dict[tuple, list[_Child]] = {}


def _end_idle() -> None:
    for children in _IDLE.values():
        for child in children:
            child.end(kill=True)
    _IDLE.clear()


atexit.register(_end_idle)


class RenderPool:
    """Renders revision files of one script directory in reusable children (module docstring)."""

    def __init__(self, settings: RenderSettings, setup: dict):
        self.settings = settings
        self.setup = setup
        self.networks: set[str] = set()
        self._key = tuple(sorted(settings.env.items()))

    def render(self, files: list[tuple[Path, str]], function: str = "upgrade") -> list[MigrationSource]:
        out: list[MigrationSource | None] = [None] * len(files)
        if not files:
            return []
        todo = deque(range(len(files)))
        idle = _IDLE.pop(self._key, [])
        want = _workers(self.settings, len(files))
        for child in idle[want:]:
            child.end(kill=True)
        children = []
        for child in idle[:want]:
            if child.configure(self.setup):
                children.append(child)
            else:  # it died while idle
                child.end(kill=True)
        children += [self._spawn() for _ in range(want - len(children))]
        clean = False
        try:
            done = 0
            while todo or any(c.job is not None for c in children):
                finished = len(files) - len(todo) - sum(c.job is not None for c in children)
                if self.settings.progress is not None and finished != done:
                    done = finished
                    self.settings.progress(done, len(files))
                for i, child in enumerate(children):
                    if child.ready and child.job is None and todo:
                        job = todo.popleft()
                        path, display = files[job]
                        child.job = job
                        child.deadline = time.monotonic() + self.settings.timeout + _GRACE
                        if not child.send({"path": str(path), "display": display,
                                           "function": function}):
                            children[i] = self._replace(child, files, out, "")
                if not any(c.job is not None or not c.ready for c in children):
                    continue
                self._wait(children, files, out, todo)
            if self.settings.progress is not None:
                self.settings.progress(len(files), len(files))
            clean = True
        finally:
            if clean:
                _IDLE[self._key] = children
            else:
                for child in children:
                    child.end(kill=True)
        return [s for s in out if s is not None]

    def _spawn(self) -> _Child:
        child = _Child(self.settings.env)
        child.configure(self.setup)
        return child

    def _wait(self, children: list[_Child], files, out, todo) -> None:
        now = time.monotonic()
        timeout = max(0.0, min(c.deadline for c in children if c.job is not None or not c.ready) - now)
        fds = [c.res_r for c in children]
        readable, _, _ = select.select(fds, [], [], timeout)
        for i, child in enumerate(children):
            if child.res_r in readable:
                answers = child.read()
                if answers is None:
                    children[i] = self._replace(child, files, out, "", todo=todo)
                    continue
                for answer in answers:
                    if answer.get("ready"):
                        child.ready = True
                        self.networks.add(answer.get("network", "none"))
                        child.network = answer.get("network", "none")
                    elif "source" in answer and child.job is not None:
                        path, display = files[child.job]
                        try:
                            out[child.job] = _decode(answer["source"], display)
                        except (TypeError, ValueError, KeyError):
                            out[child.job] = _unanswered(path, display, "the renderer answered "
                                                         "with something unreadable")
                        child.job = None
            elif time.monotonic() >= child.deadline and (child.job is not None or not child.ready):
                children[i] = self._replace(child, files, out, "timeout", todo=todo)

    def _replace(self, child: _Child, files, out, why: str, todo=None) -> _Child:
        """End a child that died or overran; its revision gets an error finding."""
        how = child.end(kill=True)
        if child.job is not None:
            path, display = files[child.job]
            if why == "timeout":
                message = (f"still running {self.settings.timeout + _GRACE:g} s after it started "
                           f"(render_timeout {self.settings.timeout:g} s) and did not stop when "
                           "told to; the renderer was killed. An endless loop? Nothing it "
                           "emits was checked")
            else:
                message = (f"the renderer process ended while rendering this revision ({how}): "
                           "os.kill/abort, a crash or running out of memory. Nothing it emits was "
                           "checked")
            out[child.job] = _unanswered(path, display, message)
            child.job = None
        elif not child.ready:
            raise UsageError(f"cannot start the revision renderer ({why or how}); "
                             f"python: {sys.executable}")
        return self._spawn()


def render_isolated(files: list[tuple[Path, str]], *, script_dir: Path,
                    ini_path: Path | None = None, sys_path: list[Path] = (),
                    settings: RenderSettings | None = None,
                    function: str = "upgrade") -> list[MigrationSource]:
    """Render revision files of one script directory (not yet ordered) in child processes:
    what :func:`.alembic_offline.render_revisions` does, isolated from this process.
    ``function="downgrade"`` renders what undoing them sends."""
    front, back = import_path(script_dir, [f for f, _ in files], sys_path)
    setup = {"front": front, "back": back, "ini_path": str(ini_path) if ini_path else None,
             "cwd": os.getcwd(),
             "timeout": (settings or RenderSettings()).timeout,
             "max_statements": (settings or RenderSettings()).max_statements}
    return RenderPool(settings or RenderSettings(), setup).render(files, function)


def render_one_isolated(path: Path, display: str, *, ini_path: Path | None = None,
                        settings: RenderSettings | None = None,
                        function: str = "upgrade") -> MigrationSource:
    """One revision, isolated (``migrator plan`` shows what it renders)."""
    path = Path(path)
    script_dir = path.parent.parent if path.parent.name == "versions" else path.parent
    [src] = render_isolated([(path, display)], script_dir=script_dir, ini_path=ini_path,
                            sys_path=ini_sys_path(ini_path), settings=settings,
                            function=function)
    return src
