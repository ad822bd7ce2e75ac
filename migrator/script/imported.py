"""The header values a revision computes at import time (``release = app.VERSION``): only for
files whose header is not all literals is the module imported, once, to read them."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import traceback

from ..errors import UsageError
from .header import NAMES, NOT_LITERAL, Header
from .project import AlembicProject


def imported_values(header: Header, project: AlembicProject) -> dict[str, object]:
    """The non-literal header values of ``header``'s file, read by importing it. An exception at
    import is a UsageError naming the file and the line it came from."""
    path = header.path
    name = f"_migrator_header_{abs(hash(str(path)))}"
    added = [str(p) for p in project.sys_path] + [str(project.script_dir.parent)]
    old_path = list(sys.path)
    sys.path[:0] = [p for p in added if p not in sys.path]
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise UsageError("cannot import revision script", path=str(path))
        module = importlib.util.module_from_spec(spec)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            spec.loader.exec_module(module)
    except UsageError:
        raise
    except BaseException as e:  # noqa: BLE001 - anything at import time, even SystemExit
        if isinstance(e, KeyboardInterrupt):
            raise
        line = None
        for frame in traceback.extract_tb(e.__traceback__):
            if frame.filename == str(path):
                line = frame.lineno
        raise UsageError(f"cannot import revision script: {type(e).__name__}: {e}",
                         path=str(path), line=line) from None
    finally:
        sys.path[:] = old_path
        sys.modules.pop(name, None)
    return {k: getattr(module, k, None) for k in NAMES
            if header.values.get(k) is NOT_LITERAL}
