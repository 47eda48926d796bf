"""A volume whose disk a running QEMU guest uses cannot be deleted, wiped or resized (the error names the guest)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import tinyguest as _tg  # one copy of the module: one build_tiny_guest cache

import guiapp.backend as libvirt

tiny_guest = _tg.tiny_guest  # fixture


@pytest.mark.qemu
def test_running_guest_blocks_volume_delete(session: Any, tmp_path: Path, tiny_guest: tuple[str, str]) -> None:
    kernel, initrd = tiny_guest
    pool = session.storagePoolCreateXML(f"<pool type='dir'><name>g</name><target><path>{tmp_path / 'g'}</path>"
                                        f"</target></pool>", libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    vol = pool.createXML("<volume><name>disk.qcow2</name><capacity unit='M'>16</capacity>"
                         "<target><format type='qcow2'/></target></volume>")
    dom = session.createXML(f"""<domain type='qemu'><name>storage-user</name><memory unit='MiB'>128</memory>
      <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
      <cmdline>{_tg.CMDLINE}</cmdline></os>
      <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='{vol.path()}'/><target dev='vda' bus='virtio'/></disk>
      <serial type='pty'><target port='0'/></serial></devices></domain>""")
    try:
        for call in (vol.delete, vol.wipe, lambda: vol.resize(32 * 2 ** 20),
                     lambda: libvirt.storage.upload_file(vol, kernel)):
            with pytest.raises(libvirt.libvirtError) as exc:
                call()
            assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
            assert "'storage-user'" in exc.value.get_error_message()
        with pytest.raises(libvirt.libvirtError) as exc:
            pool.destroy()
        assert "storage-user" in exc.value.get_error_message()
    finally:
        dom.destroy()
    deadline = time.monotonic() + 10
    while _tg.qemu_processes_under(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in _tg.qemu_processes_under(str(tmp_path)):
        os.kill(pid, signal.SIGKILL)
    vol.delete()
    assert os.listdir(tmp_path / "g") == []
    pool.destroy()
