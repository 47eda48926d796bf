"""The runtime record of a QEMU domain: what every process managing the guest must know, on disk.

One ``record.json`` per domain (``<runtime>/<uuid hex>/record.json``, see :mod:`.state`) is shared by
every process that manages the guest, so a restarted manager re-attaches to a QEMU it did not start.
:class:`RuntimeRecord` is its typed form.  The file carries a ``version``:

* a file without one was written before records were versioned: it is read as version 1 (same keys);
* a version newer than :data:`VERSION` is refused with :class:`RecordVersionError` (a newer guiapp wrote it:
  guessing its meaning could start a second QEMU on the same disks);
* keys this version does not know are kept in ``extra`` and written back unchanged;
* a value of the wrong type makes the record broken (:class:`RecordError`); callers treat it as absent,
  as they treat a file that is not JSON.

Records are written atomically (:func:`~guiapp.backend.filestore.atomic_write`); keys whose value is
``None`` are left out, so older readers that test for a key's presence keep working.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ... import constants as C
from ...errors import DriverError
from ...filestore import atomic_write
from ...xml.safe import MAX_XML_SIZE

#: The record format this code writes and the newest it reads.
VERSION = 1
#: Records larger than this are refused: the live XML (up to MAX_XML_SIZE, each character JSON-escaped to at
#: most 6 bytes) and the argv (which repeats parts of it) fit with room to spare.
MAX_RECORD_SIZE = 16 * MAX_XML_SIZE


class RecordError(DriverError):
    """A runtime record that cannot be used: not JSON, wrong types (callers treat it as absent)."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(C.VIR_ERR_INTERNAL_ERROR, f"the runtime record {path} is broken: {why}", C.VIR_FROM_QEMU)


class RecordVersionError(DriverError):
    """A runtime record written by a newer guiapp (an unknown ``version``)."""

    def __init__(self, path: Path, version: object) -> None:
        super().__init__(C.VIR_ERR_OPERATION_FAILED,
                         f"the runtime record {path} has format version {version!r}; this guiapp reads versions "
                         f"1 to {VERSION}: manage this domain with the guiapp that started it, or stop the guest "
                         f"there first", C.VIR_FROM_QEMU)
        self.path = path
        self.version = version


@dataclass
class NicUse:
    """A ``type='network'`` interface of a running guest: which network, its MAC, its tap."""

    network: str
    mac: Optional[str] = None
    tap: Optional[str] = None


@dataclass
class RuntimeRecord:
    """The shared runtime state of one domain (a defined, stopped domain has name/uuid/state/reason only)."""

    name: str
    uuid: str  #: 32 hex digits (also the name of the domain's runtime directory)
    state: int = C.VIR_DOMAIN_SHUTOFF
    reason: int = 0
    version: int = VERSION
    # -- a running guest
    id: Optional[int] = None
    pid: Optional[int] = None
    start_time: Optional[int] = None  #: clock ticks since boot: tells a reused pid from our QEMU
    pidfile: Optional[str] = None
    qmp: Optional[str] = None  #: the event QMP socket (used by the lease holder)
    qmp_cmd: Optional[str] = None  #: the command QMP socket (one short connection at a time)
    qmp_stats: Optional[str] = None  #: the stats QMP socket (drivers/qemu/monitors.py)
    vnc_socket: Optional[str] = None
    vnc_port: Optional[int] = None
    argv: list[str] = field(default_factory=list)
    vcpu_tids: list[int] = field(default_factory=list)
    taps: list[str] = field(default_factory=list)  #: every tap of the guest
    own_taps: list[str] = field(default_factory=list)  #: taps QEMU created on bridges (removed at stop)
    nets: Optional[list[NicUse]] = None  #: None: a record written before this existed (read ``xml``)
    xml: Optional[str] = None  #: the live definition
    no_shutdown: bool = True  #: QEMU runs with -no-shutdown
    started: Optional[float] = None
    changed_at: float = 0.0  #: when this process last changed state itself (events older than it are ours)
    # -- transitions in progress
    exit_reason: Optional[int] = None  #: why QEMU is ending, when the driver ended it
    pause_reason: Optional[int] = None  #: the reason a STOP event about to come should report
    shutting_down: bool = False
    fake_reboot: bool = False  #: a reboot asked as an ACPI power-off: apply on_reboot when it comes
    legacy_files: list[str] = field(default_factory=list)  #: files of the flat layout to remove at stop
    #: keys a newer guiapp of the same version added: kept and written back unchanged
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def uuid_bytes(self) -> bytes:
        return bytes.fromhex(self.uuid)

    @property
    def running(self) -> bool:
        """The record describes a QEMU process (which may have died since)."""
        return bool(self.pid) and self.state != C.VIR_DOMAIN_SHUTOFF

    def set_state(self, state: int, reason: int, changed_at: Optional[float] = None) -> None:
        self.state, self.reason = state, reason
        if changed_at is not None:
            self.changed_at = changed_at

    def take_pause_reason(self, default: int) -> int:
        """The pause reason set for the coming STOP event (cleared), else ``default``."""
        reason, self.pause_reason = self.pause_reason, None
        return default if reason is None else reason

    def socket_paths(self) -> list[str]:
        """The unix sockets of the running guest (removed with its runtime files)."""
        return [p for p in (self.qmp, self.qmp_cmd, self.qmp_stats, self.vnc_socket) if p]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = [dataclasses.asdict(n) for n in value] if f.name == "nets" else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> RuntimeRecord:
        """The record in ``data`` (read from ``path``, named in errors)."""
        version = data.get("version", 1)
        if type(version) is not int or version < 1:
            raise RecordError(path, f"'version' is {version!r}, not a positive integer")
        if version > VERSION:
            raise RecordVersionError(path, version)
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            kind = _FIELD_TYPES.get(key)
            if kind is None:
                extra[key] = value
                continue
            if value is None:
                continue
            if not _has_type(value, kind):
                raise RecordError(path, f"'{key}' is {type(value).__name__}, expected {kind}")
            kwargs[key] = [_nic(n, path) for n in value] if key == "nets" else value
        for key in ("name", "uuid"):
            if key not in kwargs:
                raise RecordError(path, f"'{key}' is missing")
        try:
            bytes.fromhex(kwargs["uuid"])
        except ValueError:
            raise RecordError(path, f"'uuid' {kwargs['uuid']!r} is not hexadecimal") from None
        if len(kwargs["uuid"]) != 32:
            raise RecordError(path, f"'uuid' {kwargs['uuid']!r} does not have 32 hex digits")
        return cls(**kwargs, extra=extra)


#: JSON type of each stored field ("int" accepts no bool; "float" accepts int).
_FIELD_TYPES: dict[str, str] = {
    "name": "str", "uuid": "str", "state": "int", "reason": "int", "version": "int", "id": "int", "pid": "int",
    "start_time": "int", "pidfile": "str", "qmp": "str", "qmp_cmd": "str", "qmp_stats": "str", "vnc_socket": "str",
    "vnc_port": "int",
    "argv": "list[str]", "vcpu_tids": "list[int]", "taps": "list[str]", "own_taps": "list[str]",
    "nets": "list[dict]", "xml": "str", "no_shutdown": "bool", "started": "float", "changed_at": "float",
    "exit_reason": "int", "pause_reason": "int", "shutting_down": "bool", "fake_reboot": "bool",
    "legacy_files": "list[str]",
}
assert set(_FIELD_TYPES) == {f.name for f in dataclasses.fields(RuntimeRecord)} - {"extra"}


def _has_type(value: Any, kind: str) -> bool:
    if kind.startswith("list["):
        return isinstance(value, list) and all(_has_type(v, kind[5:-1]) for v in value)
    if kind == "int":
        return type(value) is int
    if kind == "float":
        return type(value) in (int, float)
    return isinstance(value, {"str": str, "bool": bool, "dict": dict}[kind])


def _nic(data: dict[str, Any], path: Path) -> NicUse:
    if not isinstance(data.get("network"), str) or not all(
            data.get(k) is None or isinstance(data.get(k), str) for k in ("mac", "tap")):
        raise RecordError(path, f"a 'nets' entry is {data!r}, expected network, mac and tap strings")
    return NicUse(data["network"], data.get("mac"), data.get("tap"))


def load_record(path: Path) -> Optional[RuntimeRecord]:
    """The record at ``path``; None when there is none.  RecordError when it is broken, RecordVersionError
    when a newer guiapp wrote it."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_RECORD_SIZE + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RecordError(path, f"cannot read it: {exc.strerror}") from None
    if len(raw) > MAX_RECORD_SIZE:
        raise RecordError(path, f"it is larger than {MAX_RECORD_SIZE} bytes")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise RecordError(path, f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RecordError(path, f"a JSON {type(data).__name__}, not an object")
    return RuntimeRecord.from_dict(data, path)


def save_record(path: Path, record: RuntimeRecord) -> None:
    """Write ``record`` to ``path`` atomically (readers see the old or the new record)."""
    atomic_write(path, json.dumps(record.to_dict(), sort_keys=True, indent=1), error_domain=C.VIR_FROM_QEMU)


def stopped_record(name: str, uuid: bytes, reason: int) -> RuntimeRecord:
    """The record of a defined domain that does not run."""
    return RuntimeRecord(name=name, uuid=uuid.hex(), state=C.VIR_DOMAIN_SHUTOFF, reason=reason)
