"""backend/xml/device_char.py: serial/console and input edits of the hardware forms; hostile values refused,
the result accepted by Debian's real libvirt with the same values."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import real_libvirt
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml import device_char as dc

SERIAL = "<serial type='pty'><target type='isa-serial' port='0'/></serial>"
CONSOLE = "<console type='pty'><target type='serial' port='0'/></console>"
INPUT = "<input type='mouse' bus='ps2'/>"


def refused(fn: Any) -> str:
    with pytest.raises(DriverError) as info:
        fn()
    assert info.value.code == C.VIR_ERR_INVALID_ARG
    return info.value.detail


@pytest.mark.parametrize("path", ["relative.log", "/tmp/a\nb.log", "/tmp/a\x00b", "/var/../etc/shadow",
                                  "/x/\u2028y", "", "/tmp/x'/><qemu:commandline>"])
def test_hostile_paths_are_refused(path: str) -> None:
    for kind in ("file", "unix"):
        spec = dc.CharSpec(kind=kind, path=path, mode="bind")
        if "'/>" in path:  # printable and absolute: a legal file name; lxml escapes it, the XML stays one element
            el = etree.fromstring(dc.edit_char(SERIAL, spec))
            assert el.find("source").get("path") == path and len(el) == 2
            continue
        assert dc.char_problem(spec)
        assert refused(lambda s=spec: dc.edit_char(SERIAL, s)) == dc.char_problem(spec)


@pytest.mark.parametrize("host", ["", "-oProxyCommand=x", "a b", "host;reboot", "h\n", "127.0.0.1'/>", "a..b",
                                  "x" * 300, "\u0430.example"])
def test_hostile_hosts_are_refused(host: str) -> None:
    spec = dc.CharSpec(kind="tcp", host=host, service=4555)
    assert "not a host name" in refused(lambda: dc.edit_char(SERIAL, spec))


def test_other_values_are_checked() -> None:
    ok = dc.CharSpec(kind="tcp", host="localhost", service=4555)
    assert dc.char_problem(ok) is None
    for spec, words in ((dc.CharSpec(kind="tcp", host="::1", service=0), "1-65535"),
                        (dc.CharSpec(kind="tcp", host="::1", service=70000), "1-65535"),
                        (dc.CharSpec(kind="tcp", host="::1", service=1, mode="listen"), "bind or connect"),
                        (dc.CharSpec(kind="unix", path="/run/s", mode="x'"), "bind or connect"),
                        (dc.CharSpec(kind="pipe"), "unknown serial type"),
                        (dc.CharSpec(kind="pty", target_port=32), "0-31"),
                        (dc.CharSpec(kind="pty", target_port=-1), "0-31")):
        assert words in refused(lambda s=spec: dc.edit_char(SERIAL, s))
    assert "expected a <serial> or <console>" in refused(lambda: dc.edit_char(INPUT, ok))
    for kind, bus in (("tablet", "ps2"), ("joystick", "usb"), ("mouse", "usb'/>"), ("", "")):
        assert "unknown input device" in refused(lambda k=kind, b=bus: dc.edit_input(INPUT, k, b))


def test_edits_round_trip_and_keep_the_target_type() -> None:
    for spec in (dc.CharSpec(kind="file", path="/var/log/g.log", target_port=1),
                 dc.CharSpec(kind="unix", path="/run/g.sock", mode="connect"),
                 dc.CharSpec(kind="tcp", host="127.0.0.1", service=4555, mode="bind", target_port=2),
                 dc.CharSpec(kind="pty", target_port=3)):
        xml = dc.edit_char(SERIAL, spec)
        assert dc.char_value(xml) == spec
        assert etree.fromstring(xml).find("target").get("type") == "isa-serial"
        back = dc.edit_char(xml, dc.CharSpec())  # back to pty: no stale <source>/<protocol>
        assert etree.fromstring(back).find("source") is None and etree.fromstring(back).find("protocol") is None
    assert etree.fromstring(dc.edit_char(CONSOLE, dc.CharSpec(kind="file", path="/l"))).tag == "console"
    assert dc.input_value(dc.edit_input(INPUT, "tablet", "usb")) == ("tablet", "usb")


def test_real_libvirt_accepts_the_edited_devices_with_the_same_values() -> None:
    """Debian's libvirt parses each edited device inside a domain on its test driver and keeps our values."""
    lv = real_libvirt()
    conn = lv.open("test:///default")
    devices = [dc.edit_char(SERIAL, dc.CharSpec(kind="file", path="/var/log/g.log", target_port=1)),
               dc.edit_char(SERIAL, dc.CharSpec(kind="unix", path="/run/g.sock", mode="connect")),
               dc.edit_char(SERIAL, dc.CharSpec(kind="tcp", host="127.0.0.1", service=4555, mode="bind")),
               dc.edit_char(CONSOLE, dc.CharSpec(kind="tcp", host="localhost", service=4556, mode="connect")),
               dc.edit_input(INPUT, "tablet", "usb"), dc.edit_input(INPUT, "keyboard", "virtio")]
    try:
        for i, dev in enumerate(devices):
            dom = conn.defineXML(f"<domain type='test'><name>chr{i}</name><memory>65536</memory>"
                                 f"<os><type>hvm</type></os><devices>{dev}</devices></domain>")
            try:
                back = etree.fromstring(dom.XMLDesc(0).encode())
            finally:
                dom.undefine()
            want = etree.fromstring(dev)
            got = back.findall(f"devices/{want.tag}")
            assert got, dev
            if want.tag == "input":
                assert any(dc.input_value(etree.tostring(g, encoding="unicode")) == dc.input_value(dev)
                           for g in got), dev
                continue
            spec = dc.char_value(dev)
            assert any(dc.char_value(etree.tostring(g, encoding="unicode")) == spec for g in got), \
                (dev, [etree.tostring(g) for g in got])
    finally:
        conn.close()
