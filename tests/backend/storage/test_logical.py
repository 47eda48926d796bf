"""``logical`` pools on real LVM, on loop devices the fixture makes (root and lvm2 needed; removed afterwards).

Where the kernel has no device-mapper (containers), LVM can make physical volumes
and volume groups but no logical volumes: the volume test then checks that the
failure is a clear coded error that leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import guiapp.backend as libvirt
from guiapp.backend.hoststorage.lvm import lvm

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("lvm", path="/usr/sbin:/sbin") is None
                                or shutil.which("losetup", path="/usr/sbin:/sbin") is None,
                                reason="needs root, lvm2 and losetup")


def _dm_usable() -> bool:
    try:
        os.close(os.open("/dev/mapper/control", os.O_RDWR))
        return True
    except OSError:
        return False


@pytest.fixture
def loops(tmp_path: Path) -> Iterator[list[str]]:
    """Two 64 MiB loop devices; afterwards any VG on them is removed, labels wiped and loops detached."""
    devs: list[str] = []
    try:
        for i in range(2):
            img = tmp_path / f"disk{i}.img"
            with open(img, "wb") as f:
                f.truncate(64 * 2 ** 20)
            r = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True, text=True)
            if r.returncode != 0:
                pytest.skip(f"cannot make loop devices here: {r.stderr.strip()}")
            devs.append(r.stdout.strip())
        yield devs
    finally:
        vg = f"guiapptest{os.getpid()}"
        subprocess.run(["lvm", "vgremove", "-qf", vg], capture_output=True)
        for dev in devs:
            subprocess.run(["lvm", "pvremove", "-qf", dev], capture_output=True)
            subprocess.run(["losetup", "-d", dev], capture_output=True)


def _pool_xml(devs: list[str]) -> str:
    src = "".join(f"<device path='{d}'/>" for d in devs)
    return (f"<pool type='logical'><name>lvpool</name><source>{src}<name>guiapptest{os.getpid()}</name>"
            f"<format type='lvm2'/></source><target><path>/dev/guiapptest{os.getpid()}</path></target></pool>")


def test_logical_pool_lifecycle_on_loop_devices(session: Any, loops: list[str]) -> None:
    vg = f"guiapptest{os.getpid()}"
    pool = session.storagePoolDefineXML(_pool_xml(loops))
    with pytest.raises(libvirt.libvirtError) as exc:
        pool.create()
    assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID and vg in exc.value.get_error_message()
    pool.build()
    sources = session.findStoragePoolSources("logical")
    assert f"<name>{vg}</name>" in sources and all(f"<device path='{d}'/>" in sources for d in loops)
    pool.create()
    state, cap, alloc, avail = pool.info()
    size, free = (int(x) for x in lvm("vgs", "--noheadings", "--units", "b", "--nosuffix", "--separator", "|",
                                      "-o", "vg_size,vg_free", vg).strip().split("|"))
    assert (state, cap, alloc, avail) == (libvirt.VIR_STORAGE_POOL_RUNNING, size, size - free, free)
    assert pool.listAllVolumes() == []
    with pytest.raises(libvirt.libvirtError) as exc:
        pool.createXML("<volume><name>-n</name><capacity>4194304</capacity></volume>")
    assert exc.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    if _dm_usable():
        vol = pool.createXML("<volume><name>lv1</name><capacity>8388608</capacity></volume>")
        assert vol.info()[:2] == [libvirt.VIR_STORAGE_VOL_BLOCK, 8388608] and vol.path() == f"/dev/{vg}/lv1"
        vol.delete()
    else:
        with pytest.raises(libvirt.libvirtError) as exc:
            pool.createXML("<volume><name>lv1</name><capacity>8388608</capacity></volume>")
        assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
        assert "lvcreate" in exc.value.get_error_message()
    assert lvm("lvs", "--noheadings", "-o", "lv_name", vg).strip() == ""
    pool.destroy()
    pool.delete()
    pvs = lvm("pvs", "--noheadings", "-o", "pv_name")
    assert not any(d in pvs for d in loops)
    pool.undefine()


def test_build_on_a_missing_device_makes_nothing(session: Any, loops: list[str]) -> None:
    pool = session.storagePoolDefineXML(_pool_xml([loops[0], "/dev/guiapp-no-such-disk"]))
    with pytest.raises(libvirt.libvirtError) as exc:
        pool.build()
    assert exc.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    assert loops[0] not in lvm("pvs", "--noheadings", "-o", "pv_name")
    pool.undefine()
