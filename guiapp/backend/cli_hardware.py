"""guiapp-virsh's hardware-editing commands, laid out like virsh 9.0's (``tools/virsh-domain*.c``).

``attach-device``, ``detach-device``, ``update-device``, ``attach-disk``, ``detach-disk``, ``attach-interface``,
``detach-interface``, ``change-media``, ``domrename``, ``desc``, ``edit``, ``autostart``, ``domblklist``,
``domiflist``, with ``--live/--config/--current`` (and ``--persistent``) as virsh resolves them.  Handlers follow
:mod:`guiapp.backend.cli_net`'s convention (``handler(conn, args, out=, err=, quiet=)``) so they also run over
Debian's libvirt-python; the tests compare both with real virsh on ``test:///default``.
Not done: network disk sources (``--source-protocol``), ``--address``, bandwidth options, ``desc --edit``.
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

from .cli_net import _call, _FailError, _handler, _is_libvirt_error, _message, _opt, _Out, _read_file
from .cli_snapshot import lookup_domain
from .cli_table import format_table

# libvirt's flag values (the handlers also run over libvirt-python)
_LIVE, _CONFIG, _FORCE = 1, 2, 4
_XML_SECURE, _XML_INACTIVE = 1, 2
_DEFINE_VALIDATE = 1
_META_DESCRIPTION, _META_TITLE = 0, 1
_ERR_NO_DOMAIN_METADATA = 80
_MODES = ("readonly", "shareable")


def _esc(value: str) -> str:
    """virBufferEscapeString for an attribute in single quotes."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
            .replace('"', "&quot;"))


def _exclusive(a: Any, *pairs: tuple[str, str]) -> None:
    for x, y in pairs:
        if _opt(a, x) and _opt(a, y):
            raise _FailError(f"Options --{x} and --{y} are mutually exclusive")


def _affect(a: Any, *, persistent: bool = True) -> tuple[int, bool]:
    """(flags, current) from --config/--live/--current/--persistent, with virsh's exclusions."""
    if persistent:
        _exclusive(a, ("persistent", "current"))
    _exclusive(a, ("current", "live"), ("current", "config"))
    flags = (_CONFIG if _opt(a, "config") or (persistent and _opt(a, "persistent")) else 0) | \
        (_LIVE if _opt(a, "live") else 0)
    return flags, bool(_opt(a, "current"))


def _persistent_live(dom: Any, a: Any, flags: int) -> int:
    """virsh: --persistent also affects the running domain."""
    if _opt(a, "persistent") and _call(dom.isActive) == 1:
        flags |= _LIVE
    return flags


def _device_call(dom: Any, flags: int, current: bool, with_flags: Callable[..., Any],
                 plain: Callable[..., Any], xml: str) -> None:
    if flags or current:
        with_flags(xml, flags)
    else:
        plain(xml)


def _try(fn: Callable[[], Any], *fail: str) -> Any:
    """``fn()``; a libvirt error becomes the command's error lines (raised outside the handler: no frame cycle
    keeps the domain, and with it the connection, alive)."""
    try:
        return fn()
    except Exception as exc:
        if not _is_libvirt_error(exc):
            raise
        msg = _message(exc)
    raise _FailError(*fail, msg)


# ------------------------------------------------------------------------ device XML files
def _device_file(verb: str, past: str, method: str, plain: Optional[str]) -> Callable[[Any, Any, _Out], None]:
    def body(conn: Any, a: Any, o: _Out) -> None:
        flags, current = _affect(a)
        dom = lookup_domain(conn, _opt(a, "domain"))
        path = _opt(a, "file")
        if not path:
            raise _FailError("command requires <file> option")
        flags = _persistent_live(dom, a, flags)
        xml = _read_file(path)
        if verb == "update" and _opt(a, "force"):
            flags |= _FORCE
        use_flags = flags or current or plain is None
        call = getattr(dom, method) if use_flags else getattr(dom, plain)  # type: ignore[arg-type]
        args = (xml, flags) if use_flags else (xml,)
        _try(lambda: call(*args), f"Failed to {verb} device from {path}")
        o.extra(f"Device {past} successfully\n")
    body.__name__ = f"_{verb}_device"
    return body


# ------------------------------------------------------------------------ disks
def _disk_xml(a: Any) -> str:
    source, target = _opt(a, "source"), _opt(a, "target")
    if not source:
        raise _FailError("command 'attach-disk' requires <source> option")
    if not target:
        raise _FailError("command 'attach-disk' requires <target> option")
    stype, driver, mode = _opt(a, "sourcetype"), _opt(a, "driver"), _opt(a, "mode")
    if stype and stype not in ("file", "block"):
        raise _FailError(f"Unknown source type: '{stype}'")
    if not stype:
        import stat
        try:
            block = driver not in ("file", "tap") and stat.S_ISBLK(os.stat(source).st_mode)
        except OSError:
            block = False
        stype = "block" if block else "file"
    if mode and mode not in _MODES:
        raise _FailError(f"No support for {mode} in command 'attach-disk'")
    attrs = f" type='{stype}'" + (f" device='{_esc(_opt(a, 'type'))}'" if _opt(a, "type") else "")
    drv = "".join(f" {k}='{_esc(v)}'" for k, v in (("name", driver), ("type", _opt(a, "subdriver")),
                                                    ("cache", _opt(a, "cache"))) if v)
    lines = [f"<disk{attrs}>"]
    if drv:
        lines.append(f"  <driver{drv}/>")
    lines.append(f"  <source {'dev' if stype == 'block' else 'file'}='{_esc(source)}'/>")
    bus = _opt(a, "targetbus")
    lines.append(f"  <target dev='{_esc(target)}'" + (f" bus='{_esc(bus)}'" if bus else "") + "/>")
    if mode:
        lines.append(f"  <{mode}/>")
    if _opt(a, "serial"):
        lines.append(f"  <serial>{_esc(_opt(a, 'serial'))}</serial>")
    if _opt(a, "alias"):
        lines.append(f"  <alias name='{_esc(_opt(a, 'alias'))}'/>")
    return "\n".join(lines) + "\n</disk>\n"


def _attach_disk(conn: Any, a: Any, o: _Out) -> None:
    flags, current = _affect(a)
    xml = _disk_xml(a)
    if _opt(a, "print-xml"):
        o.print(xml)
        return
    dom = lookup_domain(conn, _opt(a, "domain"))
    flags = _persistent_live(dom, a, flags)
    _try(lambda: _device_call(dom, flags, current, dom.attachDeviceFlags, dom.attachDevice, xml),
         "Failed to attach disk")
    o.extra("Disk attached successfully\n")


def _node_xml(el: etree._Element) -> str:
    el = _copy(el)
    el.tail = None
    return etree.tostring(el, encoding="unicode")


def _copy(el: etree._Element) -> etree._Element:
    from copy import deepcopy
    return deepcopy(el)


def find_disk(doc: str, path: str, changeable: bool = False) -> etree._Element:
    """virshFindDisk: the disk whose target or source is ``path`` (cdrom/floppy only when ``changeable``)."""
    root = etree.fromstring(doc.encode())
    disks = root.findall("devices/disk")
    if not disks:
        raise _FailError("Failed to get disk information")
    for d in disks:
        if changeable and d.get("device") not in (None, "cdrom", "floppy"):
            continue
        src, tgt = d.find("source"), d.find("target")
        names = {tgt.get("dev") if tgt is not None else None}
        if src is not None:
            names.update(src.get(k) for k in ("file", "dev", "dir", "name"))
        if path in names:
            for bs in d.findall("backingStore"):
                d.remove(bs)
            return d
    raise _FailError(f"No disk found whose source path or target is {path}")


def _detach_disk(conn: Any, a: Any, o: _Out) -> None:
    flags, current = _affect(a)
    dom = lookup_domain(conn, _opt(a, "domain"))
    target = _opt(a, "target")
    if not target:
        raise _FailError("command 'detach-disk' requires <target> option")
    doc = _call(dom.XMLDesc, _XML_INACTIVE if flags == _CONFIG else 0)
    flags = _persistent_live(dom, a, flags)
    xml = _node_xml(find_disk(doc, target))
    if _opt(a, "print-xml"):
        o.print(xml)
        return
    _try(lambda: _device_call(dom, flags, current, dom.detachDeviceFlags, dom.detachDevice, xml),
         "Failed to detach disk")
    o.extra("Disk detached successfully\n")


def _media_xml(disk: etree._Element, source: Optional[str], block: bool, target: str, action: str) -> str:
    """virshUpdateDiskXML."""
    if disk.get("device") not in ("cdrom", "floppy"):
        raise _FailError(f"The disk device '{target}' is not removable")
    src = disk.find("source")
    if action == "eject":
        if src is None:
            raise _FailError(f"The disk device '{target}' doesn't have media")
        block, source = False, None
    elif not source:
        raise _FailError("New disk media source was not specified")
    policy = None
    if src is not None:
        has = next((src.get(k) for k in ("file", "dev", "dir", "pool", "name") if src.get(k)), None)
        if has and action == "insert":
            raise _FailError(f"The disk device '{target}' already has media")
        policy = src.get("startupPolicy")
        prev = src.getprevious()
        if prev is not None:
            prev.tail = src.tail
        else:
            disk.text = src.tail
        disk.remove(src)
    disk.set("type", "block" if block else "file")
    if source:
        new = etree.Element("source")
        new.set("dev" if block else "file", source)
        if policy:
            new.set("startupPolicy", policy)
        tgt = disk.find("target")
        if tgt is not None:
            new.tail = (tgt.getprevious().tail if tgt.getprevious() is not None else disk.text) or None
            tgt.addprevious(new)
        else:
            disk.append(new)
    return _node_xml(disk)


def _change_media(conn: Any, a: Any, o: _Out) -> None:
    _exclusive(a, ("eject", "insert"), ("eject", "update"), ("insert", "update"), ("eject", "block"))
    source = _opt(a, "source")
    eject, insert, update = bool(_opt(a, "eject")), bool(_opt(a, "insert")), bool(_opt(a, "update"))
    if update and not source:
        update, eject = False, True
    action, done = (("eject", "ejected") if eject else ("insert", "inserted") if insert else ("update", "updated"))
    flags, _current = _affect(a, persistent=False)
    if _opt(a, "force"):
        flags |= _FORCE
    dom = lookup_domain(conn, _opt(a, "domain"))
    path = _opt(a, "path")
    if not path:
        raise _FailError("command 'change-media' requires <path> option")
    doc = _call(dom.XMLDesc, _XML_INACTIVE if flags & _CONFIG else 0)
    xml = _media_xml(find_disk(doc, path, changeable=True), source, bool(_opt(a, "block")), path, action)
    if _opt(a, "print-xml"):
        o.print(xml)
        return
    _try(lambda: dom.updateDeviceFlags(xml, flags), f"Failed to complete action {action} on media")
    o.print(f"Successfully {done} media.\n")


# ------------------------------------------------------------------------ interfaces
_SOURCE_ATTR = {"network": "network", "bridge": "bridge", "direct": "dev"}
_IFACE_TYPES = ("network", "bridge", "direct", "user", "ethernet", "server", "client", "mcast", "udp")


def _iface_xml(a: Any) -> str:
    itype, source = _opt(a, "type"), _opt(a, "source")
    if not itype:
        raise _FailError("command 'attach-interface' requires <type> option")
    if not source:
        raise _FailError("command 'attach-interface' requires <source> option")
    if itype not in _IFACE_TYPES:
        raise _FailError(f"No support for {itype} in command 'attach-interface'")
    lines = [f"<interface type='{itype}'>"]
    if itype in _SOURCE_ATTR:
        lines.append(f"  <source {_SOURCE_ATTR[itype]}='{_esc(source)}'/>")
    for tag, attr, opt in (("target", "dev", "target"), ("mac", "address", "mac"), ("script", "path", "script"),
                           ("model", "type", "model"), ("alias", "name", "alias")):
        if _opt(a, opt):
            lines.append(f"  <{tag} {attr}='{_esc(_opt(a, opt))}'/>")
    return "\n".join(lines) + "\n</interface>\n"


def _attach_interface(conn: Any, a: Any, o: _Out) -> None:
    flags, current = _affect(a)
    dom = lookup_domain(conn, _opt(a, "domain"))
    xml = _iface_xml(a)
    if _opt(a, "print-xml"):
        o.print(xml)
        return
    flags = _persistent_live(dom, a, flags)
    _try(lambda: _device_call(dom, flags, current, dom.attachDeviceFlags, dom.attachDevice, xml),
         "Failed to attach interface")
    o.extra("Interface attached successfully\n")


def _mac_eq(x: Optional[str], y: str) -> bool:
    try:
        return x is not None and [int(p, 16) for p in x.split(":")] == [int(p, 16) for p in y.split(":")]
    except ValueError:
        return False


def _pick_interface(doc: str, itype: str, mac: Optional[str]) -> str:
    """virshDomainDetachInterface's choice of the interface element."""
    nodes = etree.fromstring(doc.encode()).findall(f"devices/interface[@type='{itype}']") \
        if itype.isalnum() else []
    if not nodes:
        raise _FailError(f"No interface found whose type is {itype}")
    if mac:
        hits = [n for n in nodes if _mac_eq(n.find("mac").get("address") if n.find("mac") is not None else None,
                                            mac)]
        if len(hits) > 1:
            raise _FailError(f"Domain has multiple interfaces matching MAC address {mac}. You must use "
                             f"detach-device and specify the device pci address to remove it.")
        if not hits:
            raise _FailError(f"No interface with MAC address {mac} was found")
        return _node_xml(hits[0])
    if len(nodes) > 1:
        raise _FailError(f"Domain has {len(nodes)} interfaces. Please specify which one to detach using --mac")
    return _node_xml(nodes[0])


def _detach_interface(conn: Any, a: Any, o: _Out) -> None:
    _affect(a)
    dom = lookup_domain(conn, _opt(a, "domain"))
    itype, mac = _opt(a, "type"), _opt(a, "mac")
    if not itype:
        raise _FailError("command 'detach-interface' requires <type> option")
    printxml, current = bool(_opt(a, "print-xml")), bool(_opt(a, "current"))
    affect_config = bool(_opt(a, "config") or _opt(a, "persistent"))

    def detach(doc: str, flags: int) -> None:
        try:
            xml = _pick_interface(doc, itype, mac)
        except _FailError as exc:
            raise _FailError(*exc.lines, *(() if printxml else ("Failed to detach interface",))) from None
        if printxml:
            o.print(xml)
            return
        _try(lambda: _device_call(dom, flags, current, dom.detachDeviceFlags, dom.detachDevice, xml),
             "Failed to detach interface")

    if affect_config:
        detach(_call(dom.XMLDesc, _XML_INACTIVE), _CONFIG)
    affect_live = bool(_opt(a, "live") or (_opt(a, "persistent") and _call(dom.isActive) == 1))
    if affect_live or not affect_config:
        detach(_call(dom.XMLDesc, 0), _LIVE if affect_live else 0)
    if not printxml:
        o.extra("Interface detached successfully\n")


# ------------------------------------------------------------------------ name, text, autostart
def _domrename(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    new = _opt(a, "new-name")
    if not new:
        raise _FailError("command 'domrename' requires <new-name> option")
    _try(lambda: dom.rename(new, 0))
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
    _exclusive(a, ("current", "live"), ("current", "config"))
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
        _try(lambda: dom.setMetadata(_META_TITLE if title else _META_DESCRIPTION, text, None, None, flags),
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
    _try(lambda: dom.setAutostart(1 if on else 0),
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
    "attach-device": _spec(_device_file("attach", "attached", "attachDeviceFlags", "attachDevice"),
                           "attach device from an XML file", "Attach device from an XML <file>.",
                           (_DOM, _FILE, *_AFFECT)),
    "detach-device": _spec(_device_file("detach", "detached", "detachDeviceFlags", "detachDevice"),
                           "detach device from an XML file", "Detach device from an XML <file>",
                           (_DOM, _FILE, *_AFFECT)),
    "update-device": _spec(_device_file("update", "updated", "updateDeviceFlags", None),
                           "update device from an XML file", "Update device from an XML <file>.",
                           (_DOM, _FILE, *_AFFECT, _b("force", "force device update"))),
    "attach-disk": _spec(_attach_disk, "attach disk device", "Attach new disk device.", (
        _DOM, _s("source", "source of disk device or name of network disk", pos=True, req=True),
        _s("target", "target of disk device", pos=True, req=True),
        _s("targetbus", "target bus of disk device"), _s("driver", "driver of disk device"),
        _s("subdriver", "subdriver of disk device"), _s("cache", "cache mode of disk device"),
        _s("type", "target device type"), _s("mode", "mode of device reading and writing"),
        _s("sourcetype", "type of source (block|file|network)"), _s("serial", "serial of disk device"),
        _s("alias", "custom alias name of disk device"), *_AFFECT,
        _b("print-xml", "print XML document rather than attach the disk"))),
    "detach-disk": _spec(_detach_disk, "detach disk device", "Detach disk device.", (
        _DOM, _s("target", "target of disk device", pos=True, req=True), *_AFFECT,
        _b("print-xml", "print XML document rather than detach the disk"))),
    "attach-interface": _spec(_attach_interface, "attach network interface", "Attach new network interface.", (
        _DOM, _s("type", "network interface type", pos=True, req=True),
        _s("source", "source of network interface", pos=True, req=True),
        _s("target", "target network name"), _s("mac", "MAC address"), _s("script", "script used to bridge network "
                                                                                    "interface"),
        _s("model", "model type"), _s("alias", "custom alias name of interface device"), *_AFFECT,
        _b("print-xml", "print XML document rather than attach the interface"))),
    "detach-interface": _spec(_detach_interface, "detach network interface", "Detach network interface.", (
        _DOM, _s("type", "network interface type", pos=True, req=True), _s("mac", "MAC address"), *_AFFECT,
        _b("print-xml", "print XML document rather than detach the interface"))),
    "change-media": _spec(_change_media, "Change media of CD or floppy drive",
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
