"""The same scenarios through guiapp's remote driver and through Debian's python3-libvirt (C client),
both talking to the same private libvirtd: results, XML and error codes must agree."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import guiapp.backend as guiapp_lib
from guiapp.models.demo import write_node

sys.path.append("/usr/lib/python3/dist-packages")
libvirt = pytest.importorskip("libvirt")

NEW_DOMAIN = """<domain type='test'><name>fresh</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"""


def _err(lib: Any, fn) -> tuple[int, int, str]:
    try:
        fn()
    except lib.libvirtError as e:
        return (e.get_error_code(), e.get_error_domain(), e.get_error_message())
    return (0, 0, "no error")


NEW_NETWORK = """<network><name>remote-net</name><uuid>21111111-2222-3333-4444-555555555555</uuid>
<bridge name='virbr9'/><ip address='192.168.219.1' netmask='255.255.255.0'/></network>"""


def scenario(lib: Any, uri: str, save_dir: str) -> list[Any]:
    """Read and change things on a node; return what was seen."""
    out: list[Any] = []
    c = lib.open(uri)
    try:
        out.append(("type", c.getType(), c.getURI(), c.getHostname(), c.getInfo(), c.getVersion()))
        out.append(("caps", c.getCapabilities()))
        out.append(("maxvcpus", c.getMaxVcpus(None)))
        doms = sorted(c.listAllDomains(), key=lambda d: d.name())
        out.append(("list", [(d.name(), d.ID(), d.UUIDString(), d.isActive(), d.isPersistent()) for d in doms]))
        out.append(("ids", sorted(c.listDomainsID()), sorted(c.listDefinedDomains()), c.numOfDomains(),
                    c.numOfDefinedDomains()))
        out.append(("info", [(d.name(), d.info()[:4], d.state(), d.OSType(), d.maxMemory(), d.autostart())
                             for d in doms]))
        out.append(("xml", [d.XMLDesc(0) for d in doms]))
        out.append(("security", c.getSecurityModel(), [(d.hasManagedSaveImage(), d.isActive() and d.securityLabel())
                                                         for d in doms]))
        stats = sorted((d.name(), sorted(s.items())) for d, s in c.getAllDomainStats())
        out.append(("stats", [(n, [(k, v) for k, v in s if not k.startswith("cpu.")]) for n, s in stats]))
        active = [d for d in doms if d.isActive()]
        inactive = [d for d in doms if not d.isActive()]
        d = c.lookupByName(active[0].name())
        d.suspend()
        out.append(("suspended", d.state()))
        d.resume()
        d.destroy()
        out.append(("destroyed", d.state(), d.ID()))
        d.create()
        out.append(("created", d.state(), d.ID() > 0))
        d.setMemory(d.maxMemory() // 2)
        out.append(("mem", d.info()[2]))
        d.setAutostart(1)
        out.append(("autostart", d.autostart()))
        out.append(("vcpus", _err(lib, lambda: d.setVcpusFlags(1, lib.VIR_DOMAIN_AFFECT_LIVE)), d.info()[3],
                    d.maxVcpus(), _err(lib, lambda: d.setMaxMemory(d.maxMemory() * 2))))
        image = f"{save_dir}/{d.name()}.save"
        d.save(image)
        out.append(("saved", d.state(), d.isActive()))
        c.restore(image)
        out.append(("restored", c.lookupByName(d.name()).state(), _err(lib, lambda: c.restore(image + ".nope"))))
        n = c.defineXML(NEW_DOMAIN)
        out.append(("defined", n.name(), n.UUIDString(), n.isActive(), c.lookupByUUIDString(n.UUIDString()).name()))
        for i in inactive[:1] + [n]:
            i.undefine()
            out.append(("undefined", _err(lib, lambda i=i: c.lookupByName(i.name()))))
        out.append(("errors",
                    _err(lib, lambda: c.lookupByName("nope")),
                    _err(lib, lambda: c.lookupByID(9999)),
                    _err(lib, lambda: d.create()),  # already running
                    _err(lib, lambda: c.defineXML("<domain")),  # not well-formed
                    _err(lib, lambda: c.defineXML("<domain type='test'><memory>1</memory></domain>")),  # no name
                    _err(lib, lambda: c.networkLookupByName("nope"))))
        nets = c.listAllNetworks()
        out.append(("nets", [(x.name(), x.isActive(), x.bridgeName(), x.XMLDesc(0), x.autostart(), x.isPersistent())
                             for x in nets], c.listNetworks(), c.listDefinedNetworks()))
        net = c.networkDefineXML(NEW_NETWORK)
        out.append(("net-defined", net.name(), net.isActive(), c.numOfDefinedNetworks()))
        net.create()
        out.append(("net-started", net.isActive(), c.networkLookupByUUID(net.UUID()).name(), net.XMLDesc(0)))
        net.setAutostart(1)
        out.append(("net-autostart", net.autostart(), _err(lib, lambda: c.networkDefineXML("<network"))))
        net.destroy()
        net.undefine()
        out.append(("net-gone", _err(lib, lambda: c.networkLookupByName("remote-net"))))
    finally:
        c.close()
    return out


@pytest.mark.parametrize("count", [0, 40])
def test_same_results_as_libvirt_python(libvirtd, tmp_path: Path, count: int) -> None:
    results = {}
    for name, lib in (("guiapp", guiapp_lib), ("libvirt", libvirt)):
        node = write_node(tmp_path / f"{name}.xml", count) if count else None
        uri = libvirtd.uri(f"test://{tmp_path / f'{name}.xml'}" if node else "test:///default")
        save_dir = tmp_path / name
        save_dir.mkdir()
        results[name] = scenario(lib, uri, str(save_dir))
        if count:  # the node files' paths differ; everything else must not
            results[name] = [r if r[0] != "type" else r[:2] + r[3:] for r in results[name]]
    for mine, theirs in zip(results["guiapp"], results["libvirt"], strict=True):
        if mine[0] == "restored":  # the image path names the library's folder
            mine = tuple(str(x).replace("/guiapp/", "/libvirt/") for x in mine)
            theirs = tuple(str(x) for x in theirs)
        assert mine == theirs, mine[0]


def test_read_only_connection(libvirtd) -> None:
    uri = libvirtd.uri("test:///default")
    mine, theirs = guiapp_lib.openReadOnly(uri), libvirt.openReadOnly(uri)
    try:
        assert mine.isReadOnly() == 1
        assert [d.name() for d in mine.listAllDomains()] == [d.name() for d in theirs.listAllDomains()]
        with pytest.raises(guiapp_lib.libvirtError) as e:
            mine.lookupByName("test").destroy()
        assert e.value.get_error_code() == guiapp_lib.VIR_ERR_OPERATION_DENIED
    finally:
        mine.close()
        theirs.close()


def test_lifecycle_events_arrive_without_polling(libvirtd, tmp_path: Path) -> None:
    uri = libvirtd.uri(write_node(tmp_path / "n.xml", 3, running=1.0))
    c = guiapp_lib.open(uri)
    got: list[tuple[str, int, int]] = []
    done = threading.Event()

    def cb(conn, dom, event, detail, opaque) -> None:
        got.append((dom.name(), event, detail))
        if len(got) >= 2:
            done.set()

    cid = c.domainEventRegisterAny(None, guiapp_lib.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
    d = c.listAllDomains(guiapp_lib.VIR_CONNECT_LIST_DOMAINS_ACTIVE)[0]
    d.suspend()
    d.resume()
    assert done.wait(10)
    c.domainEventDeregisterAny(cid)
    c.close()
    assert got[:2] == [(d.name(), guiapp_lib.VIR_DOMAIN_EVENT_SUSPENDED, 0),
                       (d.name(), guiapp_lib.VIR_DOMAIN_EVENT_RESUMED, 0)]


def test_domain_xml_to_native_error_is_the_daemons(libvirtd) -> None:
    uri = libvirtd.uri("test:///default")
    xml = libvirt.open(uri).lookupByName("test").XMLDesc(0)
    mine = _err(guiapp_lib, lambda: guiapp_lib.open(uri).domainXMLToNative("qemu-argv", xml, 0))
    theirs = _err(libvirt, lambda: libvirt.open(uri).domainXMLToNative("qemu-argv", xml, 0))
    assert mine == theirs and mine[0] == guiapp_lib.VIR_ERR_NO_SUPPORT
