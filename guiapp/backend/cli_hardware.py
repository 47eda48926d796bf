"""guiapp-virsh's hardware-editing command table, and the domain edits that are not device XML, laid out like
virsh 9.0's (``tools/virsh-domain*.c``).

The device commands (``attach-device``, ``detach-device``, ``update-device``, ``attach-disk``, ``detach-disk``,
``attach-interface``, ``detach-interface``, ``change-media``) are :mod:`guiapp.backend.cli_devices`'; here are
``domrename``, ``desc``, ``edit``, ``autostart``, ``domblklist``, ``domiflist`` and :data:`SPECS` for all of them.
Handlers follow :mod:`guiapp.backend.cli_net`'s convention (``handler(conn, args, out=, err=, quiet=)``) so they
also run over Debian's libvirt-python; the tests compare both with real virsh on ``test:///default``.
Not done: ``desc --edit``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any, Optional

from lxml import etree

from .cli_devices import (
    attach_disk,
    attach_interface,
    change_media,
    detach_disk,
    detach_interface,
    device_file,
    exclusive,
    find_disk,
    try_call,
)
from .cli_net import _call, _FailError, _handler, _is_libvirt_error, _message, _opt, _Out, _read_file
from .cli_snapshot import lookup_domain
from .cli_table import format_table

# libvirt's flag values (the handlers also run over libvirt-python)
_LIVE, _CONFIG = 1, 2
_XML_SECURE, _XML_INACTIVE = 1, 2
_DEFINE_VALIDATE = 1
_META_DESCRIPTION, _META_TITLE = 0, 1
_ERR_NO_DOMAIN_METADATA = 80


# ------------------------------------------------------------------------ name, text, autostart
def _domrename(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    new = _opt(a, "new-name")
    if not new:
        raise _FailError("command 'domrename' requires <new-name> option")
    try_call(lambda: dom.rename(new, 0))
    o.extra("Domain successfully renamed\n")


def _get_text(dom: Any, title: bool, flags: int) -> str:
    """virshGetDomainDescription: the metadata, "" when there is none, the XML as a fallback."""
    try:
        return dom.metadata(_META_TITLE if title else _META_DESCRIPTION, None, flags)
    except Exception as exc:
        if not _is_libvirt_error(exc):
            raise
        code, msg = exc.get_error_code(), _message(exc)  # type: ignore[attr-defined]
    if code == _ERR_NO_DOMAIN_METADATA:
        return ""
    if code != 3:  # VIR_ERR_NO_SUPPORT: read it from the XML
        raise _FailError(msg)
    root = etree.fromstring(_call(dom.XMLDesc, flags).encode())
    return root.findtext("title" if title else "description") or ""


def _desc(conn: Any, a: Any, o: _Out) -> None:
    exclusive(a, ("current", "live"), ("current", "config"))
    config, live, title = bool(_opt(a, "config")), bool(_opt(a, "live")), bool(_opt(a, "title"))
    flags = (_CONFIG if config else 0) | (_LIVE if live else 0)
    query = _XML_INACTIVE if config else 0
    dom = lookup_domain(conn, _opt(a, "domain"))
    _call(dom.state, 0)
    words = _opt(a, "new-desc") or []
    text = " ".join(words) if isinstance(words, list) else str(words)
    what = "title" if title else "description"
    if text:
        _get_text(dom, title, query)
        try_call(lambda: dom.setMetadata(_META_TITLE if title else _META_DESCRIPTION, text, None, None, flags),
             f"Failed to set new domain {what}")
        o.extra(f"Domain {what} updated successfully")
        return
    current = _get_text(dom, title, query)
    if current:
        o.print(current)
    else:
        o.extra(f"No {what} for domain: {_call(dom.name)}")


def _autostart(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    name = _call(dom.name)
    on = not _opt(a, "disable")
    try_call(lambda: dom.setAutostart(1 if on else 0),
         f"Failed to {'mark' if on else 'unmark'} domain '{name}' as autostarted")
    o.extra(f"Domain '{name}' {'marked' if on else 'unmarked'} as autostarted\n")


# ------------------------------------------------------------------------ lists
def _domblklist(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    root = etree.fromstring(_call(dom.XMLDesc, _XML_INACTIVE if _opt(a, "inactive") else 0).encode())
    details = bool(_opt(a, "details"))
    rows = []
    for d in root.iterfind("devices/disk"):
        target = d.find("target")
        if target is None or target.get("dev") is None:
            raise _FailError("unable to query block list")
        src = d.find("source")
        source = next((src.get(k) for k in ("file", "dev", "dir", "name", "volume", "path")
                       if src is not None and src.get(k) is not None), None)
        cells = [target.get("dev"), source or "-"]
        rows.append([d.get("type") or "", d.get("device") or "", *cells] if details else cells)
    header = ["Type", "Device", "Target", "Source"] if details else ["Target", "Source"]
    o.print(format_table(header, rows))


def _domiflist(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    root = etree.fromstring(_call(dom.XMLDesc, _XML_INACTIVE if _opt(a, "inactive") else 0).encode())
    rows = []
    for i in root.iterfind("devices/interface"):
        src = i.find("source")
        source = next((src.get(k) for k in ("bridge", "dev", "network", "name", "path")
                       if src is not None and src.get(k) is not None), None)

        def attr(tag: str, name: str, el: etree._Element = i) -> str:
            c = el.find(tag)
            return c.get(name) or "-" if c is not None else "-"
        rows.append([attr("target", "dev"), i.get("type") or "", source or "-", attr("model", "type"),
                     attr("mac", "address")])
    o.print(format_table(["Interface", "Type", "Source", "Model", "MAC"], rows))


# ------------------------------------------------------------------------ edit
def _editor() -> list[str]:
    return shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")


def _ask_reedit(msg: str, relax: bool) -> Optional[str]:
    """vshAskReedit: y/n/i/f from the terminal; None without one."""
    if not sys.stdin.isatty():
        return None
    choices = "[y,n,i,f,?]" if relax else "[y,n,f,?]"
    while True:
        sys.stdout.write(f"{msg} Try again? {choices}: ")
        sys.stdout.flush()
        c = (sys.stdin.readline() or "n").strip().lower()[:1]
        if c == "?":
            sys.stdout.write("y - yes, start editor again\nn - no, throw away my changes\n"
                             + ("i - turn off validation and try to redefine again\n" if relax else "")
                             + "f - force, try to redefine again\n? - print this help\n")
            continue
        if c in ("y", "n", "f") or (relax and c == "i"):
            return c


def _edit(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    define_flags = 0 if _opt(a, "skip-validate") else _DEFINE_VALIDATE
    doc = _call(dom.XMLDesc, _XML_SECURE | _XML_INACTIVE)
    fd, tmp = tempfile.mkstemp(prefix="virsh", suffix=".xml")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(doc)
        relax = True
        while True:  # reedit
            if subprocess.run([*_editor(), tmp]).returncode != 0:
                raise _FailError(f"{' '.join(_editor())} {tmp}: editor failed")
            edited = _read_file(tmp)
            if edited == doc:
                o.extra(f"Domain '{_call(dom.name)}' XML configuration not changed.\n")
                return
            while True:  # redefine
                reread = _call(dom.XMLDesc, _XML_SECURE | _XML_INACTIVE)
                msg = None
                if reread != doc:
                    msg, doc = "The XML configuration was changed by another user.", reread
                else:
                    try:
                        new = conn.defineXMLFlags(edited, define_flags)
                    except Exception as exc:
                        if not _is_libvirt_error(exc):
                            raise
                        sys.stderr.write(f"error: {_message(exc)}\n")
                        msg = "Failed."
                if msg is None:
                    o.extra(f"Domain '{_call(new.name)}' XML configuration edited.\n")
                    return
                answer = _ask_reedit(msg, relax)
                if answer == "f":
                    continue
                if answer == "i" and relax:
                    define_flags, relax = 0, False
                    continue
                break
            if answer == "y":
                continue
            if answer == "n":
                raise _FailError()
            raise _FailError(msg)
    finally:
        os.unlink(tmp)


# ------------------------------------------------------------------------ specs
Opt = tuple[str, str, str, bool, bool]
Spec = tuple[Callable[..., int], str, str, tuple[Opt, ...]]
_DOM: Opt = ("domain", "string", "domain name, id or uuid", True, True)
_AFFECT: tuple[Opt, ...] = (("persistent", "bool", "make live change persistent", False, False),
                            ("config", "bool", "affect next boot", False, False),
                            ("live", "bool", "affect running domain", False, False),
                            ("current", "bool", "affect current domain", False, False))
_FILE: Opt = ("file", "string", "XML file", True, True)


def _s(name: str, help_: str, kind: str = "string", pos: bool = False, req: bool = False) -> Opt:
    return (name, kind, help_, pos, req)


def _b(name: str, help_: str) -> Opt:
    return (name, "bool", help_, False, False)


def _spec(body: Callable[[Any, Any, _Out], None], summary: str, desc: str, opts: tuple[Opt, ...]) -> Spec:
    return (_handler(body), summary, desc, opts)


SPECS: dict[str, Spec] = {
    "attach-device": _spec(device_file("attach", "attached", "attachDeviceFlags", "attachDevice"),
                           "attach device from an XML file", "Attach device from an XML <file>.",
                           (_DOM, _FILE, *_AFFECT)),
    "detach-device": _spec(device_file("detach", "detached", "detachDeviceFlags", "detachDevice"),
                           "detach device from an XML file", "Detach device from an XML <file>",
                           (_DOM, _FILE, *_AFFECT)),
    "update-device": _spec(device_file("update", "updated", "updateDeviceFlags", None),
                           "update device from an XML file", "Update device from an XML <file>.",
                           (_DOM, _FILE, *_AFFECT, _b("force", "force device update"))),
    "attach-disk": _spec(attach_disk, "attach disk device", "Attach new disk device.", (
        _DOM, _s("source", "source of disk device or name of network disk", pos=True, req=True),
        _s("target", "target of disk device", pos=True, req=True),
        _s("targetbus", "target bus of disk device"), _s("driver", "driver of disk device"),
        _s("subdriver", "subdriver of disk device"), _s("cache", "cache mode of disk device"),
        _s("type", "target device type"), _s("mode", "mode of device reading and writing"),
        _s("sourcetype", "type of source (block|file|network)"), _s("serial", "serial of disk device"),
        _s("alias", "custom alias name of disk device"), *_AFFECT,
        _b("print-xml", "print XML document rather than attach the disk"))),
    "detach-disk": _spec(detach_disk, "detach disk device", "Detach disk device.", (
        _DOM, _s("target", "target of disk device", pos=True, req=True), *_AFFECT,
        _b("print-xml", "print XML document rather than detach the disk"))),
    "attach-interface": _spec(attach_interface, "attach network interface", "Attach new network interface.", (
        _DOM, _s("type", "network interface type", pos=True, req=True),
        _s("source", "source of network interface", pos=True, req=True),
        _s("target", "target network name"), _s("mac", "MAC address"), _s("script", "script used to bridge network "
                                                                                    "interface"),
        _s("model", "model type"), _s("alias", "custom alias name of interface device"), *_AFFECT,
        _b("print-xml", "print XML document rather than attach the interface"))),
    "detach-interface": _spec(detach_interface, "detach network interface", "Detach network interface.", (
        _DOM, _s("type", "network interface type", pos=True, req=True), _s("mac", "MAC address"), *_AFFECT,
        _b("print-xml", "print XML document rather than detach the interface"))),
    "change-media": _spec(change_media, "Change media of CD or floppy drive",
                          "Change media of CD or floppy drive.", (
        _DOM, _s("path", "Fully-qualified path or target of disk device", pos=True, req=True),
        _s("source", "source of the media", pos=True), _b("eject", "Eject the media"),
        _b("insert", "Insert the media"), _b("update", "Update the media"), *_AFFECT[1:],
        _b("force", "force media changing"), _b("print-xml", "print XML document rather than change media"),
        _b("block", "source media is a block device"))),
    "domrename": _spec(_domrename, "rename a domain", "Rename an inactive domain.", (
        _DOM, _s("new-name", "new domain name", pos=True, req=True))),
    "desc": _spec(_desc, "show or set domain's description or title",
                  "Allows setting or modifying the description or title of a domain.", (
        _DOM, _b("live", "modify/get running state"), _b("config", "modify/get persistent state"),
        _b("current", "modify/get current state"), _b("title", "modify/get the title instead of description"),
        _s("new-desc", "message", kind="argv", pos=True))),
    "edit": _spec(_edit, "edit XML configuration for a domain", "Edit the XML configuration for a domain.", (
        _DOM, _b("skip-validate", "skip validation of the XML against the schema"))),
    "autostart": _spec(_autostart, "autostart a domain", "Configure a domain to be automatically started at "
                                                         "boot.", (_DOM, _b("disable", "disable autostarting"))),
    "domblklist": _spec(_domblklist, "list all domain blocks", "Get the summary of block devices for a domain.", (
        _DOM, _b("inactive", "get inactive rather than running configuration"),
        _b("details", "additionally display the type and device value"))),
    "domiflist": _spec(_domiflist, "list all domain virtual interfaces",
                       "Get the summary of virtual interfaces for a domain.", (
        _DOM, _b("inactive", "get inactive rather than running configuration"))),
}

HANDLERS: dict[str, Callable[..., int]] = {name: spec[0] for name, spec in SPECS.items()}
READ_ONLY = frozenset({"domblklist", "domiflist"})


def cli_commands() -> tuple[Any, ...]:
    """The commands as ``guiapp.backend.cli.Command`` entries, for ``cli.all_commands``."""
    from .cli_command import commands_from_specs

    return commands_from_specs(SPECS, "domain", read_only=READ_ONLY,
                                   groups={"domblklist": "monitor", "domiflist": "monitor"})



__all__ = ["SPECS", "HANDLERS", "cli_commands", "find_disk"]
