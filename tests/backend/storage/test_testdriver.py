"""The test driver's default-pool and the storage CLI, side by side with Debian's libvirt 9.0 (python3-libvirt)."""

from __future__ import annotations

import io
from typing import Any

import pytest

import guiapp.backend as libvirt
from guiapp.backend import cli_storage

VOL = ("<volume><name>disk1.img</name><capacity unit='M'>10</capacity><allocation>0</allocation>"
       "<target><format type='qcow2'/></target></volume>")


def _run(lib: Any) -> list[Any]:
    c = lib.open("test:///default")
    out: list[Any] = []
    p = c.storagePoolLookupByName("default-pool")
    out += [[x.name() for x in c.listAllStoragePools()], p.info(), p.XMLDesc(), p.autostart(), p.isPersistent()]
    v = p.createXML(VOL)
    out += [v.name(), v.info(), v.path(), v.key(), v.XMLDesc(), p.info()]
    v2 = p.createXMLFrom("<volume><name>clone</name><capacity>1</capacity></volume>", v)
    out += [v2.info(), v2.XMLDesc(), c.storageVolLookupByPath("/default-pool/disk1.img").name()]
    out += [sorted(x.name() for x in p.listAllVolumes())]
    for call in (lambda: p.createXML(VOL), lambda: c.storagePoolLookupByName("nope"),
                 lambda: p.storageVolLookupByName("nope"), lambda: c.storageVolLookupByPath("/nope"),
                 lambda: p.undefine(), lambda: p.createXML("<volume><capacity>1</capacity></volume>")):
        try:
            call()
            out.append(None)
        except lib.libvirtError as exc:
            out.append(exc.get_error_code())
    p.destroy()
    out += [p.isActive(), p.info()[0]]
    p.create()
    out += [sorted(x.name() for x in p.listAllVolumes()), p.info()]
    c.close()
    return out


def test_default_pool_behaves_like_libvirts_test_driver(real: Any) -> None:
    assert _run(libvirt) == _run(real)


def test_volume_names_libvirts_test_driver_accepts_are_refused_here(real: Any) -> None:
    """libvirt's test driver takes 'a/b' and '..'; guiapp refuses them as XML errors (names become paths)."""
    c = libvirt.open("test:///default")
    p = c.storagePoolLookupByName("default-pool")
    for bad in ("a/b", "..", "../etc"):
        with pytest.raises(libvirt.libvirtError) as exc:
            p.createXML(f"<volume><name>{bad}</name><capacity>1</capacity></volume>")
        assert exc.value.get_error_code() == libvirt.VIR_ERR_XML_ERROR
        assert "file name" in exc.value.get_error_message()
    assert p.listAllVolumes() == []


def test_deleting_a_volume_a_running_domain_uses_is_refused_naming_it() -> None:
    c = libvirt.open("test:///default")
    p = c.storagePoolLookupByName("default-pool")
    v = p.createXML("<volume><name>d.img</name><capacity>1048576</capacity></volume>")
    c.createXML("<domain type='test'><name>busy</name><memory>1024</memory><os><type>hvm</type></os>"
                "<devices><disk type='file' device='disk'><source file='/default-pool/d.img'/>"
                "<target dev='vda'/></disk></devices></domain>")
    with pytest.raises(libvirt.libvirtError) as exc:
        v.delete()
    assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    assert "'busy'" in exc.value.get_error_message()
    c.lookupByName("busy").destroy()
    v.delete()
    assert p.listAllVolumes() == []


def test_stream_upload_download_round_trip() -> None:
    c = libvirt.open("test:///default")
    v = c.storagePoolLookupByName("default-pool").createXML(
        "<volume><name>s</name><capacity>64</capacity></volume>")
    st = c.newStream()
    v.upload(st, 0, 0)
    st.sendAll(lambda s, n, f: f.read(n), io.BytesIO(b"hello world"))
    st.finish()
    got = bytearray()
    st = c.newStream()
    v.download(st, 6, 5)
    st.recvAll(lambda s, d, buf: buf.extend(d), got)
    st.finish()
    assert bytes(got) == b"world"
    with pytest.raises(libvirt.libvirtError) as exc:
        st.recv(10)
    assert exc.value.get_error_code() == libvirt.VIR_ERR_INVALID_STREAM


@pytest.mark.parametrize("which", ["guiapp", "libvirt"])
def test_read_only_connections_cannot_change_storage(which: str, real: Any) -> None:
    lib = libvirt if which == "guiapp" else real
    c = lib.openReadOnly("test:///default")
    p = c.storagePoolLookupByName("default-pool")
    for call in (lambda: p.createXML(VOL), p.destroy, lambda: p.setAutostart(1), p.refresh,
                 lambda: c.findStoragePoolSources("logical", None),
                 lambda: c.storagePoolDefineXML("<pool type='dir'><name>x</name><target><path>/x</path></target>"
                                                "</pool>")):
        with pytest.raises(lib.libvirtError) as exc:
            call()
        assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
    c.close()  # libvirt shares test:///default between open connections: leave none open


CLI = [("pool-list", {"all": True}), ("pool-list", {"all": True, "details": True}),
       ("pool-info", {"pool": "default-pool"}), ("pool-info", {"pool": "default-pool", "bytes": True}),
       ("vol-create-as", {"pool": "default-pool", "name": "a.img", "capacity": "10M", "format": "qcow2"}),
       ("vol-create-as", {"pool": "default-pool", "name": "b.img", "capacity": "1G", "allocation": "5M"}),
       ("vol-list", {"pool": "default-pool"}), ("vol-list", {"pool": "default-pool", "details": True}),
       ("vol-info", {"vol": "a.img", "pool": "default-pool"}),
       ("vol-info", {"vol": "b.img", "pool": "default-pool", "bytes": True}),
       ("vol-path", {"vol": "a.img", "pool": "default-pool"}), ("vol-dumpxml", {"vol": "/default-pool/a.img"}),
       ("vol-clone", {"vol": "a.img", "newname": "c.img", "pool": "default-pool"}),
       ("vol-delete", {"vol": "c.img", "pool": "default-pool"}), ("pool-refresh", {"pool": "default-pool"}),
       ("pool-autostart", {"pool": "default-pool"}), ("pool-autostart", {"pool": "default-pool", "disable": True}),
       ("pool-destroy", {"pool": "default-pool"}), ("pool-list", {"all": True, "details": True}),
       ("pool-start", {"pool": "default-pool"}), ("pool-dumpxml", {"pool": "default-pool"}),
       ("vol-info", {"vol": "nope", "pool": "default-pool"}), ("pool-info", {"pool": "nope"}),
       ("pool-undefine", {"pool": "default-pool"})]


def _cli(lib: Any) -> list[tuple[int, str, str]]:
    conn = lib.open("test:///default")
    out = []
    for name, args in CLI:
        o, e = io.StringIO(), io.StringIO()
        rc = cli_storage.HANDLERS[name](conn, args, out=o, err=e)
        out.append((rc, o.getvalue(), e.getvalue()))
    conn.close()
    return out


def test_cli_output_matches_virsh_over_libvirts_test_driver(real: Any) -> None:
    ours, theirs = _cli(libvirt), _cli(real)
    for (name, _), a, b in zip(CLI, ours, theirs, strict=True):
        assert a == b, name
