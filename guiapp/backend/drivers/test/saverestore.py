"""Save, restore and managed save of the test driver (libvirt's save-image format, plus the run state)."""

from __future__ import annotations

import os
import struct
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ..base import DomainRef
from .dom import Event, _check_flags, _not_running
from .lifecycle import TestLifecycle

_FROM_TEST = C.VIR_FROM_TEST

SAVE_MAGIC = b"TestGuestMagic\x00"  # libvirt's test driver save-image magic (with its NUL)
_SAVE_TRAILER = b"\x00guiapp-state:"  # our addition after the XML: running|paused
_MAX_SAVE_XML = 10 * 1024 * 1024


class TestSaveRestore(TestLifecycle):
    """virDomainSave/Restore/ManagedSave on the test driver's save image."""

    def domain_managed_save(self, ref: DomainRef, flags: int = 0) -> None:
        """Like libvirt's test driver: the domain stops (reason saved) and its next start clears the image."""
        _check_flags(flags, C.VIR_DOMAIN_SAVE_BYPASS_CACHE | C.VIR_DOMAIN_SAVE_RUNNING | C.VIR_DOMAIN_SAVE_PAUSED,
                     "virDomainManagedSave")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            if dom.config is None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, "cannot do managed save for transient domain",
                                  _FROM_TEST)
            self._stop(dom, C.VIR_DOMAIN_SHUTOFF_SAVED, C.VIR_DOMAIN_EVENT_STOPPED_SAVED, events)
            dom.has_managed_save = True
        self._emit(events)

    def domain_has_managed_save_image(self, ref: DomainRef, flags: int = 0) -> bool:
        _check_flags(flags, 0, "virDomainHasManagedSaveImage")
        with self._lock:
            return self._get(ref).has_managed_save

    def domain_managed_save_remove(self, ref: DomainRef, flags: int = 0) -> None:
        _check_flags(flags, 0, "virDomainManagedSaveRemove")
        with self._lock:
            self._get(ref).has_managed_save = False

    def domain_save(self, ref: DomainRef, path: str, dxml: Optional[str] = None, flags: int = 0) -> None:
        _check_flags(flags, C.VIR_DOMAIN_SAVE_BYPASS_CACHE | C.VIR_DOMAIN_SAVE_RUNNING | C.VIR_DOMAIN_SAVE_PAUSED,
                     "virDomainSaveFlags")
        if flags & C.VIR_DOMAIN_SAVE_RUNNING and flags & C.VIR_DOMAIN_SAVE_PAUSED:
            raise DriverError(C.VIR_ERR_INVALID_ARG, "flags 'running' and 'paused' are mutually exclusive",
                              _FROM_TEST)
        alt = self._parse(dxml) if dxml else None
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            live = dom.live
            assert live is not None
            if alt is not None and (alt.uuid != live.uuid or alt.name != live.name):
                raise DriverError(C.VIR_ERR_INVALID_ARG,
                                  f"the XML given for the save image must describe domain '{live.name}' "
                                  f"(same name and uuid)", _FROM_TEST)
            xml = (alt or live).to_xml(secure=False).encode("utf-8")
            paused = dom.state == C.VIR_DOMAIN_PAUSED
            if flags & C.VIR_DOMAIN_SAVE_RUNNING:
                paused = False
            elif flags & C.VIR_DOMAIN_SAVE_PAUSED:
                paused = True
            blob = (SAVE_MAGIC + struct.pack("<i", len(xml)) + xml + _SAVE_TRAILER
                    + (b"paused" if paused else b"running") + b"\n")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, blob)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise DriverError(C.VIR_ERR_SYSTEM_ERROR,
                                  f"saving domain '{dom.name}' failed to write '{path}': {exc.strerror}",
                                  _FROM_TEST, int1=exc.errno or -1) from None
            self._stop(dom, C.VIR_DOMAIN_SHUTOFF_SAVED, C.VIR_DOMAIN_EVENT_STOPPED_SAVED, events)
        self._emit(events)

    @staticmethod
    def read_save_image(path: str) -> tuple[bytes, bool]:
        """Read and check a save image: (domain XML, was paused).  Also reads libvirt's own test images."""
        try:
            with open(path, "rb") as f:
                head = f.read(len(SAVE_MAGIC) + 4)
                if len(head) < len(SAVE_MAGIC) + 4:
                    raise DriverError(C.VIR_ERR_SYSTEM_ERROR,
                                      f"incomplete save header in '{path}': not a domain save image", _FROM_TEST)
                if head[:len(SAVE_MAGIC)] != SAVE_MAGIC:
                    raise DriverError(C.VIR_ERR_INTERNAL_ERROR,
                                      f"mismatched header magic in '{path}': not a domain save image", _FROM_TEST)
                (length,) = struct.unpack("<i", head[len(SAVE_MAGIC):])
                if not 0 < length <= _MAX_SAVE_XML:
                    raise DriverError(C.VIR_ERR_INTERNAL_ERROR,
                                      f"length of saved domain XML in '{path}' is out of range ({length}): "
                                      f"the image is corrupt", _FROM_TEST)
                xml = f.read(length)
                if len(xml) != length:
                    raise DriverError(C.VIR_ERR_SYSTEM_ERROR,
                                      f"incomplete metadata in '{path}': the image is truncated", _FROM_TEST)
                trailer = f.read(64)
        except OSError as exc:
            raise DriverError(C.VIR_ERR_SYSTEM_ERROR,
                              f"cannot read domain image '{path}': {exc.strerror}", _FROM_TEST,
                              int1=exc.errno or -1) from None
        paused = trailer.startswith(_SAVE_TRAILER + b"paused")
        return xml, paused

    def domain_restore(self, path: str, dxml: Optional[str] = None, flags: int = 0) -> DomainRef:
        _check_flags(flags, C.VIR_DOMAIN_SAVE_BYPASS_CACHE | C.VIR_DOMAIN_SAVE_RUNNING | C.VIR_DOMAIN_SAVE_PAUSED
                     | C.VIR_DOMAIN_SAVE_RESET_NVRAM, "virDomainRestoreFlags")
        xml, paused = self.read_save_image(path)
        d = self._parse(xml)
        if dxml:
            alt = self._parse(dxml)
            if alt.uuid != d.uuid or alt.name != d.name:
                raise DriverError(C.VIR_ERR_INVALID_ARG,
                                  f"the XML given for restoring must describe domain '{d.name}' "
                                  f"(same name and uuid as in the image)", _FROM_TEST)
            d = alt
        if flags & C.VIR_DOMAIN_SAVE_RUNNING:
            paused = False
        elif flags & C.VIR_DOMAIN_SAVE_PAUSED:
            paused = True
        events: list[Event] = []
        with self._lock:
            dom = self._to_run(d)
            self._start(dom, C.VIR_DOMAIN_START_PAUSED if paused else 0, events,
                        reason=C.VIR_DOMAIN_RUNNING_RESTORED, detail=C.VIR_DOMAIN_EVENT_STARTED_RESTORED,
                        paused_detail=C.VIR_DOMAIN_EVENT_SUSPENDED_RESTORED)
            ref = dom.ref
        self._emit(events)
        return ref

