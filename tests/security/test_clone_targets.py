"""Clone targets are values that reach file names, volume names and qemu-img: hostile ones are refused before
anything is made, and hostile source paths reach qemu-img only as plain file names (after ``--``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import guiapp.backend as libvirt
from guiapp.backend.clone import clone

HOSTILE_NAMES = ["../escape", "a/b", "/abs", ".hidden", "-o", "--help", "a\nb", "tab\there", "nul\x00", "del\x7f",
                 " lead", "trail ", "", "   ", "x" * 201, "é" * 101]


def _vols(conn) -> list[str]:
    return sorted(v.name() for v in conn.storagePoolLookupByName("default-pool").listAllVolumes())


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_clone_names_are_refused_before_anything_is_made(name: str) -> None:
    conn = libvirt.open("test:///default")
    try:
        pool = conn.storagePoolLookupByName("default-pool")
        vol = pool.createXML("<volume><name>b.img</name><capacity>4096</capacity></volume>")
        xml = conn.lookupByName("test").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        xml = re.sub(r"<uuid>.*</uuid>", "", xml.replace("/guest/diskimage1", vol.path())
                     .replace("<name>test</name>", "<name>src</name>"))
        src = conn.defineXML(xml)
        before = sorted(conn.listDefinedDomains())
        with pytest.raises(libvirt.libvirtError) as e:
            clone(conn, src, name)
        assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
        assert "clone" in e.value.get_error_message()
        assert _vols(conn) == ["b.img"] and sorted(conn.listDefinedDomains()) == before
    finally:
        conn.close()


def test_non_string_names_are_refused() -> None:
    conn = libvirt.open("test:///default")
    for bad in (None, 5, b"bytes"):
        with pytest.raises(libvirt.libvirtError) as e:
            clone(conn, conn.lookupByName("test"), bad, "share")  # type: ignore[arg-type]
        assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None or shutil.which("qemu-img") is None,
                    reason="needs qemu-system-x86 and qemu-utils")
@pytest.mark.parametrize("mode", ["copy", "linked"])
def test_hostile_source_file_names_stay_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   mode: str) -> None:
    (tmp_path / "run").mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    disks = tmp_path / "disks"
    disks.mkdir()
    # a file name that qemu-img would read as options or a protocol if it were not a plain path
    src_file = disks / "-o backing_file=evil,json:{}nbd:x.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", "--", str(src_file), "1M"], check=True)
    with open(src_file, "r+b") as f:
        f.write(b"GUIAPP-CLONE-DATA")
    conn = libvirt.open("qemu:///session")
    try:
        src = conn.defineXML(f"""<domain type='qemu'><name>hostile-src</name><memory>65536</memory>
          <os><type arch='x86_64'>hvm</type></os><devices>
          <disk type='file' device='disk'><driver name='qemu' type='raw'/>
            <source file='{src_file.as_posix().replace("&", "&amp;")}'/><target dev='vda' bus='virtio'/></disk>
          </devices></domain>""")
        new = clone(conn, src, "safe clone", mode)
        made = disks / ("safe clone.qcow2" if mode == "linked" else "safe clone.img")
        assert sorted(os.listdir(disks)) == sorted([src_file.name, made.name])  # nothing else appeared
        assert str(made) in new.XMLDesc(0)
        info = subprocess.run(["qemu-img", "info", "--output=json", "--", str(made)], capture_output=True,
                              text=True, check=True).stdout
        if mode == "linked":
            assert '"format": "qcow2"' in info and f'"backing-filename": "{src_file}"' in info
        else:
            assert made.read_bytes()[:17] == b"GUIAPP-CLONE-DATA"
        assert oct(made.stat().st_mode & 0o777) == "0o600"
    finally:
        conn.close()
