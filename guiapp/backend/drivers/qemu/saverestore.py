"""virDomainSave / virDomainRestore on QEMU: migration to a file behind a small header (:mod:`.savefile`),
restore into a fresh QEMU started with ``-incoming``.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ..base import DomainRef
from . import savefile
from .dom import PAUSED, RUNNING, _err
from .lifecycle import QemuLifecycle


class QemuSaveRestore(QemuLifecycle):
    """Save and restore of :class:`~.driver.QemuDriver` (managed save: :mod:`.managedsave`)."""

    def domain_save(self, ref: DomainRef, path: str, dxml: Optional[str], flags: int) -> None:
        with self.lock():
            dom = self._active(ref)
            rec = dom.record
            assert rec is not None
            was_running = rec.state == RUNNING
            xml = dxml if dxml is not None else dom.defn.to_xml(inactive=True, secure=False)
            if dxml is not None:
                self._parse(dxml)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise _err(C.VIR_ERR_OPERATION_FAILED, f"cannot create save file '{path}': {exc.strerror}") from None
            ok = False
            try:
                savefile.write_header(fd, {"xml": xml, "running": was_running, "name": dom.name})
                if was_running:
                    rec.pause_reason = C.VIR_DOMAIN_PAUSED_SAVE
                    self._qmp(dom, "stop")
                    rec.set_state(PAUSED, C.VIR_DOMAIN_PAUSED_SAVE, changed_at=time.time())
                self._qmp(dom, "migrate", {"uri": "fd:guiapp-save"}, fd=(fd, "guiapp-save"))
                deadline = time.monotonic() + 600
                while True:
                    st = self._qmp(dom, "query-migrate")
                    status = st.get("status")
                    if status == "completed":
                        break
                    if status in ("failed", "cancelled") or time.monotonic() > deadline:
                        raise _err(C.VIR_ERR_OPERATION_FAILED,
                                   f"saving '{dom.name}' failed: {st.get('error-desc', status)}")
                    time.sleep(0.01)
                os.fsync(fd)
                ok = True
            finally:
                os.close(fd)
                if not ok:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                    if was_running:
                        with contextlib.suppress(DriverError):
                            self._qmp(dom, "cont")
                        rec.set_state(RUNNING, C.VIR_DOMAIN_RUNNING_SAVE_CANCELED, changed_at=time.time())
                        self._save_record(dom)
            self._kill(dom, C.VIR_DOMAIN_SHUTOFF_SAVED)
        self._note_state(dom)

    def domain_restore(self, path: str, dxml: Optional[str], flags: int) -> DomainRef:
        meta, offset = savefile.read_header(path)
        defn = self._parse(dxml if dxml is not None else meta["xml"])
        running = bool(meta.get("running", True))
        if flags & C.VIR_DOMAIN_SAVE_PAUSED:
            running = False
        elif flags & C.VIR_DOMAIN_SAVE_RUNNING:
            running = True
        with self.lock():
            self._sync()
            same = self._check_unique(defn, allow_same=True)
            if same is not None and same.active:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{defn.name}' is already active")
            if same is not None:
                same.seen = self._state(same)
            dom = self._start(defn, restore=(path, offset, running))
        self._note_state(dom)
        return dom.ref()
