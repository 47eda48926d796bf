"""Defaults libvirt 9.0 fills in when it parses a domain (``virDomainDefPostParse``), so dumpxml matches libvirt's.

:func:`fill_defaults` edits a loaded ``<domain>`` tree in place and is idempotent (it runs again on every reload).
Filled in: ``<os><boot dev='hd'/>`` for HVM guests without any boot order, ``<vcpu placement='static'>``,
``<clock offset='utc'/>``, ``<cpu mode='custom'>`` when a model/match is given, the primary ``<video>``,
VNC/SPICE ``port='-1' autoport='yes'`` and the ``<listen>`` mirroring the ``listen`` attribute, drive addresses
of IDE/SATA/SCSI/floppy disks, the controllers those addresses (and virtio consoles/channels) need, the
console ↔ serial mirroring of HVM guests, and PCI addresses written in libvirt's canonical hex form.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Optional

from lxml import etree

from .domain_checks import _disk_index, _drive_key, _int
from .domain_defaults2 import fill_early, fill_late

#: ``<os>`` children that libvirt formats before ``<boot>``.
_OS_BEFORE_BOOT = frozenset({
    "type", "firmware", "loader", "nvram", "init", "initarg", "initenv", "initdir", "inituser", "initgroup",
    "kernel", "initrd", "cmdline", "shim", "dtb", "root", "acpi",
})
#: top-level elements libvirt formats after ``<clock>``.
_AFTER_CLOCK = ("on_poweroff", "on_reboot", "on_crash", "on_lockfailure", "pm", "perf", "idmap", "devices")


def _insert_before_first(parent: etree._Element, new: etree._Element, tags: tuple[str, ...]) -> None:
    for child in parent:
        if child.tag in tags:
            child.addprevious(new)
            return
    parent.append(new)


def _fill_os(root: etree._Element) -> None:
    os_el = root.find("os")
    if os_el is None or (os_el.findtext("type") or "").strip() != "hvm":
        return
    if os_el.find("boot") is not None or root.find("devices//boot[@order]") is not None:
        return
    boot = etree.Element("boot", dev="hd")
    last = None
    for child in os_el:
        if child.tag in _OS_BEFORE_BOOT:
            last = child
    if last is None:
        os_el.insert(0, boot)
    else:
        last.addnext(boot)


def _fill_top(root: etree._Element) -> None:
    vcpu = root.find("vcpu")
    if vcpu is not None and vcpu.get("placement") is None:
        vcpu.attrib["placement"] = "static"
    if root.find("clock") is None:
        _insert_before_first(root, etree.Element("clock", offset="utc"), _AFTER_CLOCK)
    cpu = root.find("cpu")
    if cpu is not None and cpu.get("mode") is None and (cpu.get("match") is not None or cpu.find("model") is not None):
        cpu.attrib["mode"] = "custom"


def _fill_graphics(root: etree._Element, devices: etree._Element) -> None:
    for g in devices.iterfind("graphics"):
        gtype = g.get("type")
        if gtype == "vnc" and g.get("socket") is None and g.find("listen[@type='socket']") is None \
                and g.find("listen[@type='none']") is None and g.get("autoport") != "no":
            if g.get("port") in (None, "-1"):
                g.attrib["port"] = "-1"
                g.attrib["autoport"] = "yes"
        spice_listen = "address"
        if gtype == "spice":
            if g.get("port") == "-1":
                del g.attrib["port"]
            has_port = any((_int(g.get(a)) or 0) > 0 for a in ("port", "tlsPort"))
            if g.get("autoport") != "yes":
                if has_port:
                    g.attrib["autoport"] = "no"
                else:
                    g.attrib.pop("autoport", None)
                    spice_listen = "none"
        first_listen = g.find("listen")
        if first_listen is not None and g.get("listen") is None and first_listen.get("type") == "address" \
                and g.get("socket") is None \
                and first_listen.get("address"):
            g.attrib["listen"] = first_listen.get("address")
        if gtype in ("vnc", "spice", "rdp") and g.find("listen") is None:
            if g.get("listen") is not None:
                g.insert(0, etree.Element("listen", type="address", address=g.get("listen")))
            elif g.get("socket") is not None:
                g.insert(0, etree.Element("listen", type="socket", socket=g.get("socket")))
            elif gtype == "vnc":
                g.insert(0, etree.Element("listen", type="address"))
            elif gtype == "spice":
                g.insert(0, etree.Element("listen", type=spice_listen))
    videos = devices.findall("video")
    if not videos and devices.find("graphics") is not None:
        video = etree.SubElement(devices, "video")  # libvirt's implicit video for a guest with graphics
        arch = root.find("os/type")
        ppc = arch is not None and (arch.get("arch") or "").startswith("ppc64")
        etree.SubElement(video, "model", type="vga" if ppc else "cirrus")
        videos = [video]
    if videos:
        models = [v.find("model") for v in videos]
        if not any(m is not None and m.get("primary") == "yes" for m in models):
            first = models[0]
            if first is not None and first.get("type") != "none":
                first.attrib["primary"] = "yes"
    for m in devices.iterfind("video/model"):
        ram, vram = _VIDEO_RAM.get(m.get("type") or "", (None, None))
        if ram is not None and m.get("ram") is None:
            m.attrib["ram"] = ram
        if vram is not None and m.get("vram") is None:
            m.attrib["vram"] = vram
        if m.get("type") not in (None, "none") and m.get("heads") is None:
            m.attrib["heads"] = "1"


#: libvirt's default video memory in KiB (ram, vram) per model (virDomainVideoDefaultRAM).
_VIDEO_RAM = {"vga": (None, "16384"), "cirrus": (None, "16384"), "vmvga": (None, "16384"),
              "qxl": ("65536", "65536")}


def _fill_disk_addresses(devices: etree._Element) -> None:
    for disk in devices.iterfind("disk"):
        target = disk.find("target")
        if target is None or disk.find("address") is not None:
            continue
        bus, dev = target.get("bus"), target.get("dev")
        if bus == "fdc":
            idx = _disk_index(dev)
            key: Optional[tuple] = None if idx is None else ("fdc", 0, 0, 0, idx)
        else:
            key = _drive_key(bus, dev, None)
        if key is None:
            continue
        disk.append(etree.Element("address", type="drive", controller=str(key[1]), bus=str(key[2]),
                                  target=str(key[3]), unit=str(key[4])))


_DRIVE_CONTROLLER = {"ide": "ide", "sata": "sata", "scsi": "scsi", "fdc": "fdc"}


def _fill_controllers(devices: etree._Element) -> None:
    """Controllers referenced by drive addresses and virtio consoles/channels, added after the existing ones."""
    counters: dict[str, int] = {}
    for c in devices.iterfind("controller"):
        t = c.get("type") or ""
        if c.get("index") is None:  # libvirt numbers controllers without an index after the others
            used = {_int(x.get("index")) for x in devices.iterfind("controller") if x.get("type") == t}
            n = counters.get(t, 0)
            while n in used:
                n += 1
            c.attrib["index"] = str(n)
            counters[t] = n + 1
    have = {(c.get("type"), _int(c.get("index")) or 0) for c in devices.iterfind("controller")}
    wanted: list[tuple[str, int]] = []
    for disk in devices.iterfind("disk"):
        target, addr = disk.find("target"), disk.find("address")
        ctype = _DRIVE_CONTROLLER.get(target.get("bus") or "") if target is not None else None
        if ctype and addr is not None and addr.get("type") == "drive":
            wanted.append((ctype, _int(addr.get("controller")) or 0))
    for i, card in enumerate(devices.iterfind("smartcard")):
        wanted.append(("ccid", 0))
        if card.find("address") is None:
            card.append(etree.Element("address", type="ccid", controller="0", slot=str(i)))
    for el in devices:
        if el.tag in ("console", "channel"):
            t = el.find("target")
            if t is not None and t.get("type") == "virtio":
                a = el.find("address[@type='virtio-serial']")
                wanted.append(("virtio-serial", (_int(a.get("controller")) or 0) if a is not None else 0))
    for key in wanted:
        if key in have:
            continue
        have.add(key)
        new = etree.Element("controller", type=key[0], index=str(key[1]))
        prev = [c for c in devices.iterfind("controller")]
        if prev:
            prev[-1].addnext(new)
        else:
            _insert_before_first(devices, new, ("filesystem", "interface", "smartcard", "serial", "parallel",
                                                "console", "channel", "input", "tpm", "graphics", "sound",
                                                "audio", "video", "hostdev", "redirdev", "watchdog",
                                                "memballoon", "rng", "panic", "shmem", "memory", "iommu",
                                                "vsock"))


_SERIAL_STUB_TARGETS = (None, "isa-serial", "spapr-vio-serial", "system-serial", "sclp-serial")


def _fill_consoles(root: etree._Element, devices: etree._Element) -> None:
    """libvirt's console/serial mirroring of HVM guests (virDomainDefAddConsoleCompat)."""
    os_type = (root.findtext("os/type") or "").strip()
    consoles = devices.findall("console")
    serials = devices.findall("serial")
    if os_type in ("hvm", "exe"):
        for i, c in enumerate(consoles):  # libvirt numbers consoles by position at parse time
            t = c.find("target")
            if t is None:
                t = etree.SubElement(c, "target")
            t.attrib["port"] = str(i)
            if os_type == "exe" and t.get("type") is None:
                t.attrib["type"] = "serial"
    if os_type != "hvm":
        return
    first_type = consoles[0].find("target").get("type") if consoles and consoles[0].find("target") is not None \
        else None
    if consoles and first_type in (None, "serial", "none"):
        first = consoles[0]
        if not serials:
            serial = _copy_chardev(first, "serial")
            etree.SubElement(serial, "target", port="0")
            if first.find("address") is not None:
                serial.append(deepcopy(first.find("address")))
            first.addprevious(serial)
        elif _chardev_source(first) != _chardev_source(serials[0]):
            alias = _copy_chardev(serials[0], "console")
            first.addprevious(alias)
            devices.remove(first)
            first = alias
        target = first.find("target")
        if target is None:
            target = etree.SubElement(first, "target")
        target.attrib["type"] = "serial"
        target.attrib["port"] = "0"
    elif serials:
        st = serials[0].find("target")
        if (st.get("type") if st is not None else None) in _SERIAL_STUB_TARGETS:
            console = _copy_chardev(serials[0], "console")
            etree.SubElement(console, "target", type="serial", port="0")
            if consoles:
                consoles[0].addprevious(console)
            else:
                (devices.findall("parallel") or serials)[-1].addnext(console)


def _chardev_source(el: etree._Element) -> tuple:
    return (el.get("type") or "pty",
            tuple(sorted((k, v) for s in el.findall("source") for k, v in s.attrib.items() if k != "path"
                         or el.get("type") != "pty")))


def _copy_chardev(src: etree._Element, tag: str) -> etree._Element:
    """A copy of a character device under another tag, without its <target> (and alias/address)."""
    new = etree.Element(tag)
    for k, v in src.attrib.items():
        new.attrib[k] = v
    for child in src:
        if isinstance(child.tag, str) and child.tag not in ("target", "alias", "address"):
            new.append(deepcopy(child))
    return new


def _canonical_pci(devices: etree._Element) -> None:
    addrs = devices.findall(".//address[@type='pci']") + devices.findall("hostdev[@type='pci']/source/address")
    for addr in addrs:
        if not any(addr.get(a) is not None for a in ("domain", "bus", "slot", "function")):
            continue  # <address type='pci'/>: to be assigned, libvirt keeps it so
        for attr, width in (("domain", 4), ("bus", 2), ("slot", 2), ("function", 0)):
            v = _int(addr.get(attr)) if addr.get(attr) is not None else 0
            if v is None:
                continue
            text = f"0x{v:0{width}x}" if width else f"0x{v:x}"
            if addr.get(attr) != text:
                addr.attrib[attr] = text
        # libvirt's attribute order: type domain bus slot function multifunction
        attrs = dict(addr.attrib)
        addr.attrib.clear()
        for k in ("type", "domain", "bus", "slot", "function"):
            if k in attrs:
                addr.attrib[k] = attrs.pop(k)
        addr.attrib.update(attrs)


def _canonical_ccw(devices: etree._Element) -> None:
    for addr in devices.iterfind(".//address[@type='ccw']"):
        for attr, width in (("cssid", 0), ("ssid", 0), ("devno", 4)):
            v = _int(addr.get(attr))
            if v is not None:
                addr.attrib[attr] = f"0x{v:0{width}x}" if width else f"0x{v:x}"


_DISK_ORDER = (
    "driver", "auth", "source", "backingStore", "backenddomain", "geometry", "blockio", "mirror", "target",
    "iotune", "throttlefilters", "readonly", "shareable", "transient", "serial", "wwn", "vendor", "product",
    "encryption", "boot", "alias", "address",
)


def _fill_tuning(root: etree._Element) -> None:
    numa = root.find("cpu/numa")
    if numa is not None:
        cells = numa.findall("cell")
        ordered = sorted(cells, key=lambda c: _int(c.get("id")) or 0)
        if ordered != cells:
            for c in cells:
                numa.remove(c)
            for i, c in enumerate(ordered):
                numa.insert(i, c)
    nt = root.find("numatune")
    if nt is not None:
        _reorder(nt, ("memory", "memnode"))
    hv = root.find("features/hyperv")
    if hv is not None and hv.get("mode") is None:
        hv.attrib["mode"] = "custom"


def _fill_devices_misc(devices: etree._Element) -> None:
    for el in devices.iterfind("disk//*[@index]"):
        if el.tag in ("source", "backingStore"):
            del el.attrib["index"]  # storage chain indexes are runtime state, dropped on define
    for t in devices.iterfind("disk/target[@tray='closed']"):
        del t.attrib["tray"]
    for fs in devices.iterfind("filesystem"):
        if fs.get("type") is None:
            fs.attrib["type"] = "mount"
        if fs.get("accessmode") is None and (fs.get("type") or "mount") == "mount" \
                and (fs.find("driver") is None or fs.find("driver").get("type") != "virtiofs"):
            fs.attrib["accessmode"] = "passthrough"
    for hd in devices.iterfind("hostdev[@mode='subsystem'][@type='pci']"):
        if hd.get("managed") is None:
            hd.attrib["managed"] = "no"
    for disk in devices.iterfind("disk"):
        if disk.get("device") in ("cdrom", "floppy") and disk.find("source") is None \
                and disk.get("type") == "network":
            disk.attrib["type"] = "file"
        _reorder(disk, _DISK_ORDER)
    for tag in ("serial", "console", "parallel", "channel"):
        for dev in devices.iterfind(tag):
            if dev.get("type") == "tcp" and dev.find("protocol") is None:
                sources = dev.findall("source")
                proto = etree.Element("protocol", type="raw")
                if sources:
                    sources[-1].addnext(proto)
                else:
                    dev.insert(0, proto)
            srcs = dev.findall("source")
            for src in srcs:  # libvirt formats <source> first in a character device
                dev.remove(src)
            for i, src in enumerate(srcs):
                dev.insert(i, src)


def fill_defaults(root: etree._Element) -> None:
    """Fill in libvirt's parse-time defaults on a validated ``<domain>`` tree (in place, idempotent)."""
    _fill_os(root)
    _fill_top(root)
    _fill_tuning(root)
    devices = root.find("devices")
    fill_early(root, devices)
    devices = root.find("devices")
    if devices is None:
        return
    _fill_graphics(root, devices)
    _fill_disk_addresses(devices)
    _fill_controllers(devices)
    _fill_consoles(root, devices)
    _canonical_pci(devices)
    _fill_misc(root, devices)
    _canonical_ccw(devices)
    _fill_devices_misc(devices)
    _reorder(root, _DOMAIN_ORDER)
    _reorder(devices, _DEVICE_ORDER)
    os_el = root.find("os")
    if os_el is not None:
        _reorder(os_el, _OS_ORDER)
    fill_late(devices)


_DOMAIN_ORDER = (
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory", "currentMemory",
    "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads", "iothreadids", "defaultiothread",
    "cputune", "numatune", "resource", "sysinfo", "bootloader", "bootloader_args", "os", "idmap", "features",
    "cpu", "clock", "on_poweroff", "on_reboot", "on_crash", "on_lockfailure", "pm", "perf", "devices",
    "seclabel", "keywrap", "launchSecurity",
)
_DEVICE_ORDER = (
    "emulator", "disk", "controller", "lease", "filesystem", "interface", "smartcard", "serial", "parallel",
    "console", "channel", "input", "tpm", "graphics", "sound", "audio", "video", "hostdev", "redirdev",
    "redirfilter", "hub", "watchdog", "memballoon", "rng", "panic", "shmem", "memory", "iommu", "vsock",
    "crypto",
)
_OS_ORDER = (
    "type", "firmware", "loader", "nvram", "init", "initarg", "initenv", "initdir", "inituser", "initgroup",
    "kernel", "initrd", "cmdline", "shim", "dtb", "root", "acpi", "boot", "bootmenu", "smbios", "bios",
)


def _reorder(parent: etree._Element, order: tuple[str, ...]) -> None:
    """libvirt's element order (stable inside a group); unknown elements and comments keep their neighbour."""
    rank = {t: i for i, t in enumerate(order)}
    children = list(parent)
    keyed = []
    last = 0
    for i, c in enumerate(children):
        if isinstance(c.tag, str) and c.tag in rank:
            last = rank[c.tag]
        keyed.append((last, i, c))  # an unknown element or comment sorts with the known one before it
    new = [c for _, _, c in sorted(keyed, key=lambda k: (k[0], k[1]))]
    if new != children:
        tail = parent[-1].tail if len(parent) else None
        for c in children:
            parent.remove(c)
        for c in new:
            parent.append(c)
        for c in new[:-1]:
            c.tail = children[0].tail if len(children) > 1 else c.tail
        if new:
            new[-1].tail = tail


def _fill_misc(root: etree._Element, devices: etree._Element) -> None:
    model = root.find("cpu/model")
    if model is not None and model.get("fallback") is None:
        model.attrib["fallback"] = "allow"
    for i, cell in enumerate(root.iterfind("cpu/numa/cell")):
        if cell.get("id") is None:
            cell.attrib["id"] = str(i)
    for hd in devices.iterfind("hostdev[@type='mdev']"):
        if hd.get("managed") is None:
            hd.attrib["managed"] = "no"
    for i, serial in enumerate(devices.iterfind("serial")):
        target = serial.find("target")
        if target is None:
            target = etree.SubElement(serial, "target")
        if target.get("port") is None:
            target.attrib["port"] = str(i)
    for tag in ("serial", "console", "channel", "redirdev", "smartcard", "parallel"):
        for dev in devices.iterfind(tag):
            if dev.get("type") not in ("unix", "tcp"):
                continue
            for src in dev.findall("source"):
                if src.get("mode") is None:
                    src.attrib["mode"] = "connect"
                if dev.get("type") == "unix" and src.get("path") is None and len(src) == 0:
                    dev.remove(src)
    next_index: dict[str, int] = {}
    for c in devices.iterfind("controller"):
        n = _int(c.get("index"))
        if n is not None:
            next_index[c.get("type") or ""] = max(next_index.get(c.get("type") or "", 0), n + 1)
    for addr in devices.iterfind(".//address[@type='drive']"):
        for attr in ("controller", "bus", "target", "unit"):
            if addr.get(attr) is None:
                addr.attrib[attr] = "0"
