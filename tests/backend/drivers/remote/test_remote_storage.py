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


def test_upload_without_stream_support_is_a_clear_error(libvirtd) -> None:
    c = guiapp_lib.open(libvirtd.uri("test:///default"))
    try:
        v = c.storagePoolLookupByName("default-pool").createXML(NEW_VOL, 0)
        st = c.newStream(0)
        with pytest.raises(guiapp_lib.libvirtError) as e:
            v.upload(st, 0, 0, 0)
        assert e.value.get_error_code() == guiapp_lib.VIR_ERR_NO_SUPPORT
        assert "stream" in e.value.get_error_message()
        v.delete(0)
    finally:
        c.close()
