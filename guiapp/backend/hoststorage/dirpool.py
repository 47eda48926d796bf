"""``dir`` pools: a directory of image files made and changed with ``qemu-img``.

Every value reaching ``qemu-img``'s argv is checked first: volume names are plain
file names (no ``/``, not ``..``: :func:`~guiapp.backend.xml.storage.check_volume_name`),
paths are absolute (so never read as options or ``protocol:`` filenames), formats
come from a fixed list, sizes are integers.  A volume file is created 0600 with
``O_EXCL`` before ``qemu-img`` writes it, and removed again when ``qemu-img``
fails or is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from typing import Any, Optional

from .. import constants as C
from ..xml.storage import CREATE_FORMATS, KNOWN_FORMATS, Permissions, VolumeDef, volume_path
from .probe import probe
from .refs import Pool
from .streams import FileSink, FileSource
from .tools import err, run

_CHUNK = 1 << 20


def qemu_img_info(path: str) -> dict[str, Any]:
    """``qemu-img info --output=json`` of ``path`` (used for checks and for formats the header probe skips)."""
    out = run(["qemu-img", "info", "--output=json", "-U", path], timeout=60)
    return json.loads(out)


def _check_format(fmt: Optional[str], what: str) -> str:
    fmt = fmt or "raw"
    if fmt not in KNOWN_FORMATS:
        raise err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"unknown {what} format '{fmt}'")
    return fmt


class DirBackend:
    """See the module docstring."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[int, ...], VolumeDef]] = {}

    # ------------------------------------------------------------------ pool
    def build(self, pool: Pool, flags: int) -> None:
        path = pool.defn.target_path
        if os.path.lexists(path) and not os.path.isdir(path):
            raise err(C.VIR_ERR_OPERATION_INVALID, f"pool target '{path}' exists and is not a directory: choose "
                                                   f"another target path or remove that file")
        try:
            os.makedirs(path, mode=0o755, exist_ok=True)
            if pool.defn.perms.mode is not None:
                os.chmod(path, pool.defn.perms.mode)
        except OSError as exc:
            raise err(C.VIR_ERR_OPERATION_FAILED, f"cannot create the pool directory '{path}': {exc.strerror}") \
                from None

    def start(self, pool: Pool) -> None:
        path = pool.defn.target_path
        if not os.path.exists(path):
            raise err(C.VIR_ERR_OPERATION_INVALID, f"pool target directory '{path}' does not exist: build the pool "
                                                   f"first (pool-build, or pool-start --build)")
        if not os.path.isdir(path):
            raise err(C.VIR_ERR_OPERATION_INVALID, f"pool target '{path}' is not a directory: a dir pool needs a "
                                                   f"directory as its target path")

    def stop(self, pool: Pool) -> None:
        self._cache.clear()

    def delete(self, pool: Pool, flags: int) -> None:
        path = pool.defn.target_path
        try:
            os.rmdir(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise err(C.VIR_ERR_OPERATION_INVALID, f"cannot delete the pool directory '{path}': {exc.strerror} "
                                                   f"(delete its volumes first)") from None

    def stamp(self, pool: Pool) -> object:
        """Changes when a file is added to or removed from the pool directory (by any process)."""
        try:
            st = os.stat(pool.defn.target_path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_nlink)

    def sizes(self, pool: Pool) -> tuple[int, int, int]:
        try:
            st = os.statvfs(pool.defn.target_path)
        except OSError as exc:
            raise err(C.VIR_ERR_OPERATION_FAILED, f"cannot read the size of '{pool.defn.target_path}': "
                                                  f"{exc.strerror}") from None
        cap = st.f_blocks * st.f_frsize
        return cap, cap - st.f_bfree * st.f_frsize, st.f_bavail * st.f_frsize

    # --------------------------------------------------------------- volumes
    def _volume(self, pool: Pool, name: str, path: str, st: os.stat_result) -> VolumeDef:
        """The volume at ``path``, probed again only when its inode, size, mtime, blocks or owner changed."""
        key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_blocks, st.st_mode, st.st_uid, st.st_gid)
        hit = self._cache.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        info = probe(path, st)
        vol = VolumeDef(name=name, type="block" if info.block else "file", key=path, capacity=info.capacity,
                        allocation=info.allocation, path=path, format=info.format,
                        perms=Permissions(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid),
                        backing_path=info.backing, backing_format=info.backing_format if info.backing else None)
        self._cache[path] = (key, vol)
        return vol

    def scan(self, pool: Pool) -> dict[str, VolumeDef]:
        out: dict[str, VolumeDef] = {}
        seen: set[str] = set()
        try:
            entries = list(os.scandir(pool.defn.target_path))
        except OSError as exc:
            raise err(C.VIR_ERR_OPERATION_FAILED, f"cannot read pool directory '{pool.defn.target_path}': "
                                                  f"{exc.strerror}") from None
        for ent in entries:
            if ent.name.startswith(".") and ".upload-" in ent.name:
                continue
            try:
                st = ent.stat()
                if not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)):
                    continue
                out[ent.name] = self._volume(pool, ent.name, ent.path, st)
                seen.add(ent.path)
            except OSError:
                continue  # vanished or unreadable: skipped, as libvirt does
        for gone in set(self._cache) - seen:
            if os.path.dirname(gone) == pool.defn.target_path:
                del self._cache[gone]
        return dict(sorted(out.items()))

    def _stat_volume(self, pool: Pool, name: str) -> VolumeDef:
        path = volume_path(pool.defn, name)
        return self._volume(pool, name, path, os.stat(path))

    def stat_volume(self, pool: Pool, vol: VolumeDef) -> VolumeDef:
        try:
            return self._stat_volume(pool, vol.name)
        except OSError as exc:
            raise err(C.VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name '{vol.name}' "
                                                f"({exc.strerror})") from None

    def create_volume(self, pool: Pool, vol: VolumeDef, source: Optional[VolumeDef]) -> VolumeDef:
        path = volume_path(pool.defn, vol.name)
        fmt = _check_format(vol.format, "volume")
        if source is None and fmt not in CREATE_FORMATS:
            raise err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"cannot create volumes of format '{fmt}': use "
                                                    f"{' or '.join(CREATE_FORMATS)}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            os.close(fd)
        except FileExistsError:
            raise err(C.VIR_ERR_STORAGE_VOL_EXIST, f"storage volume name '{vol.name}' already in use") from None
        except OSError as exc:
            raise err(C.VIR_ERR_OPERATION_FAILED, f"cannot create volume '{path}': {exc.strerror}") from None
        try:
            if source is not None:
                src_fmt = _check_format(source.format, "source volume")
                run(["qemu-img", "convert", "-f", src_fmt, "-O", fmt, "-U", str(source.path), path])
                if vol.capacity and vol.capacity > (source.capacity or 0):
                    run(["qemu-img", "resize", "-f", fmt, path, str(vol.capacity)])
            else:
                args = ["qemu-img", "create", "-q", "-f", fmt]
                if vol.backing_path:
                    args += ["-b", vol.backing_path, "-F", _check_format(vol.backing_format, "backing")]
                elif fmt == "raw" and vol.allocation is not None and vol.capacity and \
                        vol.allocation >= vol.capacity:
                    args += ["-o", "preallocation=falloc"]
                args.append(path)
                if vol.capacity:
                    args.append(str(vol.capacity))
                run(args)
            os.chmod(path, vol.perms.mode if vol.perms.mode is not None else 0o600)
            if vol.perms.owner is not None or vol.perms.group is not None:
                os.chown(path, -1 if vol.perms.owner is None else vol.perms.owner,
                         -1 if vol.perms.group is None else vol.perms.group)
            return self._stat_volume(pool, vol.name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(path)
            self._cache.pop(path, None)
            raise

    def delete_volume(self, pool: Pool, vol: VolumeDef) -> None:
        path = volume_path(pool.defn, vol.name)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise err(C.VIR_ERR_OPERATION_FAILED, f"cannot remove volume '{path}': {exc.strerror}") from None
        self._cache.pop(path, None)

    def wipe_volume(self, pool: Pool, vol: VolumeDef) -> None:
        path = volume_path(pool.defn, vol.name)
        if vol.format not in (None, "raw"):  # as libvirt: re-create the image empty, same size and backing
            args = ["qemu-img", "create", "-q", "-f", _check_format(vol.format, "volume")]
            if vol.backing_path:
                args += ["-b", vol.backing_path, "-F", _check_format(vol.backing_format, "backing")]
            run(args + [path, str(vol.capacity or 0)])
            return
        zeros = bytes(_CHUNK)
        try:
            with open(path, "r+b") as f:
                left = os.fstat(f.fileno()).st_size
                while left > 0:
                    left -= f.write(zeros[:min(left, _CHUNK)])
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise err(C.VIR_ERR_OPERATION_FAILED, f"cannot wipe volume '{path}': {exc.strerror}") from None

    def resize_volume(self, pool: Pool, vol: VolumeDef, capacity: int, shrink: bool) -> None:
        args = ["qemu-img", "resize", "-q", "-f", _check_format(vol.format, "volume")]
        if shrink:
            args.append("--shrink")
        run(args + [volume_path(pool.defn, vol.name), str(capacity)])

    def upload(self, pool: Pool, vol: VolumeDef, offset: int, length: int) -> FileSink:
        path = volume_path(pool.defn, vol.name)
        return FileSink(path, offset, length, vol.perms.mode if vol.perms.mode is not None else 0o600)

    def download(self, pool: Pool, vol: VolumeDef, offset: int, length: int) -> FileSource:
        return FileSource(volume_path(pool.defn, vol.name), offset, length)


__all__ = ["DirBackend", "qemu_img_info"]
