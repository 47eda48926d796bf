"""Storage pools and volumes through guiapp's remote driver and through Debian's python3-libvirt,
both talking to the same private libvirtd (its test driver): results, XML and error codes must agree."""

from __future__ import annotations

import sys
from typing import Any

import pytest

import guiapp.backend as guiapp_lib

sys.path.append("/usr/lib/python3/dist-packages")
libvirt = pytest.importorskip("libvirt")

NEW_POOL = """<pool type='dir'><name>remote-pool</name><uuid>31111111-2222-3333-4444-555555555555</uuid>
<target><path>/guiapp-remote-pool-nowhere</path></target></pool>"""
NEW_VOL = """<volume><name>disk1.img</name><capacity unit='M'>64</capacity><allocation>0</allocation>
<target><format type='raw'/></target></volume>"""
CLONE_VOL = """<volume><name>copy.img</name><capacity unit='M'>64</capacity>
<target><format type='raw'/></target></volume>"""


def _err(lib: Any, fn) -> tuple[int, int, str]:
    try:
        fn()
    except lib.libvirtError as e:
        return (e.get_error_code(), e.get_error_domain(), e.get_error_message())
    return (0, 0, "no error")


def _vols(pool: Any) -> list[Any]:
    return [(v.name(), v.key(), v.path(), v.info(), v.XMLDesc(0))
            for v in sorted(pool.listAllVolumes(), key=lambda v: v.name())]


def scenario(lib: Any, uri: str) -> list[Any]:
    out: list[Any] = []
    c = lib.open(uri)
    try:
        pools = sorted(c.listAllStoragePools(), key=lambda p: p.name())
        out.append(("pools", [(p.name(), p.UUIDString(), p.info(), p.XMLDesc(0), p.isActive(), p.isPersistent(),
                               p.autostart()) for p in pools]))
        out.append(("flags", [p.name() for p in c.listAllStoragePools(lib.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)],
                    [p.name() for p in c.listAllStoragePools(lib.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE)]))
        p = c.storagePoolLookupByName("default-pool")
        out.append(("lookup", c.storagePoolLookupByUUID(p.UUID()).name(), _vols(p)))
        v = p.createXML(NEW_VOL, 0)
        out.append(("created", v.name(), v.key(), v.path(), v.info(), v.XMLDesc(0), _vols(p)))
        out.append(("by", c.storageVolLookupByPath(v.path()).name(), c.storageVolLookupByKey(v.key()).name(),
                    p.storageVolLookupByName("disk1.img").key(), v.storagePoolLookupByVolume().name()))
        copy = p.createXMLFrom(CLONE_VOL, v, 0)
        out.append(("cloned", copy.name(), copy.info()))
        # libvirt's test driver supports neither: its error must come through unchanged
        out.append(("resize", _err(lib, lambda: v.resize(128 * 1024 * 1024)), _err(lib, lambda: v.wipe(0)),
                    v.info()))
        for x in (copy, v):
            x.delete(0)
        p.refresh(0)
        out.append(("deleted", _vols(p), _err(lib, lambda: p.storageVolLookupByName("disk1.img"))))
        n = c.storagePoolDefineXML(NEW_POOL, 0)
        out.append(("defined", n.name(), n.isActive(), n.isPersistent(), n.info(), n.XMLDesc(0)))
        n.create(0)
        n.setAutostart(1)
        out.append(("started", n.isActive(), n.autostart(), n.info()[0]))
        n.destroy()
        n.undefine()
        out.append(("gone", _err(lib, lambda: c.storagePoolLookupByName("remote-pool"))))
        out.append(("errors",
                    _err(lib, lambda: c.storagePoolLookupByName("nope")),
                    _err(lib, lambda: c.storageVolLookupByPath("/nope/nothing")),
                    _err(lib, lambda: c.storageVolLookupByKey("no-such-key")),
                    _err(lib, lambda: c.storagePoolDefineXML("<pool", 0)),
                    _err(lib, lambda: p.createXML("<volume><name>a</name></volume>", 0)),
                    _err(lib, lambda: p.create(0))))  # already active
    finally:
        c.close()
    return out


def test_storage_same_results_as_libvirt_python(libvirtd) -> None:
    uri = libvirtd.uri("test:///default")
    mine, theirs = scenario(guiapp_lib, uri), scenario(libvirt, uri)
    for a, b in zip(mine, theirs, strict=True):
        assert a == b, a[0]


def test_read_only_connection_refuses_changes_like_libvirt(libvirtd) -> None:
    uri = libvirtd.uri("test:///default")
    results = []
    for lib in (guiapp_lib, libvirt):
        c = lib.openReadOnly(uri)
        try:
            p = c.storagePoolLookupByName("default-pool")
            results.append(([x.name() for x in p.listAllVolumes()],
                            _err(lib, lambda p=p: p.createXML(NEW_VOL, 0))[0], _err(lib, lambda p=p: p.destroy())[0]))
        finally:
            c.close()
    assert results[0] == results[1]
    assert results[0][1] == guiapp_lib.VIR_ERR_OPERATION_DENIED


def test_upload_refused_by_the_test_driver_is_the_daemons_error(libvirtd) -> None:
    """libvirt's test driver has no upload: the daemon's own error comes through, as in python3-libvirt."""
    uri = libvirtd.uri("test:///default")
    got = []
    for lib in (guiapp_lib, libvirt):
        c = lib.open(uri)
        try:
            v = c.storagePoolLookupByName("default-pool").createXML(NEW_VOL, 0)
            got.append(_err(lib, lambda c=c, v=v: v.upload(c.newStream(0), 0, 0, 0)))
            got.append(_err(lib, lambda c=c, v=v: v.download(c.newStream(0), 0, 0, 0)))
            v.delete(0)
        finally:
            c.close()
    assert got[:2] == got[2:] and got[0][0] == guiapp_lib.VIR_ERR_NO_SUPPORT


def test_upload_and_download_stream_over_the_wire_like_libvirt(libvirtd, tmp_path) -> None:
    """A real dir pool of the private libvirtd (its storage driver): bytes uploaded by guiapp come back the
    same through guiapp's download and through python3-libvirt's."""
    import os

    target = tmp_path / "pool"
    uri = libvirtd.uri("qemu:///system")
    theirs = libvirt.open(uri)
    mine = guiapp_lib.open(uri)
    pool = None
    try:
        pool = theirs.storagePoolCreateXML(f"<pool type='dir'><name>streams</name><target><path>{target}</path>"
                                           f"</target></pool>", libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
        pool.createXML(NEW_VOL.replace("<capacity unit='M'>64</capacity>", "<capacity unit='M'>2</capacity>"), 0)
        data = os.urandom(1_500_000)  # several stream packets
        vol = mine.storagePoolLookupByName("streams").storageVolLookupByName("disk1.img")
        up = mine.newStream(0)
        vol.upload(up, 0, len(data), 0)
        for i in range(0, len(data), 100_000):
            up.send(data[i:i + 100_000])
        up.finish()

        def read_all(lib, conn) -> bytes:
            st = conn.newStream(0)
            conn.storagePoolLookupByName("streams").storageVolLookupByName("disk1.img").download(st, 0, len(data),
                                                                                                  0)
            chunks = []
            while True:
                got = st.recv(65536)
                if not got:
                    break
                chunks.append(got)
            st.finish()
            return b"".join(chunks)

        assert read_all(guiapp_lib, mine) == data
        assert read_all(libvirt, theirs) == data
        assert (target / "disk1.img").read_bytes()[:len(data)] == data
        # an upload into a volume deleted meanwhile is the daemon's error, with its code; the connection lives on
        pool.createXML(NEW_VOL.replace("disk1.img", "gone.img").replace("64", "1"), 0)
        my_gone = mine.storagePoolLookupByName("streams").storageVolLookupByName("gone.img")
        their_gone = pool.storageVolLookupByName("gone.img")
        their_gone.delete(0)
        mine_err = _err(guiapp_lib, lambda: my_gone.upload(mine.newStream(0), 0, 0, 0))
        their_err = _err(libvirt, lambda: their_gone.upload(theirs.newStream(0), 0, 0, 0))
        assert mine_err == their_err and mine_err[0] == guiapp_lib.VIR_ERR_NO_STORAGE_VOL
        # a cancelled upload (abort) leaves the connection usable, as libvirt's client
        st = mine.newStream(0)
        vol.upload(st, 0, 0, 0)
        st.send(b"x" * 1000)
        st.abort()
        assert mine.storagePoolLookupByName("streams").isActive() == 1
        assert sorted(v.name() for v in mine.storagePoolLookupByName("streams").listAllVolumes()) == ["disk1.img"]
    finally:
        if pool is not None:
            for v in pool.listAllVolumes():
                v.delete(0)
            pool.destroy()
        mine.close()
        theirs.close()
