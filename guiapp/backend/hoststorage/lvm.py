"""``logical`` pools: an LVM volume group whose logical volumes are the pool's volumes.

``build`` runs ``pvcreate`` on the source devices and ``vgcreate``; volumes are
made with ``lvcreate``/``lvremove``/``lvresize``.  Every argv value is checked
first: device paths are absolute (never an option), volume group and volume names
match LVM's own character set and never start with ``-``, sizes are integers.
udev is not assumed (``udev_sync=0``): containers and chroots have none.
"""

from __future__ import annotations

import os
from typing import Optional

from .. import constants as C
from ..errors import DriverError
from ..xml.serialize import escape_text, quote_attr
from ..xml.storage import Permissions, VolumeDef, check_abs_path, check_vg_name
from .refs import Pool
from .streams import FileSink, FileSource
from .tools import err, run

CONFIG = "--config=activation{udev_sync=0 udev_rules=0} devices{obtain_device_list_from_udev=0}"
_ENV = {"LVM_SUPPRESS_FD_WARNINGS": "1", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def lvm(*args: str, timeout: float = 120.0) -> str:
    """Run one LVM command (``pvcreate``, ``lvs``, ...) without udev."""
    return run(["lvm", args[0], CONFIG, *args[1:]], timeout=timeout, env=_ENV)


def _lv_name(name: str) -> str:
    try:
        return check_vg_name(name)
    except DriverError:
        raise err(C.VIR_ERR_INVALID_ARG, f"volume name {name!r} is not a valid LVM logical volume name: use "
                                         f"letters, digits and + _ . - (not starting with '-')") from None


def _vg(pool: Pool) -> str:
    return check_vg_name(pool.defn.source_name or pool.defn.name)


def find_sources() -> str:
    """libvirt's ``<sources>`` document for the host's LVM physical volumes grouped by volume group."""
    out = lvm("pvs", "--noheadings", "--separator", "|", "-o", "pv_name,vg_name")
    groups: dict[str, list[str]] = {}
    for line in out.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 2 and parts[0]:
            groups.setdefault(parts[1], []).append(parts[0])
    lines = ["<sources>"]
    for vg, pvs in sorted(groups.items()):
        lines.append("  <source>")
        lines += [f"    <device path={quote_attr(p)}/>" for p in pvs]
        if vg:
            lines.append(f"    <name>{escape_text(vg)}</name>")
        lines += ["    <format type='lvm2'/>", "  </source>"]
    lines.append("</sources>")
    return "\n".join(lines) + "\n"


class LogicalBackend:
    """See the module docstring."""

    def build(self, pool: Pool, flags: int) -> None:
        devices = [check_abs_path(d, "source device") for d in pool.defn.devices]
        if not devices:
            raise err(C.VIR_ERR_INVALID_ARG, f"logical pool '{pool.defn.name}' has no <source><device path=.../> "
                                             f"to build the volume group on")
        for dev in devices:
            if not os.path.exists(dev):
                raise err(C.VIR_ERR_INVALID_ARG, f"source device '{dev}' does not exist")
        done: list[str] = []
        try:
            for dev in devices:
                lvm("pvcreate", "-qy", dev)
                done.append(dev)
            lvm("vgcreate", "-q", _vg(pool), *devices)
        except DriverError:
            for dev in done:  # nothing half-made: take the labels off again
                try:
                    lvm("pvremove", "-qf", dev)
                except DriverError:
                    pass
            raise

    def start(self, pool: Pool) -> None:
        vg = _vg(pool)
        try:
            lvm("vgs", "--noheadings", "-o", "vg_name", vg)
        except DriverError:
            raise err(C.VIR_ERR_OPERATION_INVALID, f"volume group '{vg}' of pool '{pool.defn.name}' was not found: "
                                                   f"build the pool first (pool-build) or check its source "
                                                   f"devices") from None
        if self._lv_rows(pool):
            lvm("vgchange", "-q", "-aay", vg)

    def stop(self, pool: Pool) -> None:
        if self._lv_rows(pool):
            lvm("vgchange", "-q", "-aan", _vg(pool))

    def delete(self, pool: Pool, flags: int) -> None:
        lvm("vgremove", "-qf", _vg(pool))
        for dev in pool.defn.devices:
            lvm("pvremove", "-qf", check_abs_path(dev, "source device"))

    def sizes(self, pool: Pool) -> tuple[int, int, int]:
        out = lvm("vgs", "--noheadings", "--units", "b", "--nosuffix", "--separator", "|", "-o",
                  "vg_size,vg_free", _vg(pool))
        size, free = (int(x.strip()) for x in out.strip().split("|"))
        return size, size - free, free

    def _lv_rows(self, pool: Pool) -> list[list[str]]:
        out = lvm("lvs", "--noheadings", "--units", "b", "--nosuffix", "--separator", "|", "-o",
                  "lv_name,lv_uuid,lv_size,origin", _vg(pool))
        return [[p.strip() for p in line.split("|")] for line in out.splitlines() if line.strip()]

    def scan(self, pool: Pool) -> dict[str, VolumeDef]:
        vg = _vg(pool)
        out = {}
        for name, uuid, size, origin in self._lv_rows(pool):
            out[name] = VolumeDef(name=name, type="block", key=uuid, capacity=int(size), allocation=int(size),
                                  path=f"/dev/{vg}/{name}", perms=Permissions(),
                                  backing_path=f"/dev/{vg}/{origin}" if origin else None)
        return dict(sorted(out.items()))

    def stat_volume(self, pool: Pool, vol: VolumeDef) -> VolumeDef:
        now = self.scan(pool).get(vol.name)
        if now is None:
            raise err(C.VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name '{vol.name}'")
        return now

    def create_volume(self, pool: Pool, vol: VolumeDef, source: Optional[VolumeDef]) -> VolumeDef:
        name = _lv_name(vol.name)
        if source is not None or vol.backing_path:
            raise err(C.VIR_ERR_NO_SUPPORT, "copying or snapshotting logical volumes is not supported yet")
        lvm("lvcreate", "-qy", "-n", name, "-L", f"{int(vol.capacity or 0)}b", _vg(pool))
        return self.stat_volume(pool, vol)

    def delete_volume(self, pool: Pool, vol: VolumeDef) -> None:
        lvm("lvremove", "-qf", f"{_vg(pool)}/{_lv_name(vol.name)}")

    def wipe_volume(self, pool: Pool, vol: VolumeDef) -> None:
        sink = FileSink(str(vol.path), 0, vol.capacity or 0)
        zeros, left = bytes(1 << 20), vol.capacity or 0
        while left > 0:
            n = min(left, len(zeros))
            sink.write(zeros[:n])
            left -= n
        sink.finish()

    def resize_volume(self, pool: Pool, vol: VolumeDef, capacity: int, shrink: bool) -> None:
        args = ["lvresize", "-q", "-L", f"{int(capacity)}b"]
        if shrink:
            args.append("-f")
        lvm(*args, f"{_vg(pool)}/{_lv_name(vol.name)}")

    def upload(self, pool: Pool, vol: VolumeDef, offset: int, length: int) -> FileSink:
        return FileSink(str(vol.path), offset, length or max(0, (vol.capacity or 0) - offset))

    def download(self, pool: Pool, vol: VolumeDef, offset: int, length: int) -> FileSource:
        return FileSource(str(vol.path), offset, length)


__all__ = ["LogicalBackend", "find_sources", "lvm"]
