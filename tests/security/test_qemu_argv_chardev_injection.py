"""Issue 15 item 5's new argv values (serial dev/unix/tcp/udp, udp NICs, VNC listen socket, websocket, USB disks)
fed hostile strings, checked as tests/security/test_qemu_argv_injection.py checks the others: refused with a
libvirt error naming the value, or escaped so that QEMU sees the same options and keys as for a harmless value.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from helpers import load_module
from lxml import etree

inj = load_module("security/test_qemu_argv_injection.py", "security_qemu_argv_injection")

BASE2 = """<domain type='qemu'>
  <name>inj2</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><source file='/tmp/u.img'/><target dev='sda' bus='usb' removable='on'/></disk>
    <interface type='udp'><source address='127.0.0.1' port='5555'><local address='127.0.0.1' port='5556'/>
      </source></interface>
    <serial type='dev'><source path='/dev/ttyS2'/></serial>
    <serial type='unix'><source mode='bind' path='/tmp/serial.sock'/></serial>
    <serial type='tcp'><source mode='bind' host='127.0.0.1' service='9999'/><protocol type='telnet'/></serial>
    <serial type='udp'><source mode='bind' host='127.0.0.1' service='9999'/>
      <source mode='connect' host='127.0.0.1' service='9998'/></serial>
    <graphics type='vnc' websocket='5700' port='5900' autoport='no' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/></graphics>
  </devices>
</domain>"""


@dataclass(frozen=True)
class Field2(inj.Field):  # type: ignore[misc, name-defined]
    def xml(self, value: str) -> str:
        root = etree.fromstring(BASE2)
        el = root.find(self.path)
        assert el is not None, self.path
        el.set(self.attr, value)
        return etree.tostring(root, encoding="unicode")


FIELDS2 = [
    Field2("serial dev path", "devices/serial[@type='dev']/source", "path", "/dev/ttyS2", free=True),
    Field2("serial unix path", "devices/serial[@type='unix']/source", "path", "/tmp/serial.sock", free=True),
    Field2("serial unix mode", "devices/serial[@type='unix']/source", "mode", "bind"),
    Field2("serial tcp host", "devices/serial[@type='tcp']/source", "host", "127.0.0.1"),
    Field2("serial tcp service", "devices/serial[@type='tcp']/source", "service", "9999"),
    Field2("serial tcp protocol", "devices/serial[@type='tcp']/protocol", "type", "telnet"),
    Field2("serial udp bind host", "devices/serial[@type='udp']/source[@mode='bind']", "host", "127.0.0.1"),
    Field2("serial udp service", "devices/serial[@type='udp']/source[@mode='connect']", "service", "9998"),
    Field2("udp nic address", "devices/interface[@type='udp']/source", "address", "127.0.0.1"),
    Field2("udp nic local address", "devices/interface[@type='udp']/source/local", "address", "127.0.0.1"),
    Field2("vnc websocket", "devices/graphics", "websocket", "5700"),
    Field2("usb disk source", "devices/disk/source", "file", "/tmp/u.img", free=True),
    Field2("usb disk removable", "devices/disk/target", "removable", "on"),
]


@pytest.fixture(scope="module")
def qconn(tmp_path_factory: pytest.TempPathFactory):
    yield from inj.session_conn(tmp_path_factory.mktemp("qemu-inj2"))


def test_benign_base_builds(qconn) -> None:
    argv = inj.argv_of(qconn, BASE2)
    assert "usb-storage,bus=usb.0,drive=drive-sda,id=sda,removable=on" in argv
    assert "socket,id=hostnet0,udp=127.0.0.1:5555,localaddr=127.0.0.1:5556" in argv
    assert any(a.startswith("socket,id=charserial2,host=127.0.0.1,port=9999,telnet=on,server=on") for a in argv)


@pytest.mark.parametrize("field", FIELDS2, ids=[f.name for f in FIELDS2])
def test_every_new_field_refuses_or_escapes_comma_payloads(qconn, field) -> None:
    outcomes = {p: inj.check(qconn, field, p) for p in inj.PAYLOADS}
    assert set(outcomes.values()) <= {"refused", "escaped"}


@pytest.mark.parametrize("field,value", [
    ("serial dev path", "ttyS2"),
    ("serial unix path", "serial.sock"),
    ("serial tcp host", "localhost,server=on"),
    ("serial tcp service", "9999,telnet=on"),
    ("serial tcp protocol", "raw,tls-creds=x"),
    ("serial udp bind host", "127.0.0.1,x=y"),
    ("serial udp service", "0"),
    ("udp nic address", "127.0.0.1,x=y"),
    ("udp nic local address", "::1"),
    ("vnc websocket", "5700,password=off"),
    ("vnc websocket", "-1"),
])
def test_new_values_that_must_be_refused(qconn, field: str, value: str) -> None:
    f = next(x for x in FIELDS2 if x.name == field)
    assert inj.check(qconn, f, value) == "refused"


def test_sd_disk_bus_is_refused_naming_the_element(qconn) -> None:
    xml = BASE2.replace("bus='usb' removable='on'", "bus='sd'")
    with pytest.raises(inj.libvirt.libvirtError) as ei:
        qconn.domainXMLToNative("qemu-argv", xml, 0)
    assert ei.value.get_error_code() == inj.C.VIR_ERR_CONFIG_UNSUPPORTED
    assert "<target bus='sd'>" in str(ei.value)


def test_vnc_listen_socket_and_none(qconn) -> None:
    sock = BASE2.replace("<listen type='address' address='127.0.0.1'/>", "<listen type='socket' socket='/tmp/a,b'/>")
    sock = sock.replace(" port='5900' autoport='no' listen='127.0.0.1'", "")
    argv = inj.argv_of(qconn, sock)
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-vnc"] == ["vnc=unix:/tmp/a,,b,websocket=5700"]
    none = BASE2.replace("<listen type='address' address='127.0.0.1'/>", "<listen type='none'/>")
    none = none.replace(" port='5900' autoport='no' listen='127.0.0.1'", "")
    argv = inj.argv_of(qconn, none)
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-vnc"] == ["none"]
