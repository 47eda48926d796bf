"""The RFB engine against real QEMU displays, checked with vncdotool's own client."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from helpers.vnc_qemu import VNCDO, needs_qemu, vncdo_capture
from PIL import Image

from guiapp.vnc.address import ConsoleTarget, NoConsoleError, VncAddress, target_from_xml
from guiapp.vnc.rfb import AuthenticationError, Resize, RFBClient, RFBError, Update
from guiapp.vnc.snapshot import capture


def as_image(w: int, h: int, px: bytes) -> Image.Image:
    return Image.frombytes("RGB", (w, h), px, "raw", "BGRX")


@needs_qemu
@pytest.mark.skipif(VNCDO is None, reason="vncdotool's vncdo command is not installed")
def test_capture_matches_vncdotool(qemu_display, tmp_path: Path) -> None:
    q = qemu_display(paused=True)  # a paused QEMU shows a static screen: exact comparison
    w, h, px = capture(VncAddress(path=q.vnc))
    ref = Image.open(vncdo_capture(q.vnc, tmp_path / "ref.png")).convert("RGB")
    mine = as_image(w, h, px)
    assert (w, h) == ref.size
    assert mine.tobytes() == ref.tobytes()
    assert mine.getextrema()[0][1] > 0, "the screen should show QEMU's 'not initialized' text"


@needs_qemu
def test_tcp_with_zlib_matches_unix_raw(qemu_display, monkeypatch: pytest.MonkeyPatch) -> None:
    q = qemu_display(paused=True, tcp=True)
    assert q.port and q.port >= 5900
    unix = capture(VncAddress(path=q.vnc))
    zlib_rects: list[int] = []
    original = RFBClient._on_zlib
    monkeypatch.setattr(RFBClient, "_on_zlib", lambda self, d: (zlib_rects.append(len(d)), original(self, d))[1])
    tcp = capture(VncAddress(host="127.0.0.1", port=q.port))  # remote addresses negotiate Zlib first
    assert zlib_rects, "QEMU should have sent Zlib rectangles over TCP"
    assert unix[:2] == tcp[:2] and unix[2] == tcp[2]


@needs_qemu
def test_password_right_wrong_missing(qemu_display) -> None:
    q = qemu_display(paused=True, password="s3cret")
    w, h, _px = capture(VncAddress(path=q.vnc), password="s3cret")
    assert w > 0 and h > 0
    with pytest.raises(AuthenticationError, match="password"):
        capture(VncAddress(path=q.vnc), password="wrong")
    with pytest.raises(RFBError, match="needs a VNC password"):
        capture(VncAddress(path=q.vnc))


@needs_qemu
def test_resolution_change_is_reported(qemu_display) -> None:
    q = qemu_display(paused=True)
    proto = RFBClient()
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(q.vnc)
    sock.settimeout(10)
    events: list = []
    try:
        deadline = time.monotonic() + 15
        resumed = False
        while not any(isinstance(e, Resize) for e in events):
            assert time.monotonic() < deadline, f"no resize seen; events: {events[-5:]}"
            sock.sendall(proto.data_to_send())
            new = proto.receive(sock.recv(1 << 20))
            events += new
            if not resumed and any(isinstance(e, Update) for e in new):
                first = (proto.width, proto.height)
                q.qmp.cmd("cont")  # SeaBIOS switches to 720x400 text mode
                resumed = True
        assert first != (proto.width, proto.height)
        assert (proto.width, proto.height) == (720, 400)
        assert len(proto.framebuffer) == 720 * 400 * 4
    finally:
        sock.close()


def test_garbage_greeting_is_a_clear_error() -> None:
    with pytest.raises(RFBError, match="not a VNC server"):
        RFBClient().receive(b"HTTP/1.1 200\r\n")


def test_server_refusal_reason_is_reported() -> None:
    p = RFBClient()
    p.receive(b"RFB 003.008\n")
    assert p.data_to_send() == b"RFB 003.008\n"
    with pytest.raises(RFBError, match="too many clients"):
        p.receive(b"\x00" + (16).to_bytes(4, "big") + b"too many clients")


def test_rectangle_outside_desktop_rejected() -> None:
    p = RFBClient()
    p.receive(b"RFB 003.008\n\x01\x01" + b"\0\0\0\0")
    init = (4).to_bytes(2, "big") * 2 + bytes(16) + (1).to_bytes(4, "big") + b"x"
    p.receive(init)
    assert p.ready and (p.width, p.height) == (4, 4)
    with pytest.raises(RFBError, match="outside"):
        p.receive(b"\x00\x00\x00\x01" + (2).to_bytes(2, "big") * 2 + (4).to_bytes(2, "big") * 2 + bytes(4))


def test_raw_rect_lands_in_framebuffer_opaque() -> None:
    p = RFBClient()
    p.receive(b"RFB 003.008\n\x01\x01" + b"\0\0\0\0")
    p.receive((3).to_bytes(2, "big") * 2 + bytes(16) + (0).to_bytes(4, "big"))
    pixels = bytes([10, 20, 30, 0]) * 4
    ev = p.receive(b"\x00\x00\x00\x01" + (1).to_bytes(2, "big") * 2 + (2).to_bytes(2, "big") * 2 + bytes(4) + pixels)
    assert ev == [Update(((1, 1, 2, 2),))]
    row = 3 * 4
    assert p.framebuffer[row + 4:row + 8] == bytes([10, 20, 30, 255])
    assert p.framebuffer[0:4] == bytes([0, 0, 0, 255])


def test_target_from_xml_prefers_socket_then_port() -> None:
    xml = "<domain><name>a</name><devices><graphics type='vnc' port='5901' passwd='x'/></devices></domain>"
    t = target_from_xml(xml, uri="qemu:///session", local_socket="/run/a.vnc")
    assert t == ConsoleTarget(VncAddress(path="/run/a.vnc"), True, "a")
    t = target_from_xml(xml, uri="qemu+ssh://host.example/system", local_socket="/run/a.vnc")
    assert t.address == VncAddress(host="host.example", port=5901)
    sock_xml = "<domain><name>b</name><devices><graphics type='vnc'><listen type='socket' socket='/s'/></graphics>" \
               "</devices></domain>"
    assert target_from_xml(sock_xml).address.path == "/s"
    listen_xml = ("<domain><name>c</name><devices><graphics type='vnc' port='5903' listen='10.0.0.5'/></devices>"
                  "</domain>")
    assert str(target_from_xml(listen_xml, uri="xen:///").address) == "10.0.0.5:5903"


def test_target_from_xml_errors_say_what_to_do() -> None:
    with pytest.raises(NoConsoleError, match="add one"):
        target_from_xml("<domain><name>a</name><devices/></domain>")
    with pytest.raises(NoConsoleError, match="no port yet"):
        target_from_xml("<domain><name>a</name><devices><graphics type='vnc' port='-1'/></devices></domain>",
                        uri="xen:///")


def test_address_parse() -> None:
    assert VncAddress.parse("unix:/x/y") == VncAddress(path="/x/y")
    assert VncAddress.parse("host::5905") == VncAddress(host="host", port=5905)
    assert VncAddress.parse("[::1]:5900").host == "::1"
    with pytest.raises(ValueError, match="host:port"):
        VncAddress.parse("nonsense")
