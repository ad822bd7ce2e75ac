"""Alembic revisions rendered to SQL offline: no env.py, no database (docs/alembic.md).

Each revision module is imported fresh and its ``upgrade()`` is called with ``alembic.op``
bound to an :class:`~alembic.operations.Operations` in ``as_sql`` mode. Every piece of SQL it
emits is recorded with the line (and column) of the call in the revision ``.py`` file that
emitted it, found by walking the stack to the innermost frame of that file. Statements inside
``autocommit_block()`` run outside a transaction. Data migrations, exceptions and import
failures become diagnostics on the line that caused them; nothing here raises for a bad
revision.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import itertools
import re
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import MigratorError
from ..model import Finding, Location, MigrationSource, Severity, Statement
from ..releases import parse_release
from ..script.project import from_alembic_ini
from ..sql.split import split_sql
from .offline_environ import swap_environ

PHASES = ("expand", "contract")
HIDDEN_DATA_MESSAGE = (
    "data migration reads the database; what it emits could not be seen offline"
)
_TX_WORD = re.compile(r"\s*(BEGIN|START|COMMIT|END|ROLLBACK|ABORT)\b(?!\s+(?:ATOMIC|TO|PREPARED))",
                      re.IGNORECASE)
_module_counter = itertools.count()


class RenderStopped(BaseException):
    """Raised inside revision code to stop its rendering: a budget ran out, or it tried to end
    the process. A BaseException, so ``except Exception`` in the revision does not swallow it;
    it becomes an error on the revision line that was running."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Budget:
    """What one revision may emit while rendering."""

    max_statements: int = 10_000
    max_sql_bytes: int = 16 * 1024 * 1024


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    try:
        return tuple(str(v) for v in value)
    except TypeError:
        return (str(value),)


def assignment_line(text: str, name: str) -> int:
    """The line of a module-level ``name = ...`` (or ``name: str = ...``), else 1."""
    m = re.search(rf"^{name}\s*(?::[^=\n]*)?=", text, re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else 1


@dataclass
class _Recorder:
    """Collects what one revision emits, each piece at the revision line that emitted it."""

    real_path: str  # the filename Python compiled the module under
    display: str  # the path shown to the user
    statements: list[Statement] = field(default_factory=list)
    diagnostics: list[Finding] = field(default_factory=list)
    autocommit: bool = False
    # A hand-written COMMIT ends Alembic's transaction: what follows runs outside one until a
    # BEGIN (the old "op.execute('COMMIT')" recipe before CREATE INDEX CONCURRENTLY).
    committed_by_hand: bool = False
    # existing_type of the alter_column() call being rendered, as SQL (None outside one)
    previous_type: str | None = None
    budget: Budget = field(default_factory=Budget)
    sql_bytes: int = 0
    _warned: set = field(default_factory=set)

    def where(self) -> Location:
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == self.real_path:
                return Location(self.display, *_frame_position(frame))
            frame = frame.f_back
        return Location(self.display, 1, 1)

    def emit(self, sql: str, autocommit: bool = False) -> None:
        """Record SQL text (one or more statements) at the current revision line.
        ``autocommit``: it ran on a connection set to AUTOCOMMIT."""
        loc = self.where()
        text = sql.strip()
        if not text:
            return
        autocommit = autocommit or self.autocommit
        self.sql_bytes += len(text)
        if self.sql_bytes > self.budget.max_sql_bytes:
            raise RenderStopped(
                f"emitted more than {self.budget.max_sql_bytes // (1024 * 1024)} MB of SQL while "
                "rendering (statement budget); rendering stopped here, the rest was not checked")
        for st in split_sql(text, self.display, wrapped=not autocommit):
            word = _TX_WORD.match(st.sql)
            word = word.group(1).upper() if word else ""
            in_tx = not autocommit and not self.committed_by_hand
            if word in ("BEGIN", "START") and not autocommit:
                self.committed_by_hand, in_tx = False, True
            elif word in ("COMMIT", "END", "ROLLBACK", "ABORT"):
                self.committed_by_hand = not autocommit
            if len(self.statements) >= self.budget.max_statements:
                raise RenderStopped(
                    f"emitted more than {self.budget.max_statements} statements while rendering "
                    "(statement budget, render_max_statements); rendering stopped here, the rest "
                    "was not checked")
            self.statements.append(Statement(sql=st.sql, loc=loc, in_transaction=in_tx, note=st.note,
                                             previous_type=self.previous_type))

    def connection_ended_transaction(self, word: str) -> None:
        """``conn.commit()`` / ``conn.rollback()``: recorded, but SQLAlchemy begins a new
        transaction on the next statement, so what follows is still inside one."""
        self.emit(word)
        self.committed_by_hand = False

    def warn_once(self, rule: str, message: str, loc: Location | None = None) -> None:
        loc = loc or self.where()
        key = (rule, loc.line, message)
        if key in self._warned:
            return
        self._warned.add(key)
        self.diagnostics.append(Finding(rule, Severity.WARNING, loc, message))

    def error(self, rule: str, message: str, line: int = 1, column: int = 1) -> None:
        self.diagnostics.append(
            Finding(rule, Severity.ERROR, Location(self.display, line, column), message)
        )


def _frame_position(frame) -> tuple[int, int]:
    """(line, 1-based column) of the instruction a frame is executing."""
    line = frame.f_lineno or 1
    try:
        positions = list(frame.f_code.co_positions())
        start_line, _end, col, _end_col = positions[frame.f_lasti // 2]
        if start_line is not None:
            line = start_line
        return line, (col + 1) if col is not None else 1
    except (IndexError, ValueError, AttributeError):
        return line, 1


def _tb_line(tb, real_path: str) -> int | None:
    """The innermost line of the revision file in a traceback."""
    line = None
    for fs in traceback.extract_tb(tb):
        if fs.filename == real_path:
            line = fs.lineno
    return line


def _compile(dialect: Any) -> Any:
    def compile_(statement: Any, parameters: Any) -> str:
        if isinstance(statement, str):
            return statement
        if parameters and isinstance(parameters, dict) and hasattr(statement, "params"):
            try:
                statement = statement.params(**parameters)
            except Exception:  # noqa: BLE001 - fall back to placeholders
                pass
        try:
            return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        except Exception:  # noqa: BLE001 - a bind without a literal renderer
            return str(statement.compile(dialect=dialect))

    return compile_


def _type_sql(type_: Any, dialect: Any) -> str | None:
    """A SQLAlchemy type (class or instance) as PostgreSQL spells it; None if it will not render."""
    from sqlalchemy.sql import sqltypes

    try:
        return str(sqltypes.to_instance(type_).compile(dialect=dialect))
    except Exception:  # noqa: BLE001 - a custom type without a PostgreSQL rendering
        return None


@contextlib.contextmanager
def _offline_operations(rec: _Recorder, ini_path: Path | None) -> Iterator[None]:
    """Bind ``alembic.op`` and ``alembic.context`` to an offline context feeding ``rec``."""
    from alembic.config import Config as AlembicConfig
    from alembic.operations import Operations
    from alembic.runtime.environment import EnvironmentContext
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.sql.elements import TextClause

    from .offline_engine import OfflineConnection

    ctx = MigrationContext.configure(
        dialect_name="postgresql",
        dialect_opts={"paramstyle": "named"},  # raw SQL keeps its % signs
        opts={"as_sql": True, "output_buffer": io.StringIO(), "literal_binds": True},
    )
    impl = ctx.impl
    original_exec = impl._exec

    def _exec(construct: Any, *args: Any, **kw: Any) -> None:
        if isinstance(construct, str):  # op.execute("raw sql"): keep it exactly as written
            rec.emit(construct)
            return None
        if isinstance(construct, TextClause) and not construct._bindparams:
            rec.emit(construct.text)  # sa.text() without parameters
            return None
        return original_exec(construct, *args, **kw)

    def static_output(text: str) -> None:
        rec.emit(text)

    original_alter_column = impl.alter_column

    def alter_column(table_name: str, column_name: str, *args: Any, **kw: Any) -> Any:
        # A type change that states the type it replaces carries it to the linter, which
        # otherwise could not see it (no earlier migration in the run declares the column).
        if kw.get("type_") is not None and kw.get("existing_type") is not None:
            rec.previous_type = _type_sql(kw["existing_type"], ctx.dialect)
        try:
            return original_alter_column(table_name, column_name, *args, **kw)
        finally:
            rec.previous_type = None

    def on_read() -> None:
        rec.warn_once("hidden-data-migration", HIDDEN_DATA_MESSAGE)

    compile_ = _compile(ctx.dialect)
    offline = OfflineConnection(
        lambda stmt, params, autocommit: rec.emit(compile_(stmt, params), autocommit),
        on_read, rec.connection_ended_transaction)
    bind = offline.__enter__()
    impl._exec = _exec
    impl.static_output = static_output
    impl.alter_column = alter_column
    impl.connection = bind
    ctx.connection = bind

    @contextlib.contextmanager
    def autocommit_block() -> Iterator[None]:
        previous = rec.autocommit
        rec.autocommit = True
        try:
            yield
        finally:
            rec.autocommit = previous

    ctx.autocommit_block = autocommit_block
    ops = Operations(ctx)
    try:
        cfg = AlembicConfig(str(ini_path)) if ini_path else AlembicConfig()
    except Exception:  # noqa: BLE001 - an unreadable ini only loses context.config
        cfg = AlembicConfig()
    env = EnvironmentContext(cfg, None, as_sql=True, dialect_name="postgresql")
    env._migration_context = ctx
    import alembic.context
    import alembic.op

    # Whoever had alembic.op / alembic.context bound before (a runner mid-migration) gets
    # them back afterwards.
    previous = (getattr(alembic.op, "_proxy", None), getattr(alembic.context, "_proxy", None))
    ops._install_proxy()
    env._install_proxy()
    try:
        yield
    finally:
        env._remove_proxy()
        ops._remove_proxy()
        for proxy in previous:
            if proxy is not None:
                proxy._install_proxy()
        offline.__exit__(None, None, None)


def _import(path: Path, rec: _Recorder) -> Any | None:
    """Import a revision module fresh under a unique name; None (and an error) if it cannot be."""
    stem = re.sub(r"\W", "_", path.stem)
    name = f"_migrator_revision_{next(_module_counter)}_{stem}"
    spec = importlib.util.spec_from_file_location(name, rec.real_path)
    if spec is None or spec.loader is None:
        rec.error("revision-import-error", f"{rec.display}: cannot be imported as a Python module")
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        return module
    except SyntaxError as e:
        if e.filename and Path(e.filename).resolve() != Path(rec.real_path).resolve():
            rec.error("revision-import-error",
                      f"cannot import the revision: syntax error in {e.filename}:{e.lineno}: {e.msg}")
        else:
            rec.error("revision-import-error", f"cannot import the revision: syntax error: {e.msg}",
                      e.lineno or 1, e.offset or 1)
        return None
    except ModuleNotFoundError as e:
        line = _tb_line(e.__traceback__, rec.real_path) or 1
        rec.error("revision-import-error",
                  f"cannot import the revision {rec.display}: module {e.name!r} not found "
                  "(install it, or run migrator where the project's packages are importable)", line)
        return None
    except RenderStopped as e:
        rec.error("revision-render-error", f"while importing: {e.message}",
                  _tb_line(e.__traceback__, rec.real_path) or 1)
        return None
    except BaseException as e:  # noqa: BLE001 - anything at import time, even SystemExit
        if isinstance(e, KeyboardInterrupt):
            raise
        line = _tb_line(e.__traceback__, rec.real_path) or 1
        rec.error("revision-import-error",
                  f"cannot import the revision {rec.display}: {type(e).__name__}: {e}", line)
        return None
    finally:
        sys.modules.pop(name, None)


def _read_attributes(module: Any, text: str, src: MigrationSource, rec: _Recorder) -> None:
    src.revision = str(module.revision) if getattr(module, "revision", None) is not None else None
    if src.revision is None:
        rec.error("revision-import-error",
                  "not an Alembic revision: the module sets no `revision = \"...\"`")
    src.down_revisions = _tuple(getattr(module, "down_revision", None))
    src.depends_on = _tuple(getattr(module, "depends_on", None))
    src.branch_labels = _tuple(getattr(module, "branch_labels", None))
    phase = getattr(module, "phase", None)
    if phase is None:
        hint = ""
        if any(label in PHASES for label in src.branch_labels):
            hint = f" (its branch label says {', '.join(l for l in src.branch_labels if l in PHASES)})"
        rec.warn_once("missing-phase-tag",
                      f"revision declares no phase{hint}; add phase = \"expand\" or "
                      "phase = \"contract\"",
                      Location(rec.display, assignment_line(text, "revision"), 1))
    elif not isinstance(phase, str) or phase.strip().lower() not in PHASES:
        rec.error("bad-migration-header",
                  f"phase must be \"expand\" or \"contract\", got {phase!r}",
                  assignment_line(text, "phase"))
    else:
        src.declared_phase = phase.strip().lower()
    release = getattr(module, "release", None)
    if release is not None:
        try:
            parse_release(release)
            src.release = str(release).strip()
        except MigratorError as e:
            rec.error("bad-migration-header", e.message, assignment_line(text, "release"))


def _run_upgrade(module: Any, rec: _Recorder, ini_path: Path | None,
                 function: str = "upgrade") -> None:
    upgrade = getattr(module, function, None)
    if not callable(upgrade):
        rec.warn_once("revision-render-error", f"revision has no {function}() function",
                      Location(rec.display, 1, 1))
        return
    with _offline_operations(rec, ini_path):
        try:
            upgrade()
        except RenderStopped as e:
            rec.error("revision-render-error", f"{function}(): {e.message}",
                      _tb_line(e.__traceback__, rec.real_path) or 1)
        except MemoryError as e:
            rec.error("revision-render-error",
                      f"{function}() ran out of memory while rendering; rendering stopped here, "
                      "the rest was not checked", _tb_line(e.__traceback__, rec.real_path) or 1)
        except BaseException as e:  # noqa: BLE001 - keep what was emitted so far
            if isinstance(e, KeyboardInterrupt):
                raise
            line = _tb_line(e.__traceback__, rec.real_path) or 1
            rec.warn_once(
                "revision-render-error",
                f"{function}() raised {type(e).__name__}: {e} while rendering offline; "
                "statements after this line could not be seen",
                Location(rec.display, line, 1),
            )


def render_revision(path: Path, display: str, *, ini_path: Path | None = None) -> MigrationSource:
    """One revision file rendered offline, in this process (attributes, statements,
    diagnostics). Never raises for a broken revision. Sets up sys.path (with alembic.ini's
    prepend_sys_path), the environment and stdout as :func:`render_revisions`. Revision code
    runs here with this process's environment: :mod:`.isolated` renders in child processes."""
    path = Path(path)
    script_dir = path.parent.parent if path.parent.name == "versions" else path.parent
    [source] = render_revisions([(path, display)], script_dir=script_dir, ini_path=ini_path,
                                sys_path=ini_sys_path(ini_path))
    return source


def ini_sys_path(ini_path: Path | None) -> list[Path]:
    """alembic.ini's prepend_sys_path (nothing for a missing or broken ini)."""
    if ini_path is None:
        return []
    try:
        project = from_alembic_ini(Path(ini_path))
    except MigratorError:
        return []
    return project.sys_path if project else []


def _render_one(path: Path, display: str, ini_path: Path | None,
                budget: Budget | None = None, function: str = "upgrade") -> MigrationSource:
    """One revision, rendered inside the set-up of :class:`OfflineRenderer`."""
    real = str(path.resolve())
    rec = _Recorder(real_path=real, display=display, budget=budget or Budget())
    src = MigrationSource(path=display, kind="alembic")
    try:
        data = path.read_bytes()
    except OSError as e:
        rec.error("revision-import-error", f"cannot read {display}: {e.strerror or e}")
        src.diagnostics = rec.diagnostics
        return src
    src.checksum = hashlib.sha256(data).hexdigest()
    src.text = data.decode("utf-8", errors="replace")
    module = _import(path, rec)
    if module is not None:
        _read_attributes(module, src.text, src, rec)
        _run_upgrade(module, rec, ini_path, function)
    else:
        # The graph still needs the ids: read them from the text.
        ids = read_revision_ids(src.text)
        src.revision = ids.get("revision")
        src.down_revisions = _tuple(ids.get("down_revision"))
    src.statements = rec.statements
    src.diagnostics = rec.diagnostics
    return src


_ID_RE = re.compile(
    r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(None|['\"][^'\"]*['\"]|\([^)]*\))",
    re.MULTILINE,
)


def read_revision_ids(text: str) -> dict[str, Any]:
    """``revision`` / ``down_revision`` read from the text without importing (for files that
    cannot be imported or are excluded)."""
    out: dict[str, Any] = {}
    for name, value in _ID_RE.findall(text):
        if value == "None":
            out[name] = None
        else:
            found = re.findall(r"['\"]([^'\"]+)['\"]", value)
            out[name] = found[0] if value[0] in "'\"" and found else tuple(found)
    return out


def import_path(script_dir: Path, files: list[Path], sys_path: list[Path] = ()) -> tuple[list[str], list[str]]:
    """(front, back) of sys.path while revisions import: alembic.ini's prepend_sys_path, the
    working directory and the project root (the script directory's parent) first, the script and
    versions directories last, so the application's models and the revisions' own helpers import
    as they would under Alembic."""
    script = Path(script_dir).resolve()
    front = list(dict.fromkeys(
        [*(str(Path(p).resolve()) for p in sys_path), str(Path.cwd()), str(script.parent)]))
    back = list(dict.fromkeys([str(script), *(str(Path(f).parent.resolve()) for f in files)]))
    return front, back


class OfflineRenderer:
    """The set-up revisions render in (a context manager): sys.path, an environment that notes
    the variables read, Python-level stdout swallowed, warnings silenced. :meth:`render` renders
    one file; one at a time (``alembic.op`` is global)."""

    def __init__(self, front: list[str], back: list[str], ini_path: Path | None = None,
                 budget: Budget | None = None):
        self.front, self.back, self.ini_path = front, back, ini_path
        self.budget = budget or Budget()
        self.missing_env: list[str] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "OfflineRenderer":
        old_path = list(sys.path)
        sys.path[:0] = [p for p in self.front if p not in sys.path]
        sys.path.extend(p for p in self.back if p not in sys.path)
        self._stack.callback(sys.path.__setitem__, slice(None), old_path)
        self.environ, restore_env = swap_environ(self.missing_env.append)
        self._stack.callback(restore_env)
        self._stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        self._stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()

    def render(self, path: Path, display: str, function: str = "upgrade") -> MigrationSource:
        """``function``: "upgrade", or "downgrade" for what a rollback will send."""
        self.missing_env.clear()
        self.environ.read.clear()
        self.environ.lenient = False
        src = _render_one(path, display, self.ini_path, self.budget, function)
        failed = any(f.rule in ("revision-import-error", "revision-render-error")
                     for f in src.diagnostics)
        if self.missing_env and failed:
            # It failed on an unset environment variable: render again with unset
            # variables reading as "", and say so. (A revision that handles the
            # KeyError itself keeps its own fallback.)
            self.missing_env.clear()
            self.environ.lenient = True
            src = _render_one(path, display, self.ini_path, self.budget, function)
            for var in dict.fromkeys(self.missing_env):
                src.diagnostics.append(Finding(
                    "missing-environment-variable", Severity.WARNING,
                    Location(display, _env_line(src.text, var), 1),
                    f"reads environment variable {var}, which is not set for rendering "
                    "(revisions render with only the variables named in [tool.migrator] "
                    "render_env); rendered with an empty value, so what it emits may differ"))
        src.read_env = tuple(sorted(self.environ.read))
        return src


def render_revisions(files: list[tuple[Path, str]], *, script_dir: Path,
                     ini_path: Path | None = None,
                     sys_path: list[Path] = ()) -> list[MigrationSource]:
    """Render many revision files of one script directory (not yet ordered) in this process,
    inside an :class:`OfflineRenderer`. Output printed by revisions through ``sys.stdout`` is
    swallowed. :func:`migrator.sources.isolated.render_isolated` is the same in child processes."""
    front, back = import_path(script_dir, [f for f, _ in files], sys_path)
    with OfflineRenderer(front, back, ini_path) as renderer:
        return [renderer.render(path, display) for path, display in files]


def _env_line(text: str, var: str) -> int:
    i = text.find(var)
    return text.count("\n", 0, i) + 1 if i >= 0 else 1
