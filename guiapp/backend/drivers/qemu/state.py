"""Where the QEMU driver keeps things: runtime and config directories, file locks, atomic writes.

Runtime directory (per connection URI): one ``<name>.json`` record per domain that
ran (pid, QMP sockets, state, reason, id...), its live XML ``<name>.xml``, the
QMP sockets, pid file and console log.  Config directory: ``<name>.xml`` per
persistent domain.  Every change is made under an ``fcntl`` lock on ``lock`` in
the runtime directory, so several processes can manage the same guests.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ... import constants as C  # noqa: N812
from ...errors import DriverError

#: Runtime files of a domain, by suffix (all in the runtime directory).
RUNTIME_SUFFIXES = (".json", ".xml", ".pid", ".qmp", ".cmd.qmp", ".log", ".console.log", ".vnc", ".lease",
                    ".cmdlock")


#: Environment variable moving every file of ``qemu:///system`` (domains and networks) under another root,
#: e.g. ``GUIAPP_SYSTEM_ROOT=/tmp/x`` -> /tmp/x/run/guiapp/qemu, /tmp/x/etc/guiapp/qemu (tests, chroots).
SYSTEM_ROOT_ENV = "GUIAPP_SYSTEM_ROOT"


def system_root() -> Path:
    """``/``, or the directory named by ``$GUIAPP_SYSTEM_ROOT`` (must be absolute)."""
    root = os.environ.get(SYSTEM_ROOT_ENV) or "/"
    if not os.path.isabs(root):
        raise DriverError(C.VIR_ERR_OPEN_FAILED,
                          f"${SYSTEM_ROOT_ENV}='{root}' is not an absolute path; set it to a directory such as "
                          f"/tmp/guiapp-root or unset it")
    return Path(root)


@dataclass(frozen=True)
class Dirs:
    """The runtime and config directories of one connection."""

    runtime: Path
    config: Path

    @classmethod
    def for_uri_path(cls, path: str) -> Dirs:
        """``/session`` -> per-user XDG directories; ``/system`` -> /run and /etc (under ``$GUIAPP_SYSTEM_ROOT``)."""
        if path == "/system":
            root = system_root()
            return cls(root / "run/guiapp/qemu", root / "etc/guiapp/qemu")
        run = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(tempfile.gettempdir(), f"guiapp-{os.getuid()}")
        cfg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        return cls(Path(run) / "guiapp" / "qemu", Path(cfg) / "guiapp" / "qemu")

    def create(self) -> None:
        for d in (self.runtime, self.config):
            try:
                d.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise DriverError(C.VIR_ERR_OPEN_FAILED,
                                  f"cannot create the directory {d}: {exc.strerror}; check its permissions") from None

    def run_file(self, name: str, suffix: str) -> Path:
        return self.runtime / f"{name}{suffix}"

    def config_file(self, name: str) -> Path:
        return self.config / f"{name}.xml"


def atomic_write(path: Path, data: str | bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix."""
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class FileLock:
    """An exclusive ``flock`` on a file, re-entrant within one process (threads wait on a mutex)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mutex = threading.RLock()
        self._depth = 0
        self._fd: Optional[int] = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._mutex:
            if self._depth == 0:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._fd = fd
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    os.close(self._fd)  # closing releases the flock
                    self._fd = None


def try_lease(path: Path) -> Optional[int]:
    """Take the non-blocking exclusive lease on ``path``: the fd to keep open, or None if held elsewhere."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def read_json(path: Path) -> Optional[dict[str, Any]]:
    """A JSON record, or None when missing or unreadable (a broken record is treated as absent)."""
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, record: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(record, sort_keys=True, indent=1))


def remove_runtime_files(dirs: Dirs, name: str, keep: tuple[str, ...] = ()) -> None:
    """Remove a domain's runtime files except the suffixes in ``keep``."""
    for suffix in RUNTIME_SUFFIXES:
        if suffix in keep:
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dirs.run_file(name, suffix))


def next_domain_id(dirs: Dirs) -> int:
    """A new domain id, unique per connection (call with the state lock held)."""
    path = dirs.runtime / "next-id"
    try:
        value = int(path.read_text().strip() or "1")
    except (OSError, ValueError):
        value = 1
    atomic_write(path, str(value + 1))
    return value


def process_start_time(pid: int) -> Optional[int]:
    """The start time (clock ticks since boot) of a live, non-zombie process; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    if not fields or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def process_alive(pid: int, start_time: Optional[int]) -> bool:
    """True when ``pid`` still runs and is the same process (same start time) as recorded."""
    now = process_start_time(pid)
    return now is not None and (start_time is None or now == start_time)
