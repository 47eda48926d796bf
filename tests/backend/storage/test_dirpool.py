"""``dir`` pools of qemu:///session on real files, checked against ``qemu-img info --output=json``."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import guiapp.backend as libvirt
from guiapp.backend.hoststorage.dirpool import qemu_img_info

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None or shutil.which("qemu-system-x86_64") is None,
                                reason="needs qemu-img and qemu-system-x86_64")


def pool_xml(name: str, path: Path) -> str:
    return f"<pool type='dir'><name>{name}</name><target><path>{path}</path></target></pool>"


def vol_xml(name: str, size: str = "1048576", fmt: str = "raw", extra: str = "") -> str:
    return (f"<volume><name>{name}</name><capacity>{size}</capacity><target><format type='{fmt}'/></target>"
            f"{extra}</volume>")


@pytest.fixture
def pool(session: Any, tmp_path: Path) -> Any:
    p = session.storagePoolDefineXML(pool_xml("p", tmp_path / "pool"))
    p.create(libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    return p


def test_opening_and_listing_write_nothing(session: Any, tmp_path: Path) -> None:
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    pools = session.listAllStoragePools()
    assert [p.name() for p in pools] == ["default"]
    assert pools[0].isActive() == 0 and pools[0].info()[0] == libvirt.VIR_STORAGE_POOL_INACTIVE
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    pools[0].create()
    images = tmp_path / "data" / "guiapp" / "images"
    assert images.is_dir() and (tmp_path / "cfg" / "guiapp" / "qemu" / "storage" / "default.xml").exists()


def test_volumes_match_qemu_img_info(pool: Any, tmp_path: Path) -> None:
    base = pool.createXML(vol_xml("base.qcow2", "67108864", "qcow2"))
    top = pool.createXML(vol_xml("top.qcow2", "134217728", "qcow2",
                                 f"<backingStore><path>{base.path()}</path><format type='qcow2'/></backingStore>"))
    raw = pool.createXML(vol_xml("r.img", "8388608"))
    for vol in (base, top, raw):
        info = qemu_img_info(vol.path())
        assert vol.info()[1] == info["virtual-size"]
        assert vol.info()[2] == info["actual-size"]
        assert f"<format type='{info['format']}'/>" in vol.XMLDesc()
        assert stat.S_IMODE(os.stat(vol.path()).st_mode) == 0o600
    assert f"<path>{base.path()}</path>" in top.XMLDesc()
    assert qemu_img_info(top.path())["backing-filename"] == base.path()
    pool.refresh()
    assert [v.name() for v in pool.listAllVolumes()] == ["base.qcow2", "r.img", "top.qcow2"]


def test_clone_resize_wipe_delete(pool: Any, session: Any) -> None:
    src = pool.createXML(vol_xml("src.qcow2", "16777216", "qcow2"))
    clone = pool.createXMLFrom("<volume><name>c.img</name><target><format type='raw'/></target></volume>", src)
    assert qemu_img_info(clone.path())["format"] == "raw" and clone.info()[1] == 16777216
    clone.resize(32 * 2 ** 20)
    assert qemu_img_info(clone.path())["virtual-size"] == 32 * 2 ** 20 == clone.info()[1]
    with pytest.raises(libvirt.libvirtError) as exc:
        clone.resize(2 ** 20)
    assert exc.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG and "shrink" in exc.value.get_error_message()
    clone.resize(2 ** 20, libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK)
    assert clone.info()[1] == 2 ** 20
    with open(clone.path(), "r+b") as f:
        f.write(b"secret")
    clone.wipe()
    assert open(clone.path(), "rb").read(6) == bytes(6)
    path = clone.path()
    clone.delete()
    assert not os.path.exists(path)
    with pytest.raises(libvirt.libvirtError) as exc:
        session.storageVolLookupByPath(path)
    assert exc.value.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL


def test_bad_input_gets_coded_errors_and_leaves_nothing(pool: Any, session: Any, tmp_path: Path) -> None:
    target = tmp_path / "pool"
    cases = [(vol_xml("a/b"), libvirt.VIR_ERR_XML_ERROR), (vol_xml(".."), libvirt.VIR_ERR_XML_ERROR),
             (vol_xml("zero", "0"), libvirt.VIR_ERR_INVALID_ARG),
             (vol_xml("huge", str(2 ** 62)), libvirt.VIR_ERR_OPERATION_FAILED),
             (vol_xml("weird", fmt="vmdk"), libvirt.VIR_ERR_CONFIG_UNSUPPORTED),
             (vol_xml("nob", fmt="qcow2", extra="<backingStore><path>/nonexistent/x</path></backingStore>"),
              libvirt.VIR_ERR_OPERATION_FAILED)]
    for xml, code in cases:
        with pytest.raises(libvirt.libvirtError) as exc:
            pool.createXML(xml)
        assert exc.value.get_error_code() == code, xml
    assert os.listdir(target) == []
    pool.createXML(vol_xml("dup"))
    with pytest.raises(libvirt.libvirtError) as exc:
        pool.createXML(vol_xml("dup"))
    assert exc.value.get_error_code() == libvirt.VIR_ERR_STORAGE_VOL_EXIST


@pytest.mark.parametrize("name", ["-f", "nbd:localhost:10809", "json:{\"driver\":\"nbd\"}", "a,b=c", "$(touch x)",
                                  "--help", "x\\y", "in side"])
def test_hostile_names_reach_qemu_img_as_plain_files(pool: Any, tmp_path: Path, name: str) -> None:
    vol = pool.createXML(vol_xml(name.replace("&", "&amp;").replace("<", "&lt;"), fmt="qcow2"))
    assert vol.path() == str(tmp_path / "pool" / name)
    assert os.path.isfile(vol.path()) and qemu_img_info(vol.path())["format"] == "qcow2"
    assert sorted(os.listdir(tmp_path / "pool")) == [name]
    vol.delete()


def test_hostile_backing_path_with_commas(pool: Any, tmp_path: Path) -> None:
    odd = pool.createXML(vol_xml("b,fmt=raw,x", fmt="qcow2"))
    top = pool.createXML(vol_xml("t", fmt="qcow2",
                                 extra=f"<backingStore><path>{odd.path()}</path><format type='qcow2'/>"
                                       f"</backingStore>"))
    assert qemu_img_info(top.path())["backing-filename"] == odd.path()


def test_pool_target_that_is_a_file(session: Any, tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    p = session.storagePoolDefineXML(pool_xml("f", f))
    for call in (p.create, p.build):
        with pytest.raises(libvirt.libvirtError) as exc:
            call()
        assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
        assert "not a directory" in exc.value.get_error_message()
    assert f.read_text() == "x"


def test_killed_qemu_img_leaves_no_file(pool: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "qemu-img"
    fake.write_text("#!/bin/sh\nfor a; do last=$a; done\n"
                    "for a; do case $a in /*) printf 'partial' > \"$a\";; esac; done\nkill -KILL $$\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GUIAPP_QEMU_IMG", str(fake))
    with pytest.raises(libvirt.libvirtError) as exc:
        pool.createXML(vol_xml("k.qcow2", fmt="qcow2"))
    assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
    assert "killed by SIGKILL" in exc.value.get_error_message()
    assert os.listdir(tmp_path / "pool") == []
    assert pool.listAllVolumes() == []


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only), unmounted afterwards."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_disk_full_during_upload_keeps_the_old_volume(session: Any, small_fs: Path, tmp_path: Path) -> None:
    p = session.storagePoolCreateXML(pool_xml("small", small_fs / "pool"), libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    vol = p.createXML(vol_xml("v.img", "524288"))
    with open(vol.path(), "r+b") as f:
        f.write(b"original")
    big = tmp_path / "big"
    big.write_bytes(os.urandom(3 * 2 ** 20))
    with pytest.raises(libvirt.libvirtError) as exc:
        libvirt.storage.upload_file(vol, str(big))
    assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
    assert "no space left" in exc.value.get_error_message()
    assert os.listdir(small_fs / "pool") == ["v.img"]
    assert open(vol.path(), "rb").read(8) == b"original"
    p.destroy()


def test_upload_download_with_progress_and_cancel(pool: Any, tmp_path: Path) -> None:
    vol = pool.createXML(vol_xml("u.img", str(2 ** 20)))
    src = tmp_path / "src"
    src.write_bytes(os.urandom(2 ** 20))
    seen: list[int] = []
    assert libvirt.storage.upload_file(vol, str(src), lambda done, total: seen.append(done))
    assert seen[-1] == 2 ** 20 and open(vol.path(), "rb").read() == src.read_bytes()
    out = tmp_path / "out"
    assert libvirt.storage.download_file(vol, str(out))
    assert out.read_bytes() == src.read_bytes()
    calls = iter(range(100))
    cancelled = tmp_path / "cancelled"
    assert not libvirt.storage.download_file(vol, str(cancelled), cancelled=lambda: next(calls) > 1)
    assert not cancelled.exists()
    src.write_bytes(b"other" * 1000)
    assert not libvirt.storage.upload_file(vol, str(src), cancelled=lambda: True)
    assert sorted(os.listdir(tmp_path / "pool")) == ["u.img"]
    assert open(vol.path(), "rb").read(2 ** 20) == out.read_bytes()


def test_read_only_connection_sees_but_cannot_read_or_change(session: Any, pool: Any) -> None:
    vol = pool.createXML(vol_xml("secret.img"))
    ro = libvirt.openReadOnly("qemu:///session")
    v = ro.storageVolLookupByPath(vol.path())
    assert v.info() == vol.info() and "<name>secret.img</name>" in v.XMLDesc()
    for call in (lambda: v.download(ro.newStream(), 0, 0), v.delete, v.wipe, lambda: v.resize(2 ** 21),
                 lambda: ro.storagePoolLookupByName("p").refresh()):
        with pytest.raises(libvirt.libvirtError) as exc:
            call()
        assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
    ro.close()


def test_definitions_are_shared_between_connections(session: Any, pool: Any) -> None:
    pool.setAutostart(1)
    pool.createXML(vol_xml("shared.img"))
    other = libvirt.open("qemu:///session")
    p2 = other.storagePoolLookupByName("p")
    assert p2.isActive() == 1 and p2.autostart() == 1 and p2.UUID() == pool.UUID()
    assert [v.name() for v in p2.listAllVolumes()] == ["shared.img"]
    pool.destroy()
    assert p2.isActive() == 0
    pool.undefine()
    with pytest.raises(libvirt.libvirtError) as exc:
        other.storagePoolLookupByName("p")
    assert exc.value.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL
    other.close()


def test_volumes_made_by_another_process_are_seen_without_refresh(session: Any, pool: Any, tmp_path: Path) -> None:
    assert pool.listAllVolumes() == []
    other = libvirt.open("qemu:///session")
    made = other.storagePoolLookupByName("p").createXML(vol_xml("from-other.img"))
    assert [v.name() for v in pool.listAllVolumes()] == ["from-other.img"]
    assert session.storageVolLookupByPath(made.path()).name() == "from-other.img"
    made.delete()
    assert pool.listAllVolumes() == []
    other.close()


def test_default_pool_stop_sticks_once_started(session: Any, tmp_path: Path) -> None:
    images = tmp_path / "data" / "guiapp" / "images"
    images.mkdir(parents=True)
    p = session.storagePoolLookupByName("default")
    assert p.isActive() == 1  # its directory exists: listed as active, nothing written
    assert not (tmp_path / "cfg" / "guiapp" / "qemu" / "storage").exists()
    p.destroy()
    assert p.isActive() == 0
    assert libvirt.open("qemu:///session").storagePoolLookupByName("default").isActive() == 0
    p.create()
    assert p.isActive() == 1 and images.is_dir()
