"""virStoragePool, virStorageVol and virStream, with libvirt-python's method names.

Uploads and downloads go through a :class:`virStream` as in libvirt-python::

    st = conn.newStream()
    vol.upload(st, 0, 0)
    st.sendAll(lambda st, n, f: f.read(n), fileobj)
    st.finish()

:func:`upload_file` / :func:`download_file` do that with a progress callback and a
cancel check (the GUI's progress bar and Cancel button).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional

from . import constants as C
from .errors import DriverError, libvirtError
from .handle import Handle
from .handle import check_flags as _flags
from .handle import check_str as _str

if TYPE_CHECKING:
    from .connection import virConnect

CHUNK = 256 * 1024


def _offset(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"{what} must be a non-negative integer, not {value!r}")


class virStoragePool(Handle):
    """A handle on a storage pool; valid while the pool exists in its driver."""

    __slots__ = ()

    def _call(self, op: str, mutating: bool, *args: Any) -> Any:
        return self._conn._invoke(op, mutating, self._ref, *args)

    def info(self) -> list[int]:
        """[state, capacity, allocation, available] (bytes)."""
        return self._call("storage_pool_get_info", False)

    def XMLDesc(self, flags: int = 0) -> str:
        if flags:
            self._conn._checked(False, "virStoragePoolGetXMLDesc", lambda: _flags(flags))
        return self._call("storage_pool_get_xml_desc", False, flags)

    def isActive(self) -> int:
        return 1 if self._call("storage_pool_is_active", False) else 0

    def isPersistent(self) -> int:
        return 1 if self._call("storage_pool_is_persistent", False) else 0

    def autostart(self) -> int:
        return 1 if self._call("storage_pool_get_autostart", False) else 0

    def setAutostart(self, autostart: int) -> int:
        self._call("storage_pool_set_autostart", True, bool(autostart))
        return 0

    def create(self, flags: int = 0) -> int:
        """Start the pool (VIR_STORAGE_POOL_CREATE_WITH_BUILD builds it first)."""
        self._conn._checked(True, "virStoragePoolCreate", lambda: _flags(flags))
        self._call("storage_pool_create", True, flags)
        return 0

    def build(self, flags: int = 0) -> int:
        self._conn._checked(True, "virStoragePoolBuild", lambda: _flags(flags))
        self._call("storage_pool_build", True, flags)
        return 0

    def destroy(self) -> int:
        self._call("storage_pool_destroy", True)
        return 0

    def delete(self, flags: int = 0) -> int:
        """Remove the pool's storage on the host (its directory, its volume group)."""
        self._conn._checked(True, "virStoragePoolDelete", lambda: _flags(flags))
        self._call("storage_pool_delete", True, flags)
        return 0

    def undefine(self) -> int:
        self._call("storage_pool_undefine", True)
        return 0

    def refresh(self, flags: int = 0) -> int:
        """Re-read the pool's volumes and sizes (refused on read-only connections, as libvirt does)."""
        self._conn._checked(True, "virStoragePoolRefresh", lambda: _flags(flags))
        self._call("storage_pool_refresh", True, flags)
        return 0

    def listAllVolumes(self, flags: int = 0) -> list[virStorageVol]:
        self._conn._checked(False, "virStoragePoolListAllVolumes", lambda: _flags(flags))
        return [virStorageVol(self._conn, ref) for ref in self._call("storage_pool_list_all_volumes", False, flags)]

    def listVolumes(self) -> list[str]:
        return [v.name() for v in self.listAllVolumes()]

    def numOfVolumes(self) -> int:
        return len(self.listAllVolumes())

    def storageVolLookupByName(self, name: str) -> virStorageVol:
        self._conn._checked(False, "virStorageVolLookupByName", lambda: _str(name, "name"))
        return virStorageVol(self._conn, self._call("storage_vol_lookup_by_name", False, name))

    def createXML(self, xmlDesc: str, flags: int = 0) -> virStorageVol:
        """Create a volume from ``<volume>`` XML."""
        self._conn._checked(True, "virStorageVolCreateXML", lambda: (_str(xmlDesc, "xmlDesc"), _flags(flags)))
        return virStorageVol(self._conn, self._call("storage_vol_create_xml", True, xmlDesc, flags))

    def createXMLFrom(self, xmlDesc: str, clonevol: virStorageVol, flags: int = 0) -> virStorageVol:
        """Create a volume as a copy of ``clonevol`` (converted to the format the XML asks for)."""
        def check() -> None:
            _str(xmlDesc, "xmlDesc")
            _flags(flags)
            if not isinstance(clonevol, virStorageVol) or clonevol._conn is not self._conn:
                raise DriverError(C.VIR_ERR_INVALID_ARG, "clonevol must be a volume of this connection")
        self._conn._checked(True, "virStorageVolCreateXMLFrom", check)
        return virStorageVol(self._conn, self._call("storage_vol_create_xml_from", True, xmlDesc,
                                                    clonevol._ref, flags))


class virStorageVol(Handle):
    """A handle on a storage volume (identified by its key)."""

    __slots__ = ()

    def _call(self, op: str, mutating: bool, *args: Any) -> Any:
        return self._conn._invoke(op, mutating, self._ref, *args)

    def key(self) -> str:
        return self._ref.uuid

    def UUIDString(self) -> str:
        return self._ref.uuid

    def storagePoolLookupByVolume(self) -> virStoragePool:
        return virStoragePool(self._conn, self._conn._invoke("storage_pool_lookup_by_name", False, self._ref.pool))

    def info(self) -> list[int]:
        """[type, capacity, allocation] (VIR_STORAGE_VOL_FILE/BLOCK, bytes)."""
        return self._call("storage_vol_get_info", False)

    def XMLDesc(self, flags: int = 0) -> str:
        return self._call("storage_vol_get_xml_desc", False, flags)

    def path(self) -> str:
        return self._call("storage_vol_get_path", False)

    def delete(self, flags: int = 0) -> int:
        self._conn._checked(True, "virStorageVolDelete", lambda: _flags(flags))
        self._call("storage_vol_delete", True, flags)
        return 0

    def wipe(self, flags: int = 0) -> int:
        self._conn._checked(True, "virStorageVolWipe", lambda: _flags(flags))
        self._call("storage_vol_wipe", True, flags)
        return 0

    def resize(self, capacity: int, flags: int = 0) -> int:
        def check() -> None:
            _offset(capacity, "capacity")
            _flags(flags)
        self._conn._checked(True, "virStorageVolResize", check)
        self._call("storage_vol_resize", True, capacity, flags)
        return 0

    def upload(self, stream: virStream, offset: int, length: int, flags: int = 0) -> int:
        """Make ``stream`` write into this volume from ``offset`` (``length`` 0: the whole rest)."""
        def check() -> None:
            _offset(offset, "offset")
            _offset(length, "length")
            _flags(flags)
            stream._check_unused(self._conn)
        self._conn._checked(True, "virStorageVolUpload", check)
        stream._attach(self._call("storage_vol_upload", True, offset, length, flags), upload=True)
        return 0

    def download(self, stream: virStream, offset: int, length: int, flags: int = 0) -> int:
        """Make ``stream`` read this volume from ``offset`` (``length`` 0: to the end)."""
        def check() -> None:
            _offset(offset, "offset")
            _offset(length, "length")
            _flags(flags)
            stream._check_unused(self._conn)
        self._conn._checked(True, "virStorageVolDownload", check)  # read-only connections may not read data
        stream._attach(self._call("storage_vol_download", True, offset, length, flags), upload=False)
        return 0


class virStream:
    """A data stream between the caller and a volume (upload or download) or a console (both ways)."""

    def __init__(self, conn: virConnect, flags: int = 0) -> None:
        self._conn = conn
        self._end: Any = None
        self._upload: Optional[bool] = False  # None: both ways (a console)
        self._done = False

    def _check_unused(self, conn: virConnect) -> None:
        if conn is not self._conn:
            raise DriverError(C.VIR_ERR_INVALID_ARG, "the stream belongs to another connection")
        if self._end is not None or self._done:
            raise DriverError(C.VIR_ERR_INVALID_STREAM, "the stream is already in use: make a new one with "
                                                        "conn.newStream()")

    def _attach(self, end: Any, upload: Optional[bool]) -> None:
        self._end, self._upload = end, upload

    def _op(self, api: str, fn: Callable[[], Any]) -> Any:
        def guarded() -> Any:
            if self._end is None or self._done:
                raise DriverError(C.VIR_ERR_INVALID_STREAM, f"{api}: the stream is not open (finished, aborted, "
                                                            f"or never passed to upload/download)")
            return fn()
        try:
            return self._conn._checked(False, api, guarded)
        except libvirtError:
            self._done = True
            raise

    def _direction(self, upload: bool, api: str) -> None:
        if self._upload is not None and self._upload != upload:
            raise DriverError(C.VIR_ERR_INVALID_STREAM, f"{api}: this stream is "
                              f"{'an upload: use send()' if self._upload else 'a download: use recv()'}")

    def send(self, data: bytes) -> int:
        def write() -> None:
            self._direction(True, "virStreamSend")
            self._end.write(bytes(data))
        self._op("virStreamSend", write)
        return len(data)

    def recv(self, nbytes: int) -> bytes:
        def read() -> bytes:
            self._direction(False, "virStreamRecv")
            return self._end.read(nbytes)
        return self._op("virStreamRecv", read)

    def sendAll(self, handler: Callable[[virStream, int, Any], bytes], opaque: Any) -> None:
        """Send what ``handler(stream, nbytes, opaque)`` returns until it returns b''."""
        while True:
            try:
                data = handler(self, CHUNK, opaque)
            except BaseException:
                self.abort()
                raise
            if not data:
                return
            self.send(data)

    def recvAll(self, handler: Callable[[virStream, bytes, Any], Any], opaque: Any) -> None:
        """Pass every chunk to ``handler(stream, data, opaque)`` until the end."""
        while True:
            data = self.recv(CHUNK)
            if not data:
                return
            try:
                handler(self, data, opaque)
            except BaseException:
                self.abort()
                raise

    def finish(self) -> int:
        self._op("virStreamFinish", lambda: self._end.finish())
        self._done = True
        return 0

    def abort(self) -> int:
        if self._end is not None and not self._done:
            try:
                self._end.abort()
            finally:
                self._done = True
        return 0


Progress = Callable[[int, int], None]


def upload_file(vol: virStorageVol, path: str, progress: Optional[Progress] = None,
                cancelled: Callable[[], bool] = lambda: False) -> bool:
    """Upload the file at ``path`` into ``vol``; ``progress(done, total)``; False when cancelled (nothing kept)."""
    total = os.path.getsize(path)
    st = vol.connect().newStream()
    vol.upload(st, 0, 0)
    done = 0
    with open(path, "rb") as f:
        while True:
            if cancelled():
                st.abort()
                return False
            data = f.read(CHUNK)
            if not data:
                break
            st.send(data)
            done += len(data)
            if progress:
                progress(done, total)
    st.finish()
    return True


def download_file(vol: virStorageVol, path: str, progress: Optional[Progress] = None,
                  cancelled: Callable[[], bool] = lambda: False) -> bool:
    """Download ``vol`` into a new file at ``path``; False when cancelled (the partial file is removed)."""
    total = vol.info()[1]
    st = vol.connect().newStream()
    vol.download(st, 0, 0)
    done = 0
    ok = False
    try:
        f = open(path, "xb")
    except OSError:
        st.abort()
        raise
    try:
        with f:
            while True:
                if cancelled():
                    st.abort()
                    break
                data = st.recv(CHUNK)
                if not data:
                    st.finish()
                    ok = True
                    break
                f.write(data)
                done += len(data)
                if progress:
                    progress(done, total)
    finally:
        if not ok:
            os.unlink(path)
    return ok


__all__ = ["virStoragePool", "virStorageVol", "virStream", "upload_file", "download_file"]
