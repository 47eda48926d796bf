"""The argv values added for issue 15 item 5's measurement (USB controller model, parallel ports, isa-debugcon
iobase, file chardev append, VNC sharePolicy/powerControl) fed hostile strings: refused with a libvirt error
naming the value, or escaped so that QEMU sees the same options and keys as for a harmless value.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from helpers import load_module
from lxml import etree

inj = load_module("security/test_qemu_argv_injection.py", "security_qemu_argv_injection")

BASE3 = """<domain type='qemu'>
  <name>inj3</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' index='0' model='piix3-uhci'/>
    <serial type='pty'><target type='isa-debug'/><address type='isa' iobase='0x402'/></serial>
    <serial type='file'><source path='/tmp/serial.log' append='on'/></serial>
    <console type='unix'><source mode='connect' path='/tmp/c.sock'/><target type='virtio'/></console>
    <parallel type='dev'><source path='/dev/parport0'/></parallel>
    <parallel type='tcp'><source mode='bind' host='127.0.0.1' service='9999'/></parallel>
    <parallel type='file'><source path='/tmp/par.log'/></parallel>
    <graphics type='vnc' port='5900' autoport='no' listen='127.0.0.1' sharePolicy='allow-exclusive'
      powerControl='yes'><listen type='address' address='127.0.0.1'/></graphics>
  </devices>
</domain>"""


@dataclass(frozen=True)
class Field3(inj.Field):  # type: ignore[misc, name-defined]
    def xml(self, value: str) -> str:
        root = etree.fromstring(BASE3)
        el = root.find(self.path)
        assert el is not None, self.path
        el.set(self.attr, value)
        return etree.tostring(root, encoding="unicode")


FIELDS3 = [
    Field3("usb controller model", "devices/controller", "model", "piix3-uhci"),
    Field3("debugcon iobase", "devices/serial/address", "iobase", "0x402"),
    Field3("serial file path", "devices/serial[@type='file']/source", "path", "/tmp/serial.log", free=True),
    Field3("serial file append", "devices/serial[@type='file']/source", "append", "on"),
    Field3("parallel dev path", "devices/parallel[@type='dev']/source", "path", "/dev/parport0", free=True),
    Field3("parallel tcp host", "devices/parallel[@type='tcp']/source", "host", "127.0.0.1"),
    Field3("parallel tcp service", "devices/parallel[@type='tcp']/source", "service", "9999"),
    Field3("parallel file path", "devices/parallel[@type='file']/source", "path", "/tmp/par.log", free=True),
    Field3("virtio console path", "devices/console/source", "path", "/tmp/c.sock", free=True),
    Field3("vnc sharePolicy", "devices/graphics", "sharePolicy", "allow-exclusive"),
    Field3("vnc powerControl", "devices/graphics", "powerControl", "yes"),
]


@pytest.fixture(scope="module")
def qconn(tmp_path_factory: pytest.TempPathFactory):
    yield from inj.session_conn(tmp_path_factory.mktemp("qemu-inj3"))


def test_benign_base_builds(qconn) -> None:
    argv = inj.argv_of(qconn, BASE3)
    assert "piix3-usb-uhci,id=usb" in argv
    assert "isa-debugcon,chardev=charserial0,id=serial0,iobase=1026" in argv
    assert any(a.startswith("file,id=charserial1,path=/tmp/serial.log,append=on") for a in argv)
    assert "parallel,id=charparallel0,path=/dev/parport0" in argv
    assert "isa-parallel,chardev=charparallel2,id=parallel2" in argv
    assert "virtconsole,chardev=charconsole0,id=console0" in argv
    assert "127.0.0.1:0,id=vnc1,share=allow-exclusive,power-control=on" in argv


@pytest.mark.parametrize("field", FIELDS3, ids=[f.name for f in FIELDS3])
def test_every_new_field_refuses_or_escapes_comma_payloads(qconn, field) -> None:
    outcomes = {p: inj.check(qconn, field, p) for p in inj.PAYLOADS}
    assert set(outcomes.values()) <= {"refused", "escaped"}


@pytest.mark.parametrize("field,value", [
    ("usb controller model", "qemu-xhci,id=evil"),
    ("usb controller model", "piix3-usb-uhci"),  # QEMU's name is not libvirt's model name
    ("debugcon iobase", "0x402,id=x"),
    ("debugcon iobase", "0x10000"),
    ("serial file append", "on,path=/etc/passwd"),
    ("parallel tcp host", "localhost,server=on"),
    ("parallel tcp service", "9999,telnet=on"),
    ("vnc sharePolicy", "ignore,password=off"),
    ("vnc powerControl", "yes,sasl=on"),
])
def test_new_values_that_must_be_refused(qconn, field: str, value: str) -> None:
    f = next(x for x in FIELDS3 if x.name == field)
    assert inj.check(qconn, f, value) == "refused"


def test_usb_controller_none_and_default(qconn) -> None:
    none = inj.argv_of(qconn, BASE3.replace("model='piix3-uhci'", "model='none'"))
    assert not [a for a in none if "usb" in a and "uhci" in a]
    q35 = BASE3.replace("<controller type='usb' index='0' model='piix3-uhci'/>", "").replace("'pc'", "'q35'")
    assert "qemu-xhci,id=usb" in inj.argv_of(qconn, q35)


def test_passt_backend_is_refused_naming_the_element(qconn) -> None:
    xml = BASE3.replace("<devices>", "<devices><interface type='user'><backend type='passt'/></interface>")
    with pytest.raises(inj.libvirt.libvirtError) as ei:
        qconn.domainXMLToNative("qemu-argv", xml, 0)
    assert ei.value.get_error_code() == inj.C.VIR_ERR_CONFIG_UNSUPPORTED
    assert "<backend type='passt'>" in str(ei.value)
