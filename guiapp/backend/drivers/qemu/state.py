"""Where the QEMU driver keeps things: runtime and config directories, file locks, atomic writes.

Runtime directory (per connection URI): one directory per domain, named after its
UUID (``<runtime>/<uuid hex>/``: ``record.json``, the versioned :class:`~.record.RuntimeRecord`, the
pid file, console log, lease and command lock), so no two domains share a file
whatever their names.  The unix sockets of a running guest (two QMP sockets and the
VNC socket) are ``<runtime>/sock/<id>-qmp|cmd|vnc``, named after the domain id like
libvirt's ``domain-<id>-...`` directories, so their paths stay short (108-byte
``sun_path`` limit) for any domain name.  Config directory: ``<name>.xml`` per
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

from ... import constants as C
from ...errors import DriverError
from ...filestore import atomic_write, check_file_name
from .record import RuntimeRecord

#: Files in a domain's runtime directory.
RECORD, PIDFILE, CONSOLE_LOG, LEASE, CMDLOCK = "record.json", "pid", "console.log", "lease", "cmdlock"
STATS_LEASE = "statslease"  # who keeps the stats socket open (drivers/qemu/monitors.py)
DOMAIN_FILES = (RECORD, PIDFILE, CONSOLE_LOG, LEASE, CMDLOCK, STATS_LEASE)
#: Keys of a flat-layout record (a dict, see migrate_legacy_layout) naming socket files of a running guest.
SOCKET_KEYS = ("qmp", "qmp_cmd", "qmp_stats", "vnc_socket")
#: Longest unix socket path (``sizeof(sun_path) - 1``).
SOCKET_PATH_MAX = 107
#: Suffixes of the runtime files of the layout before per-domain directories (``<runtime>/<name><suffix>``).
LEGACY_SUFFIXES = (".json", ".xml", ".pid", ".qmp", ".cmd.qmp", ".log", ".console.log", ".vnc", ".lease",
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

    def domain_dir(self, uuid: bytes) -> Path:
        """The runtime directory of the domain with ``uuid`` (UUIDs are unique per connection)."""
        return self.runtime / uuid.hex()

    def run_file(self, uuid: bytes, fname: str) -> Path:
        """A file of the domain's runtime directory, created on demand (``fname``: one of DOMAIN_FILES)."""
        d = self.domain_dir(uuid)
        d.mkdir(mode=0o700, exist_ok=True)
        return d / fname

    def socket(self, dom_id: int, kind: str) -> Path:
        """A unix socket of the running domain with id ``dom_id`` (``kind``: qmp, cmd, stats, vnc)."""
        return self.runtime / "sock" / f"{dom_id}-{kind}"

    def check_socket_dir(self) -> None:
        """Refuse to start guests when even the short socket names exceed the unix socket path limit."""
        longest = str(self.socket(2 ** 31, "stats"))  # the longest kind
        if len(longest.encode()) > SOCKET_PATH_MAX:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"the runtime directory {self.runtime} is too long for unix socket paths "
                              f"(at most {SOCKET_PATH_MAX} bytes for {longest}); set XDG_RUNTIME_DIR (or "
                              f"${SYSTEM_ROOT_ENV}) to a shorter directory")
        (self.runtime / "sock").mkdir(mode=0o700, exist_ok=True)

    def config_file(self, name: str) -> Path:
        check_file_name(name, ".xml", "domain", C.VIR_FROM_QEMU)
        return self.config / f"{name}.xml"


def record_files(dirs: Dirs) -> list[str]:
    """The record files of every domain with a runtime directory, as strings (no pathlib: the driver's worker
    scans them twice a second)."""
    try:
        entries = list(os.scandir(dirs.runtime))
    except OSError:
        return []
    found = []
    for e in entries:
        if len(e.name) == 32 and e.is_dir(follow_symlinks=False):
            path = os.path.join(e.path, RECORD)
            if os.path.exists(path):
                found.append(path)
    return found


def record_paths(dirs: Dirs) -> list[Path]:
    """The record files of every domain with a runtime directory."""
    return [Path(p) for p in record_files(dirs)]


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


def remove_runtime_files(dirs: Dirs, uuid: bytes, record: Optional[RuntimeRecord], keep: tuple[str, ...] = (),
                         extra: tuple[str, ...] = ()) -> None:
    """Remove a domain's runtime files except those named in ``keep``: its own directory's files, the
    sockets its record names and ``extra`` paths (only ever paths under the runtime directory)."""
    d = dirs.domain_dir(uuid)
    for fname in DOMAIN_FILES:
        if fname not in keep:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                os.unlink(d / fname)
    paths = (record.socket_paths() + record.legacy_files if record is not None else []) + list(extra)
    root = str(dirs.runtime) + os.sep
    for p in paths:
        if isinstance(p, str) and p.startswith(root) and ".." not in p:
            with contextlib.suppress(OSError):
                os.unlink(p)
    if not keep:
        with contextlib.suppress(OSError):
            d.rmdir()


def migrate_legacy_layout(dirs: Dirs) -> list[str]:
    """Move records of the layout before per-domain directories (``<runtime>/<name>.json``) into the new
    layout, so guests started by an older guiapp are re-attached, not lost (call with the state lock held).

    A running guest keeps its old socket and pid-file paths (the record names them) until it stops; the
    older version's files are then removed by the names its record lists (files another running guest
    also claims are never listed).  Returns the names of the domains moved.
    """
    try:
        legacy = sorted(e.name for e in os.scandir(dirs.runtime) if e.name.endswith(".json") and e.is_file())
    except OSError:
        return []
    recs: dict[str, dict[str, Any]] = {}
    for fn in legacy:
        rec = read_json(dirs.runtime / fn)
        if rec is not None and isinstance(rec.get("name"), str) and isinstance(rec.get("uuid"), str) \
                and fn == f"{rec['name']}.json":
            try:
                bytes.fromhex(rec["uuid"])
            except ValueError:
                continue
            recs[rec["name"]] = rec

    def files(name: str) -> list[str]:
        return [str(dirs.runtime / f"{name}{s}") for s in LEGACY_SUFFIXES if s != ".json"
                and os.path.lexists(dirs.runtime / f"{name}{s}")]

    live = {n for n, r in recs.items() if r.get("pid") and r.get("state") != C.VIR_DOMAIN_SHUTOFF
            and process_alive(r["pid"], r.get("start_time"))}
    claimed = {p for n in live for p in files(n)} | {recs[n].get(k) for n in live for k in SOCKET_KEYS}
    moved = []
    for name, rec in recs.items():
        uuid = bytes.fromhex(rec["uuid"])
        target = dirs.domain_dir(uuid) / RECORD
        if not target.exists():
            own = files(name)
            if name in live:
                rec["pidfile"] = str(dirs.runtime / f"{name}.pid")
            else:
                own = [p for p in own if p not in claimed]
                for k in SOCKET_KEYS:
                    if rec.get(k) in claimed:
                        del rec[k]
            rec["legacy_files"] = own
            write_json(dirs.run_file(uuid, RECORD), rec)
            moved.append(name)
        with contextlib.suppress(OSError):
            os.unlink(dirs.runtime / f"{name}.json")
    return moved


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
    try:  # os.open/os.read: no file object (the driver's worker checks every guest twice a second)
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    fields = data[data.rfind(b")") + 2:].split()
    if not fields or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def process_alive(pid: int, start_time: Optional[int]) -> bool:
    """True when ``pid`` still runs and is the same process (same start time) as recorded."""
    now = process_start_time(pid)
    return now is not None and (start_time is None or now == start_time)
