"""Config history (a guiapp extension): every persistent definition of a domain, kept as numbered versions.

A version is a dict ``{version, time, uri, user, op, name, uuid, xml}``; ``xml`` is what
``XMLDesc(VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE)`` returned right after the change,
so it may hold secrets: the front-end (:mod:`.history_api`) never returns it on a read-only
connection.  Versions are keyed by the domain's UUID (they follow renames), numbered from 1
without reuse, and the oldest beyond ``max_versions`` are dropped.  When a domain is undefined
its history is marked *deleted*; it can be restored until ``grace_seconds`` have passed, after
which the next write through the same store removes it.

Two stores: :class:`MemoryStore` (the test driver: lives as long as the connection's node) and
:class:`DirStore` (QEMU and Xen: ``<config dir>/history/<uuid>/<version>.json`` written atomically
with :func:`~.filestore.atomic_write`, ``0600``, under a per-domain ``flock``).  Nothing is
written by opening, listing or reading.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional, Protocol

from .filestore import atomic_write

log = logging.getLogger(__name__)

#: Versions kept per domain unless ``$GUIAPP_HISTORY_MAX`` says otherwise.
DEFAULT_MAX_VERSIONS = 100
#: Days a deleted domain's history is kept for restoring unless ``$GUIAPP_HISTORY_GRACE_DAYS`` says otherwise.
DEFAULT_GRACE_DAYS = 30.0

#: Metadata keys of a version (every key but ``xml``).
META_KEYS = ("version", "time", "uri", "user", "op", "name", "uuid")

_UUID_RE = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_VERSION_FILE = re.compile(r"\A(\d{1,9})\.json\Z")


def limits_from_env() -> tuple[int, float]:
    """(max versions, grace seconds) from ``$GUIAPP_HISTORY_MAX`` / ``$GUIAPP_HISTORY_GRACE_DAYS`` (bad: defaults)."""
    max_versions, grace_days = DEFAULT_MAX_VERSIONS, DEFAULT_GRACE_DAYS
    with contextlib.suppress(ValueError):
        max_versions = max(1, int(os.environ.get("GUIAPP_HISTORY_MAX", max_versions)))
    with contextlib.suppress(ValueError):
        grace_days = max(0.0, float(os.environ.get("GUIAPP_HISTORY_GRACE_DAYS", grace_days)))
    return max_versions, grace_days * 86400.0


def _same(last: dict[str, Any], entry: dict[str, Any]) -> bool:
    """``entry`` changes nothing after ``last`` (an undefine, and the first define after one, always count)."""
    return last["xml"] == entry["xml"] and "undefine" not in (last.get("op"), entry.get("op"))


def meta(version: dict[str, Any]) -> dict[str, Any]:
    """A version without its XML."""
    return {k: version[k] for k in META_KEYS if k in version}


class HistoryStore(Protocol):
    """Where a driver keeps the config history of its domains."""

    def record(self, entry: dict[str, Any]) -> Optional[int]:
        """Append ``entry`` (META_KEYS but ``version``, plus ``xml``) unless it changes nothing; the new number."""

    def versions(self, uuid: str) -> list[dict[str, Any]]:
        """Every kept version of ``uuid``, oldest first, with XML."""

    def has_versions(self, uuid: str) -> bool:
        """Whether any version of ``uuid`` is kept (cheaper than reading them)."""

    def mark_deleted(self, uuid: str, name: str) -> None:
        """The domain was undefined: keep its history for the grace period."""

    def clear_deleted(self, uuid: str) -> None:
        """The domain is defined again."""

    def deleted(self) -> list[dict[str, Any]]:
        """``{uuid, name, deleted, expires, versions}`` of every deleted domain still restorable."""


class _Base:
    def __init__(self, max_versions: Optional[int] = None, grace_seconds: Optional[float] = None) -> None:
        env_max, env_grace = limits_from_env()
        self.max_versions = max_versions if max_versions is not None else env_max
        self.grace_seconds = grace_seconds if grace_seconds is not None else env_grace

    @staticmethod
    def _check_uuid(uuid: str) -> str:
        if not isinstance(uuid, str) or not _UUID_RE.match(uuid):
            raise ValueError(f"not a UUID string: {uuid!r}")
        return uuid


class MemoryStore(_Base):
    """History in memory (the test driver's, as its domains are)."""

    def __init__(self, max_versions: Optional[int] = None, grace_seconds: Optional[float] = None) -> None:
        super().__init__(max_versions, grace_seconds)
        self._mu = threading.Lock()
        self._versions: dict[str, list[dict[str, Any]]] = {}
        self._next: dict[str, int] = {}
        self._deleted: dict[str, tuple[str, float]] = {}

    def record(self, entry: dict[str, Any]) -> Optional[int]:
        uuid = self._check_uuid(entry["uuid"])
        with self._mu:
            self._purge_expired()
            kept = self._versions.setdefault(uuid, [])
            if kept and _same(kept[-1], entry):
                return None
            number = self._next.get(uuid, 1)
            self._next[uuid] = number + 1
            kept.append({**entry, "version": number})
            del kept[:-self.max_versions]
            return number

    def versions(self, uuid: str) -> list[dict[str, Any]]:
        with self._mu:
            return [dict(v) for v in self._versions.get(uuid, [])]

    def has_versions(self, uuid: str) -> bool:
        with self._mu:
            return bool(self._versions.get(uuid))

    def mark_deleted(self, uuid: str, name: str) -> None:
        with self._mu:
            self._deleted[self._check_uuid(uuid)] = (name, time.time())

    def clear_deleted(self, uuid: str) -> None:
        with self._mu:
            self._deleted.pop(uuid, None)

    def deleted(self) -> list[dict[str, Any]]:
        now = time.time()
        with self._mu:
            return [{"uuid": u, "name": n, "deleted": t, "expires": t + self.grace_seconds,
                     "versions": len(self._versions.get(u, []))}
                    for u, (n, t) in sorted(self._deleted.items(), key=lambda kv: kv[1][1])
                    if t + self.grace_seconds > now]

    def _purge_expired(self) -> None:
        now = time.time()
        for uuid, (_, t) in list(self._deleted.items()):
            if t + self.grace_seconds <= now:
                del self._deleted[uuid]
                self._versions.pop(uuid, None)


class DirStore(_Base):
    """History as files: ``ROOT/<uuid>/<version>.json`` (0600) and ``ROOT/<uuid>/deleted``."""

    def __init__(self, root: Path, max_versions: Optional[int] = None,
                 grace_seconds: Optional[float] = None) -> None:
        super().__init__(max_versions, grace_seconds)
        self.root = Path(root)

    # ------------------------------------------------------------------ helpers
    def _dir(self, uuid: str) -> Path:
        return self.root / self._check_uuid(uuid)

    @contextlib.contextmanager
    def _locked(self, uuid: str) -> Iterator[Path]:
        d = self._dir(uuid)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        d.mkdir(exist_ok=True, mode=0o700)
        fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield d
        finally:
            os.close(fd)

    @staticmethod
    def _numbers(d: Path) -> list[int]:
        try:
            names = os.listdir(d)
        except OSError:
            return []
        return sorted(int(m.group(1)) for m in map(_VERSION_FILE.match, names) if m)

    @staticmethod
    def _read(path: Path) -> Optional[dict[str, Any]]:
        try:
            with open(path, "rb") as f:
                doc = json.loads(f.read(64 * 1024 * 1024))
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable config history file %s: %s", path, exc)
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("xml"), str) or not isinstance(doc.get("version"), int):
            log.warning("skipping malformed config history file %s", path)
            return None
        return doc

    # ---------------------------------------------------------------- interface
    def record(self, entry: dict[str, Any]) -> Optional[int]:
        uuid = self._check_uuid(entry["uuid"])
        self._purge_expired()
        with self._locked(uuid) as d:
            numbers = self._numbers(d)
            if numbers:
                last = self._read(d / f"{numbers[-1]}.json")
                if last is not None and _same(last, entry):
                    return None
            # pruning drops the oldest only, so the newest file always carries the highest number: never reused
            number = (numbers[-1] if numbers else 0) + 1
            atomic_write(d / f"{number}.json", json.dumps({**entry, "version": number}, indent=1))
            for old in numbers[:max(0, len(numbers) + 1 - self.max_versions)]:
                with contextlib.suppress(OSError):
                    os.unlink(d / f"{old}.json")
            return number

    def versions(self, uuid: str) -> list[dict[str, Any]]:
        d = self._dir(uuid)
        out = []
        for n in self._numbers(d):
            doc = self._read(d / f"{n}.json")
            if doc is not None:
                out.append(doc)
        return out

    def has_versions(self, uuid: str) -> bool:
        return bool(self._numbers(self._dir(uuid)))

    def mark_deleted(self, uuid: str, name: str) -> None:
        with self._locked(uuid) as d:
            atomic_write(d / "deleted", json.dumps({"name": name, "time": time.time()}))

    def clear_deleted(self, uuid: str) -> None:
        path = self._dir(uuid) / "deleted"
        if path.exists():
            with self._locked(uuid), contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _deleted_marks(self) -> list[tuple[str, str, float]]:
        try:
            names = os.listdir(self.root)
        except OSError:
            return []
        out = []
        for u in names:
            if not _UUID_RE.match(u):
                continue
            try:
                doc = json.loads((self.root / u / "deleted").read_text())
                out.append((u, str(doc["name"]), float(doc["time"])))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("skipping unreadable deletion mark of %s: %s", u, exc)
        return out

    def deleted(self) -> list[dict[str, Any]]:
        now = time.time()
        return [{"uuid": u, "name": n, "deleted": t, "expires": t + self.grace_seconds,
                 "versions": len(self._numbers(self.root / u))}
                for u, n, t in sorted(self._deleted_marks(), key=lambda m: m[2])
                if t + self.grace_seconds > now]

    def _purge_expired(self) -> None:
        now = time.time()
        for uuid, _, t in self._deleted_marks():
            if t + self.grace_seconds > now:
                continue
            with self._locked(uuid) as d:
                if not (d / "deleted").exists():
                    continue  # defined again meanwhile
                for entry in os.listdir(d):
                    if entry != ".lock":
                        with contextlib.suppress(OSError):
                            os.unlink(d / entry)
            with contextlib.suppress(OSError):
                os.unlink(self._dir(uuid) / ".lock")
                os.rmdir(self._dir(uuid))


# ---------------------------------------------------------------------- diffs
def unified_diff(old: str, new: str, old_label: str, new_label: str) -> str:
    """A unified diff of two XML texts (empty when they are equal)."""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=old_label, tofile=new_label))


def side_by_side(old: str, new: str) -> list[tuple[str, str, str]]:
    """Rows ``(left, right, tag)`` aligning two texts; tag is 'equal', 'replace', 'delete' or 'insert'."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[tuple[str, str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        left, right = a[i1:i2], b[j1:j2]
        for k in range(max(len(left), len(right))):
            rows.append((left[k] if k < len(left) else "", right[k] if k < len(right) else "", tag))
    return rows


__all__ = ["DEFAULT_MAX_VERSIONS", "DEFAULT_GRACE_DAYS", "META_KEYS", "HistoryStore", "MemoryStore", "DirStore",
           "limits_from_env", "meta", "unified_diff", "side_by_side"]
