"""Revision headers remembered between runs, in ``<cache_dir>/revision-headers.json``.

Each entry is keyed by the file's resolved path and its size, modification and change times and
inode: any edit means the file is read again. Only headers whose values are all literals are
kept. The cache is best effort: an unreadable or unwritable cache directory costs a re-read,
never a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .header import Header, read_header

CACHE_FILE = "revision-headers.json"
FORMAT = 1


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class HeaderCache:
    def __init__(self, path: Path | None, entries: dict[str, dict]):
        self.path = path
        self.entries = entries
        self.dirty = False
        self.used: set[str] = set()

    @classmethod
    def open(cls, directory: Path | None) -> "HeaderCache":
        if directory is None:
            return cls(None, {})
        path = directory / CACHE_FILE
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            entries = doc["entries"] if doc.get("format") == FORMAT else {}
            if not isinstance(entries, dict):
                entries = {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            entries = {}
        return cls(path, entries)

    def read(self, path: Path) -> Header:
        """The header of ``path`` (resolved): from the cache when the file is unchanged."""
        key = str(path)
        self.used.add(key)
        try:
            stamp = _stamp(path.stat())
        except OSError:
            stamp = None
        entry = self.entries.get(key)
        if stamp is not None and isinstance(entry, dict) and entry.get("stamp") == stamp:
            try:
                return Header(path, entry["checksum"], dict(entry["values"]),
                              dict(entry["lines"]), entry["doc"])
            except (KeyError, TypeError, ValueError):
                pass
        header = read_header(path)
        if stamp is not None and header.literal:
            entry = {"stamp": stamp, "checksum": header.checksum, "values": header.values,
                     "lines": header.lines, "doc": header.doc}
            try:
                json.dumps(entry)
            except (TypeError, ValueError):  # bytes, sets...: not kept
                return header
            self.entries[key] = entry
            self.dirty = True
        return header

    def save(self) -> None:
        if self.path is None:
            return
        stale = set(self.entries) - self.used
        if stale and self.used:
            # entries of files gone from this project; other projects sharing the directory keep theirs
            for key in stale:
                if not os.path.exists(key):
                    del self.entries[key]
                    self.dirty = True
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.path.parent / ".gitignore"
            if not ignore.exists():  # a cache, never part of the project (as .pytest_cache)
                ignore.write_text("# created by migrator: a cache, safe to delete\n*\n", encoding="utf-8")
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"format": FORMAT, "entries": self.entries}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only image: no cache, the headers are read each time
        self.dirty = False
