"""``guiapp-virsh screenshot`` and ``send-key`` through vncdotool, for every domain with a VNC display.

The display's address comes from the domain's live XML (:func:`guiapp.vnc.address.console_target`: the QEMU
driver's unix socket, or host:port); keys are libvirt's (codesets ``linux`` — virsh's default —, ``xt``,
``usb``; names like ``KEY_LEFTCTRL`` in ``linux``, numbers in any), turned into the X keysyms an RFB key
event carries (:mod:`guiapp.vnc.keycodes`).  vncdotool's reactor cannot restart within a process, so each
command runs once per process (as the CLI does).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, Optional

from ..vnc.keycodes import KEYS

if TYPE_CHECKING:
    from .cli_command import Command, Session

#: codeset -> column of :data:`KEYS` holding its key codes.
CODESETS = {"linux": 1, "xt": 2, "usb": 3}
MAX_KEYS = 16  # virsh's VIR_DOMAIN_SEND_KEY_MAX_KEYS
_BY_NAME = {k[0]: k for k in KEYS}


def _fail(s: Session, *lines: str) -> Exception:
    """The CommandError of the cli module that runs ``s`` (``python -m guiapp.backend.cli`` runs it as __main__)."""
    return sys.modules[type(s).__module__].CommandError(*lines)


def keysym(codeset: str, key: str) -> int:
    """The X keysym of ``key`` (a linux KEY_* name, or a number in ``codeset``); ValueError with virsh's words."""
    col = CODESETS.get(codeset)
    if col is None:
        raise ValueError(f"unknown codeset: '{codeset}' (use {', '.join(CODESETS)})")
    if codeset == "linux" and key in _BY_NAME:
        return _BY_NAME[key][4]
    try:
        code = int(key, 0)
    except ValueError:
        raise ValueError(f"invalid keycode: '{key}'") from None
    for row in KEYS:
        if row[col] == code:
            return row[4]
    raise ValueError(f"invalid keycode: '{key}' (no such key in codeset {codeset}, or no VNC keysym for it)")


def vnc_server(s: Session, dom: Any) -> tuple[str, Optional[str]]:
    """vncdotool's server string for the domain's display, and its password (None: none)."""
    from ..vnc.address import NoConsoleError, console_target
    try:
        target = s.call(console_target, dom)
    except NoConsoleError as exc:
        raise _fail(s, str(exc)) from None
    addr = target.address
    if addr.path is not None:
        if ":" in addr.path or not os.path.isabs(addr.path):  # vncdotool splits its server string at ':'
            raise _fail(s, f"the VNC socket path {addr.path!r} cannot be given to vncdotool (it has a ':')")
        server = addr.path
    else:
        host = addr.host or "127.0.0.1"
        if any(c in host for c in "/ \t\n") or host.startswith("-"):
            raise _fail(s, f"refusing the VNC host {host!r} from the domain XML")
        server = f"[{host}]::{addr.port}" if ":" in host else f"{host}::{addr.port}"
    password = None
    if target.has_password:
        from ..vnc.address import parse_xml
        xml = s.call(dom.XMLDesc, s.lib.VIR_DOMAIN_XML_SECURE)
        g = next((e for e in parse_xml(xml).iterfind("devices/graphics") if e.get("type") == "vnc"), None)
        password = g.get("passwd") if g is not None else None
    return server, password


def _connect(s: Session, server: str, password: Optional[str]) -> Any:
    from vncdotool import api
    try:
        return api.connect(server, password=password, timeout=15)
    except Exception as exc:
        api.shutdown()
        raise _fail(s, f"cannot connect to the VNC display {server}: {exc}") from None


def cmd_screenshot(s: Session, a: dict[str, Any]) -> bool:
    dom = s.domain(a["domain"])
    path = a.get("file") or f"{s.call(dom.name)}-{time.strftime('%Y-%m-%d-%H:%M:%S')}.png"
    if not path.lower().endswith(".png"):
        raise _fail(s, f"screenshot file '{path}' must end in .png (guiapp writes PNG)")
    server, password = vnc_server(s, dom)
    from vncdotool import api
    client = _connect(s, server, password)
    try:
        client.captureScreen(path)
    except Exception as exc:
        raise _fail(s, f"could not take a screenshot of {server}: {exc}") from None
    finally:
        try:
            client.disconnect()
        finally:
            api.shutdown()
    s.extra(f"\nScreenshot saved to {path}, with type of image/png")
    s.print("\n")
    return True


def cmd_send_key(s: Session, a: dict[str, Any]) -> bool:
    keys = [k for k in (a.get("keycode") or []) if k]
    if not keys:
        raise _fail(s, "command 'send-key' requires <keycode> option")
    if len(keys) > MAX_KEYS:
        raise _fail(s, f"too many keycodes: {len(keys)} (at most {MAX_KEYS})")
    codeset = a.get("codeset") or "linux"
    try:
        syms = [keysym(codeset, k) for k in keys]
    except ValueError as exc:
        raise _fail(s, str(exc)) from None
    hold = int(a.get("holdtime") or 0)
    dom = s.domain(a["domain"])
    server, password = vnc_server(s, dom)
    from vncdotool import api
    client = _connect(s, server, password)
    try:
        from twisted.internet import reactor
        from twisted.internet.threads import blockingCallFromThread
        client.pause(0.01)  # returns once connected (vncdotool's calls chain on its connection)
        proto = client.protocol  # raw keysyms: RFBClient.keyEvent on the reactor thread, outside that chain
        for sym in syms:  # pressed together, released in reverse, as virDomainSendKey does
            blockingCallFromThread(reactor, proto.keyEvent, sym, True)
        time.sleep(max(hold, 10) / 1000)
        for sym in reversed(syms):
            blockingCallFromThread(reactor, proto.keyEvent, sym, False)
        client.pause(0.05)
    finally:
        try:
            client.disconnect()
        finally:
            api.shutdown()
    return True


def cli_commands() -> list[Command]:
    from .cli_command import Command, Opt, dom_opt
    return [
        Command("screenshot", "domain", "take a screenshot of a current domain console and store it into a file",
                "Take a screenshot of the domain's VNC display (PNG, through vncdotool)",
                (dom_opt(), Opt("file", "string", "where to store the screenshot (.png)", positional=True)),
                cmd_screenshot),
        Command("send-key", "domain", "Send keycodes to the guest",
                "Send keycodes (linux KEY_* names or numbers) to the guest's VNC display, pressed together",
                (dom_opt(), Opt("codeset", "string", "the codeset of keycodes, default:linux"),
                 Opt("holdtime", "number", "the time (in milliseconds) how long the keys will be held"),
                 Opt("keycode", "argv", "the key code", positional=True, required=True)),
                cmd_send_key),
    ]
