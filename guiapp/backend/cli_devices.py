"""guiapp-virsh's device commands, laid out like virsh 9.0's (``tools/virsh-domain.c``): ``attach-device``,
``detach-device``, ``update-device``, ``attach-disk``, ``detach-disk``, ``change-media``, ``attach-interface``,
``detach-interface``, with ``--live/--config/--current`` (and ``--persistent``) as virsh resolves them.

Handlers follow :mod:`guiapp.backend.cli_net`'s convention (``handler(conn, args, out=, err=, quiet=)``) so they
also run over Debian's libvirt-python; their command entries are in :mod:`guiapp.backend.cli_hardware`.
Not done: network disk sources (``--source-protocol``), ``--address``, bandwidth options.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Optional

from lxml import etree

from .cli_net import _call, _FailError, _is_libvirt_error, _message, _opt, _Out, _read_file
from .cli_snapshot import lookup_domain

# libvirt's flag values (the handlers also run over libvirt-python)
_LIVE, _CONFIG, _FORCE = 1, 2, 4
_XML_INACTIVE = 2
_MODES = ("readonly", "shareable")


def _esc(value: str) -> str:
    """virBufferEscapeString for an attribute in single quotes."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
            .replace('"', "&quot;"))


def exclusive(a: Any, *pairs: tuple[str, str]) -> None:
    """virsh's ``Options --x and --y are mutually exclusive`` for each pair given together."""
    for x, y in pairs:
        if _opt(a, x) and _opt(a, y):
            raise _FailError(f"Options --{x} and --{y} are mutually exclusive")


def _affect(a: Any, *, persistent: bool = True) -> tuple[int, bool]:
    """(flags, current) from --config/--live/--current/--persistent, with virsh's exclusions."""
    if persistent:
        exclusive(a, ("persistent", "current"))
    exclusive(a, ("current", "live"), ("current", "config"))
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


def try_call(fn: Callable[[], Any], *fail: str) -> Any:
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
def device_file(verb: str, past: str, method: str, plain: Optional[str]) -> Callable[[Any, Any, _Out], None]:
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
        try_call(lambda: call(*args), f"Failed to {verb} device from {path}")
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


def attach_disk(conn: Any, a: Any, o: _Out) -> None:
    flags, current = _affect(a)
    xml = _disk_xml(a)
    if _opt(a, "print-xml"):
        o.print(xml)
        return
    dom = lookup_domain(conn, _opt(a, "domain"))
    flags = _persistent_live(dom, a, flags)
    try_call(lambda: _device_call(dom, flags, current, dom.attachDeviceFlags, dom.attachDevice, xml),
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


def detach_disk(conn: Any, a: Any, o: _Out) -> None:
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
    try_call(lambda: _device_call(dom, flags, current, dom.detachDeviceFlags, dom.detachDevice, xml),
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


def change_media(conn: Any, a: Any, o: _Out) -> None:
    exclusive(a, ("eject", "insert"), ("eject", "update"), ("insert", "update"), ("eject", "block"))
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
    try_call(lambda: dom.updateDeviceFlags(xml, flags), f"Failed to complete action {action} on media")
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


def attach_interface(conn: Any, a: Any, o: _Out) -> None:
    flags, current = _affect(a)
    dom = lookup_domain(conn, _opt(a, "domain"))
    xml = _iface_xml(a)
    if _opt(a, "print-xml"):
        o.print(xml)
        return
    flags = _persistent_live(dom, a, flags)
    try_call(lambda: _device_call(dom, flags, current, dom.attachDeviceFlags, dom.attachDevice, xml),
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


def detach_interface(conn: Any, a: Any, o: _Out) -> None:
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
        try_call(lambda: _device_call(dom, flags, current, dom.detachDeviceFlags, dom.detachDevice, xml),
             "Failed to detach interface")

    if affect_config:
        detach(_call(dom.XMLDesc, _XML_INACTIVE), _CONFIG)
    affect_live = bool(_opt(a, "live") or (_opt(a, "persistent") and _call(dom.isActive) == 1))
    if affect_live or not affect_config:
        detach(_call(dom.XMLDesc, 0), _LIVE if affect_live else 0)
    if not printxml:
        o.extra("Interface detached successfully\n")
