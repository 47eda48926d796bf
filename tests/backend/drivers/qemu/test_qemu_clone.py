"""Clone on the QEMU driver: the tiny guest with a disk volume in the default pool is cloned and both boot side
by side; each guest sees its own MAC (sysfs) and UUID (SMBIOS), and QEMU got them on its command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from qemu_testlib import guest_xml, type_on_console, wait_console, wait_for

import guiapp.backend as libvirt
from guiapp.backend.clone import clone

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

MAC = "52:54:00:aa:00:01"




def link_path(dom: libvirt.virDomain) -> str:
    return re.search(r"<source file=.([^'\"]+)", dom.XMLDesc(0)).group(1)  # type: ignore[union-attr]


def test_clone_boots_beside_the_original(xdg: Path, tiny_guest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg / "data"))
    kernel, initrd = tiny_guest
    conn = libvirt.open("qemu:///session")
    try:
        pool = conn.storagePoolLookupByName("default")
        if not pool.isActive():
            pool.build(0)
        if not pool.isActive():
            pool.create()
        vol = pool.createXML("<volume><name>orig.qcow2</name><capacity unit='M'>16</capacity>"
                             "<target><format type='qcow2'/></target></volume>")
        disk = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{vol.path()}'/>"
                f"<target dev='vda' bus='virtio'/></disk>")
        nic = f"<interface type='user'><mac address='{MAC}'/><model type='virtio'/></interface>"
        orig = conn.defineXML(guest_xml("orig", kernel, initrd, nics=nic, extra=disk))
        twin = clone(conn, orig, "twin", "copy")
        twin_mac = re.search(r"<mac address='([0-9a-f:]+)'", twin.XMLDesc(0).replace('"', "'")).group(1)
        assert twin_mac != MAC and twin.UUIDString() != orig.UUIDString()
        assert "/twin.qcow2" in twin.XMLDesc(0)
        assert [v["op"] for v in twin.guiappConfigVersions()] == [f"clone of orig ({orig.UUIDString()})"]

        orig.create()
        twin.create()
        for dom, mac in ((orig, MAC), (twin, twin_mac)):
            wait_console(xdg, dom.name())
            argv = conn.domainXMLToNative("qemu-argv", dom.XMLDesc(0))
            assert mac in argv and dom.UUIDString() in argv
        for dom, mac in ((orig, MAC), (twin, twin_mac)):
            marker = f"ID-{dom.name()}"

            def seen(dom=dom, mac=mac, marker=marker) -> bool:
                type_on_console(dom, f"echo {marker} $(cat /sys/class/net/*/address) "
                                     f"$(cat /sys/class/dmi/id/product_uuid 2>/dev/null) END", hold=1.0)
                from qemu_testlib import console_text
                text = console_text(xdg, dom.name())
                line = [ln for ln in text.splitlines() if ln.startswith(marker) and ln.rstrip().endswith("END")]
                return bool(line) and mac in line[-1] and dom.UUIDString().lower() in line[-1].lower()
            wait_for(seen, 60, f"{dom.name()} to show its MAC {mac} and UUID on the console", interval=0.5)
        assert orig.isActive() and twin.isActive()

        # a linked clone: its qcow2 overlay reads the original's image, which must not run meanwhile
        with pytest.raises(libvirt.libvirtError) as e:
            clone(conn, orig, "link", "linked")  # a running source is refused, as by virt-clone
        assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
        orig.suspend()
        link = clone(conn, orig, "link", "linked")  # a paused one is consistent
        with pytest.raises(libvirt.libvirtError) as e:
            link.create()
        assert "lock" in e.value.get_error_message()  # QEMU protects the base the original writes
        orig.destroy()
        link.create()
        wait_console(xdg, "link")
        assert "backing" in conn.storageVolLookupByPath(link_path(link)).XMLDesc(0).lower()
    finally:
        for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()
