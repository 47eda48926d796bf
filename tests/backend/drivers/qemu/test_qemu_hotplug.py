"""QEMU device changes (issue 17): hotplug into the running tiny guest (TCG), seen from inside the guest over its
serial console; CD-ROM media through QEMU's own view; offline config edits and what is refused live."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lxml import etree
from qemu_testlib import console_text, guest_xml, needs_qemu, type_on_console, wait_console, wait_for

import guiapp.backend as libvirt
from guiapp.backend import constants as C

LIVE, CONFIG = C.VIR_DOMAIN_AFFECT_LIVE, C.VIR_DOMAIN_AFFECT_CONFIG


def _image(path: Path, size: str = "4M") -> str:
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(path), size], check=True)
    return str(path)


def _ask(dom, xdg: Path, name: str, command: str, tag: str, timeout: float = 20) -> str:
    """Run ``command`` in the guest; its output between TAG markers on the console."""
    before = console_text(xdg, name).count(f"{tag}-END")
    type_on_console(dom, f"echo {tag}-BEGIN $({command}) {tag}-END")
    wait_for(lambda: console_text(xdg, name).count(f"{tag}-END") > before + 1, timeout,
             f"{tag} answer on the console:\n{console_text(xdg, name)[-1500:]}")
    text = console_text(xdg, name)
    return text[text.rindex(f"{tag}-BEGIN") + len(tag) + 6:text.rindex(f"{tag}-END")].strip()


def _qmp(conn, dom, cmd: str, args=None):
    drv = conn._driver
    return drv._qmp(drv._find(dom._ref), cmd, args)


@pytest.mark.qemu
@pytest.mark.slow
@needs_qemu
def test_hotplug_disk_and_nic_seen_in_guest_then_detached(conn, xdg, tiny_guest, tmp_path):
    kernel, initrd = tiny_guest
    img = _image(tmp_path / "data.img")
    dom = conn.defineXML(guest_xml("hp", kernel, initrd))
    dom.create()
    wait_console(xdg, "hp")
    assert _ask(dom, xdg, "hp", "ls /sys/block | grep vd", "BLK") == ""
    disk = f"<disk type='file' device='disk'><source file='{img}'/><target dev='vdb' bus='virtio'/></disk>"
    dom.attachDeviceFlags(disk, LIVE | CONFIG)
    wait_for(lambda: "vda" in _ask(dom, xdg, "hp", "ls /sys/block", "BLK"), 30, "the disk in the guest")
    nic = "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>"
    dom.attachDeviceFlags(nic, LIVE)
    wait_for(lambda: "52:54:00:12:34:56" in _ask(dom, xdg, "hp", "cat /sys/class/net/eth*/address", "MAC"),
             30, "the NIC in the guest")
    live = etree.fromstring(dom.XMLDesc(0))
    assert live.find("devices/interface/alias").get("name") == "net0"
    assert [t.get("dev") for t in live.iterfind("devices/disk/target")] == ["vdb"]
    # link down through updateDeviceFlags (set_link), seen by the guest as NO-CARRIER
    type_on_console(dom, "ip link set eth0 up")
    dom.updateDeviceFlags(nic.replace("</interface>", "<link state='down'/></interface>"), LIVE)
    wait_for(lambda: _ask(dom, xdg, "hp", "cat /sys/class/net/eth0/carrier", "CAR") == "0", 30, "carrier down")
    dom.updateDeviceFlags(nic, LIVE)
    wait_for(lambda: _ask(dom, xdg, "hp", "cat /sys/class/net/eth0/carrier", "CAR") == "1", 30, "carrier up")
    # detach both: device_del, the guest releases them (ACPI), QEMU reports DEVICE_DELETED
    dom.detachDeviceFlags(nic, LIVE)
    dom.detachDeviceFlags("<disk><target dev='vdb'/></disk>", LIVE)
    wait_for(lambda: "vda" not in _ask(dom, xdg, "hp", "ls /sys/block", "BLK"), 30, "the disk gone in the guest")
    assert _ask(dom, xdg, "hp", "ls /sys/class/net | grep eth", "NET") == ""
    live = etree.fromstring(dom.XMLDesc(0))
    assert live.find("devices/disk") is None and live.find("devices/interface") is None
    names = [c["name"] for c in _qmp(conn, dom, "qom-list", {"path": "/machine/peripheral"})]
    assert "vdb" not in names and "net0" not in names
    # the config kept the disk (it was attached with CONFIG too): it comes back at next boot
    assert [t.get("dev") for t in etree.fromstring(dom.XMLDesc(2)).iterfind("devices/disk/target")] == ["vdb"]
    # hot-plugging the same NIC again reuses the free id
    dom.attachDeviceFlags(nic, LIVE)
    assert etree.fromstring(dom.XMLDesc(0)).find("devices/interface/alias").get("name") == "net0"
    dom.destroy()


@pytest.mark.qemu
@pytest.mark.slow
@needs_qemu
def test_cdrom_change_and_eject_and_refusals(conn, xdg, tiny_guest, tmp_path):
    kernel, initrd = tiny_guest
    iso_a, iso_b = _image(tmp_path / "a.iso", "1M"), _image(tmp_path / "b.iso", "1M")
    cd = "<disk type='file' device='cdrom'>{}<target dev='hdc' bus='ide'/><readonly/></disk>"
    dom = conn.defineXML(guest_xml("cd", kernel, initrd, extra=cd.format(f"<source file='{iso_a}'/>")))
    dom.create()

    def medium() -> str:
        for b in _qmp(conn, dom, "query-block"):
            if b.get("qdev") in ("hdc", "/machine/peripheral/hdc/virtio-backend") or b["device"] == "drive-hdc":
                return (b.get("inserted") or {}).get("file", "")
        raise AssertionError("no hdc in query-block")

    assert medium() == iso_a
    dom.updateDeviceFlags(cd.format(f"<source file='{iso_b}'/>"), LIVE)
    assert medium() == iso_b
    assert etree.fromstring(dom.XMLDesc(0)).find("devices/disk/source").get("file") == iso_b
    assert etree.fromstring(dom.XMLDesc(2)).find("devices/disk/source").get("file") == iso_a
    dom.updateDeviceFlags(cd.format(""), LIVE)  # eject
    assert medium() == ""
    assert etree.fromstring(dom.XMLDesc(0)).find("devices/disk/source") is None
    with pytest.raises(libvirt.libvirtError) as info:
        dom.updateDeviceFlags(cd.format(f"<source file='{tmp_path}/missing.iso'/>"), LIVE)
    assert info.value.get_error_code() == C.VIR_ERR_NO_SOURCE
    # an IDE disk cannot come or go live; the message points at --config / next boot
    with pytest.raises(libvirt.libvirtError) as info:
        dom.detachDeviceFlags(cd.format(""), LIVE)
    assert info.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID
    assert "next boot" in info.value.get_error_message()
    with pytest.raises(libvirt.libvirtError) as info:
        dom.attachDeviceFlags("<sound model='ich6'/>", LIVE)
    assert info.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID
    dom.attachDeviceFlags("<sound model='ich6'/>", CONFIG)  # fine for the next boot
    assert etree.fromstring(dom.XMLDesc(2)).find("devices/sound") is not None
    assert etree.fromstring(dom.XMLDesc(0)).find("devices/sound") is None
    # a hot-plugged virtio-scsi disk: the controller comes with it
    img = _image(tmp_path / "s.img")
    dom.attachDeviceFlags(f"<disk type='file' device='disk'><source file='{img}'/>"
                          f"<target dev='sda' bus='scsi'/></disk>", LIVE)
    names = [c["name"] for c in _qmp(conn, dom, "qom-list", {"path": "/machine/peripheral"})]
    assert "scsi0" in names and "sda" in names
    dom.destroy()


@needs_qemu
def test_offline_memory_boot_order_and_rename(conn, xdg, tmp_path):
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"")
    img = _image(tmp_path / "d.img")
    vda = f"<disk type='file' device='disk'><source file='{img}'/><target dev='vda' bus='virtio'/>{{}}</disk>"
    cd = "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/>{}</disk>"
    dom = conn.defineXML(guest_xml("off", str(kernel), str(kernel), extra=vda.format("<boot order='1'/>")))
    dom.setMemoryFlags(65536, CONFIG)
    dom.attachDeviceFlags(cd.format("<boot order='2'/>"), CONFIG)
    dom.updateDeviceFlags(vda.format("<boot order='3'/>"), CONFIG)  # boot order: the CD-ROM first
    dom.updateDeviceFlags(cd.format("<boot order='1'/>"), CONFIG)
    dom.updateDeviceFlags(vda.format("<boot order='2'/>"), CONFIG)
    again = libvirt.open("qemu:///session").lookupByName("off")  # a second process view: read from the file
    root = etree.fromstring(again.XMLDesc(0))
    assert root.find("currentMemory").text == "65536"
    assert [(d.find("target").get("dev"), d.find("boot").get("order")) for d in root.iterfind("devices/disk")] \
        == [("vda", "2"), ("hdc", "1")]
    argv = conn.domainXMLToNative("qemu-argv", again.XMLDesc(0))
    assert "id=hdc,bootindex=1" in argv and "id=vda,bootindex=2" in argv
    with pytest.raises(libvirt.libvirtError) as info:
        dom.attachDeviceFlags("<disk type='file' device='disk'><source file='/x'/><target dev='vdb' "
                              "bus='bogus'/></disk>", CONFIG)
    assert info.value.get_error_code() == C.VIR_ERR_CONFIG_UNSUPPORTED  # what could never start is refused
    dom.setAutostart(1)
    dom.rename("off2", 0)
    assert conn.listDefinedDomains() == ["off2"] and dom.name() == "off2" and dom.autostart() == 1
    assert not (xdg / "cfg" / "guiapp" / "qemu" / "off.xml").exists()
    assert (xdg / "cfg" / "guiapp" / "qemu" / "off2.xml").exists()
    dom.setMetadata(C.VIR_DOMAIN_METADATA_DESCRIPTION, "kept", None, None, 0)
    assert libvirt.open("qemu:///session").lookupByName("off2").metadata(0, None, 0) == "kept"


NETNS_HOTPLUG = """
import json, os, select, subprocess, sys, time
from lxml import etree
def sh(*argv):
    subprocess.run(argv, check=True)
sh("ip", "link", "set", "lo", "up")
sh("ip", "link", "add", "br0", "type", "bridge")
sh("ip", "addr", "add", "10.6.0.1/24", "dev", "br0")
sh("ip", "link", "set", "br0", "up")
import guiapp.backend as libvirt
kernel, initrd, rundir = sys.argv[1:4]
c = libvirt.open("qemu:///session")
d = c.createXML(f"<domain type='qemu'><name>hpnet</name><memory unit='MiB'>128</memory>"
                f"<os><type>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>"
                f"<cmdline>console=ttyS0 quiet</cmdline></os><features><acpi/></features>"
                f"<devices><serial type='pty'/></devices></domain>", 0)
log = os.path.join(rundir, d.UUIDString().replace("-", ""), "console.log")
def console():
    try:
        return open(log, errors="replace").read()
    except OSError:
        return ""
def wait(marker, timeout=60):
    end = time.time() + timeout
    while marker not in console():
        if time.time() > end:
            raise SystemExit("timeout waiting for " + marker + ":\\n" + console()[-1500:])
        time.sleep(0.1)
def type_line(line):
    tty = etree.fromstring(d.XMLDesc().encode()).find("devices/serial").get("tty")
    fd = os.open(tty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    os.write(fd, line.encode() + b"\\n")
    end = time.time() + 1.5
    while time.time() < end:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                os.read(fd, 4096)
            except OSError:
                break
    os.close(fd)
wait("GUIAPP-GUEST-READY")
nic = ("<interface type='bridge'><mac address='52:54:00:00:66:02'/><source bridge='br0'/>"
       "<model type='virtio'/></interface>")
d.attachDeviceFlags(nic, libvirt.VIR_DOMAIN_AFFECT_LIVE)
tap = etree.fromstring(d.XMLDesc().encode()).find("devices/interface/target").get("dev")
link = subprocess.run(["ip", "-j", "link", "show", tap], capture_output=True, text=True).stdout
master = json.loads(link)[0].get("master")
for _ in range(30):
    type_line("[ -e /sys/class/net/eth0 ] && echo HAS-ETH0-YES")
    if "HAS-ETH0-YES" in console().replace("echo HAS-ETH0-YES", ""):
        break
type_line("ip link set eth0 up; ip addr add 10.6.0.2/24 dev eth0; "
          "ping -c 3 -W 2 10.6.0.1 >/dev/null && echo PING-OK-HOT")
end = time.time() + 30
while "PING-OK-HOT" not in console().replace("echo PING-OK-HOT", "") and time.time() < end:
    time.sleep(0.2)
pinged = "PING-OK-HOT" in console().replace("echo PING-OK-HOT", "")
d.detachDeviceFlags(nic, libvirt.VIR_DOMAIN_AFFECT_LIVE)
tap_after = subprocess.run(["ip", "link", "show", tap], capture_output=True).returncode == 0
d.destroy()
c.close()
print(json.dumps({"tap": tap, "master": master, "pinged": pinged, "tap_after_detach": tap_after}))
"""


@pytest.mark.qemu
@pytest.mark.slow
@needs_qemu
def test_hotplug_bridged_nic_pings_in_private_netns(xdg, tiny_guest):
    """A bridged NIC hot-plugged into a running guest gets its tap on the bridge and carries traffic."""
    import json
    import os
    import sys

    from qemu_testlib import runtime_dir
    kernel, initrd = tiny_guest
    if os.geteuid() != 0 or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs root and unshare -n (a private network namespace for the bridge and taps)")
    repo = str(Path(__file__).resolve().parents[4])
    r = subprocess.run(["unshare", "-n", sys.executable, "-c", NETNS_HOTPLUG, kernel, initrd, str(runtime_dir(xdg))],
                       capture_output=True, text=True, timeout=240, env={**os.environ, "PYTHONPATH": repo})
    assert r.returncode == 0, r.stderr + r.stdout
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["master"] == "br0" and out["tap"].startswith("vnet"), out
    assert out["pinged"], out
    assert not out["tap_after_detach"], out
