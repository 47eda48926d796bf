"""More of libvirt 9.0's parse-time defaults and canonical forms (``domain_postparse.c``, ``domain_conf.c``).

Called by :func:`domain_defaults.fill_defaults`; every step edits the tree in place and is idempotent.
Covered here: disk type/bus defaults, read-only CD-ROMs and libvirt's disk order (``virDomainDiskInsert``),
the primary video first, CPU sets in libvirt's bitmap form, ``<cputune>`` schedulers one per thread, implicit
``<iothreadids>``, and the order of the device-info children (``boot``, ``alias``, ``master``, ``rom``,
``acpi``, ``address``) that close every device, sizes in libvirt's units, network disk ports, iSCSI LUNs,
console/parallel ports and the NUMA distance matrix.
"""

from __future__ import annotations

from typing import Optional

from lxml import etree

from .domain_checks import _disk_index, _int, default_disk_bus

#: disk target prefix -> bus when ``<target bus>`` is missing (virDomainDiskDefPostParse)


def parse_bitmap(text: str) -> Optional[set[int]]:
    """libvirt's virBitmapParse ('0-5,^4'); None when the text is not a bitmap."""
    out: set[int] = set()
    neg: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            return None
        target = neg if part.startswith("^") else out
        part = part.lstrip("^")
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            return None
        a, b = int(lo), int(hi or lo)
        if b < a or b > 65535:
            return None
        target.update(range(a, b + 1))
    return out - neg


def format_bitmap(bits: set[int]) -> str:
    """libvirt's virBitmapFormat: sorted ranges, '0-3,5'."""
    parts: list[str] = []
    run: list[int] = []
    for b in sorted(bits):
        if run and b == run[-1] + 1:
            run.append(b)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [b]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)


def _canonical_bitmap(el: etree._Element, attr: str) -> None:
    text = el.get(attr)
    if text is None:
        return
    bits = parse_bitmap(text)
    if bits:
        el.attrib[attr] = format_bitmap(bits)


def _fill_disks(root: etree._Element, devices: etree._Element) -> None:
    for disk in devices.iterfind("disk"):
        if disk.get("type") is None:
            disk.attrib["type"] = "file"
        target = disk.find("target")
        if target is not None and target.get("bus") is None:
            target.attrib["bus"] = default_disk_bus(disk, target.get("dev"))
        if disk.get("device") == "cdrom" and disk.find("readonly") is None:
            etree.SubElement(disk, "readonly")  # domain_defaults reorders the disk's children
        if disk.get("type") == "vhostuser" and disk.get("snapshot") is None:
            disk.attrib["snapshot"] = "no"
        if disk.get("snapshot") == "no" and disk.find("readonly") is not None:
            del disk.attrib["snapshot"]  # libvirt's default for read-only disks, not formatted
        if disk.get("device") in ("cdrom", "floppy") and disk.get("type") == "volume" \
                and disk.find("source") is None:
            disk.attrib["type"] = "file"
        for mirror in disk.findall("mirror"):
            disk.remove(mirror)  # a block job's state: not part of an inactive definition
        for chain in disk.iter("backingStore"):
            _reorder_children(chain, ("format", "source", "backingStore"))
    for zpci in devices.iterfind("*/address/zpci"):
        for attr, width in (("uid", 4), ("fid", 8)):
            v = _int(zpci.get(attr)) or 0
            zpci.attrib[attr] = f"0x{v:0{width}x}"
    _sort_disks(devices)


def _sort_disks(devices: etree._Element) -> None:
    """Re-insert the disks one by one as virDomainDiskInsert does (by bus, then target index)."""
    disks = devices.findall("disk")
    if len(disks) < 2:
        return
    placed: list[etree._Element] = []
    for disk in disks:
        bus, idx = _bus_index(disk)
        insert_at = -1
        for i in range(len(placed) - 1, -1, -1):
            pbus, pidx = _bus_index(placed[i])
            if pbus == bus and pidx is not None and idx is not None and pidx > idx:
                insert_at = i
            elif pbus == bus and insert_at == -1:
                insert_at = i + 1
        if insert_at == -1:
            placed.append(disk)
        else:
            placed.insert(insert_at, disk)
    if placed == disks:
        return
    anchor = etree.Element("anchor")
    disks[0].addprevious(anchor)
    tails = [d.tail for d in disks]
    for d in disks:
        devices.remove(d)
    for d, tail in zip(placed, tails, strict=True):
        d.tail = tail
        anchor.addprevious(d)
    devices.remove(anchor)


def _bus_index(disk: etree._Element) -> tuple[Optional[str], Optional[int]]:
    target = disk.find("target")
    if target is None:
        return None, None
    dev = target.get("dev")
    return target.get("bus"), (_disk_index(dev) if dev else None)


def _primary_video_first(devices: etree._Element) -> None:
    videos = devices.findall("video")
    for v in videos[1:]:
        m = v.find("model")
        if m is not None and m.get("primary") == "yes":
            tail = v.tail
            devices.remove(v)
            v.tail = tail
            videos[0].addprevious(v)
            return


_SCHED_ATTRS = ("scheduler", "priority")


def _fill_cputune(root: etree._Element) -> None:
    ct = root.find("cputune")
    if ct is not None:
        _split_sched(ct, "vcpusched", "vcpus", _int(root.findtext("vcpu")) or 0)
        _split_sched(ct, "iothreadsched", "iothreads", None,
                     _iothread_ids(root) or list(range(1, (_int(root.findtext("iothreads")) or 0) + 1)))
        for el in ct:
            if el.tag in ("cachetune", "memorytune"):
                el.attrib.pop("id", None)  # a runtime name, not kept in the inactive definition
            if el.tag in ("vcpupin", "emulatorpin", "iothreadpin"):
                _canonical_bitmap(el, "cpuset")
        pins = ct.findall("vcpupin")
        ordered = sorted(pins, key=lambda p: _int(p.get("vcpu")) or 0)
        if ordered != pins:
            first = etree.Element("anchor")
            pins[0].addprevious(first)
            for p in pins:
                ct.remove(p)
            for p in ordered:
                first.addprevious(p)
            ct.remove(first)
        _reorder_children(ct, _CPUTUNE_ORDER)
    for tag in ("numatune/memory", "numatune/memnode", "cpu/numa/cell"):
        for el in root.iterfind(tag):
            _canonical_bitmap(el, "nodeset" if "numatune" in tag else "cpus")
    vcpu = root.find("vcpu")
    if vcpu is not None:
        _canonical_bitmap(vcpu, "cpuset")
    mem = root.find("numatune/memory")
    if mem is not None and mem.get("placement") is None and mem.get("nodeset") is None \
            and vcpu is not None and vcpu.get("placement") == "auto":
        mem.attrib["placement"] = "auto"


_CPUTUNE_ORDER = (
    "shares", "period", "quota", "global_period", "global_quota", "emulator_period", "emulator_quota",
    "iothread_period", "iothread_quota", "vcpupin", "emulatorpin", "iothreadpin", "emulatorsched", "vcpusched",
    "iothreadsched", "cachetune", "memorytune",
)


def _iothread_ids(root: etree._Element) -> list[int]:
    return [n for n in (_int(t.get("id")) for t in root.iterfind("iothreadids/iothread")) if n is not None]


def _split_sched(ct: etree._Element, tag: str, attr: str, limit: Optional[int],
                 order: Optional[list[int]] = None) -> None:
    """One ``<vcpusched>``/``<iothreadsched>`` per thread, in thread order, as libvirt formats them."""
    els = ct.findall(tag)
    if not els:
        return
    per_id: dict[int, dict[str, str]] = {}
    for el in els:
        bits = parse_bitmap(el.get(attr) or "")
        if bits is None:
            return  # not ours to canonicalize (the checks refuse what libvirt refuses)
        for b in bits:
            per_id[b] = {k: v for k, v in el.attrib.items() if k in _SCHED_ATTRS}
    ids = [i for i in (order if order is not None else sorted(per_id)) if i in per_id]
    if limit is not None:
        ids = [i for i in ids if i < limit]
    anchor = etree.Element("anchor")
    els[0].addprevious(anchor)
    tail = els[0].tail
    for el in els:
        ct.remove(el)
    for i in ids:
        new = etree.Element(tag)
        new.attrib[attr] = str(i)
        new.attrib.update(per_id[i])
        new.tail = tail
        anchor.addprevious(new)
    ct.remove(anchor)


def _fill_iothreadids(root: etree._Element) -> None:
    """libvirt adds the missing ``<iothread id>`` entries up to ``<iothreads>``, lowest free ids first."""
    count = _int(root.findtext("iothreads"))
    ids = root.find("iothreadids")
    if count is None or ids is None:
        return
    have = _iothread_ids(root)
    n = 1
    while len(have) < count:
        if n not in have:
            etree.SubElement(ids, "iothread", id=str(n))
            have.append(n)
        n += 1


#: device-info children libvirt writes last in every device, in this order (virDomainDeviceInfoFormat)
_INFO_TAIL = ("boot", "alias", "master", "rom", "acpi", "address")
#: children libvirt writes after the device info
_AFTER_INFO = {"memballoon": ("driver",), "controller": ("pcihole64",),
               "filesystem": ("space_hard_limit", "space_soft_limit")}
_CHARDEV_ORDER = ("source", "protocol", "log", "target")
_DEVICE_TAGS = frozenset({
    "disk", "controller", "filesystem", "interface", "smartcard", "serial", "parallel", "console", "channel",
    "input", "tpm", "sound", "video", "hostdev", "redirdev", "hub", "watchdog", "memballoon", "rng", "panic",
    "shmem", "memory", "iommu", "vsock", "crypto", "nvram",
})


def _reorder_children(parent: etree._Element, order: tuple[str, ...]) -> None:
    """Known children in ``order`` (stable); unknown ones and comments stay after the known one before them."""
    rank = {t: i for i, t in enumerate(order)}
    keyed, last = [], -1
    for i, c in enumerate(parent):
        if isinstance(c.tag, str) and c.tag in rank:
            last = rank[c.tag]
        keyed.append((last, i, c))
    _apply_order(parent, [c for _, _, c in sorted(keyed, key=lambda k: (k[0], k[1]))])


def _apply_order(parent: etree._Element, new: list[etree._Element]) -> None:
    """Put ``parent``'s children in the order ``new``; the whitespace between them stays where it was."""
    children = list(parent)
    if new == children:
        return
    tails = [c.tail for c in children]
    for c in children:
        parent.remove(c)
    for c, tail in zip(new, tails, strict=True):
        c.tail = tail
        parent.append(c)


def _info_last(devices: etree._Element) -> None:
    for dev in devices:
        if not isinstance(dev.tag, str) or dev.tag not in _DEVICE_TAGS:
            continue
        if dev.tag in ("serial", "parallel", "console", "channel"):
            _reorder_children(dev, _CHARDEV_ORDER + _INFO_TAIL)
            continue
        after = _AFTER_INFO.get(dev.tag, ())
        info = [c for c in dev if isinstance(c.tag, str) and c.tag in _INFO_TAIL]
        if info:
            post = [c for c in dev if isinstance(c.tag, str) and c.tag in after]
            rest = [c for c in dev if not (isinstance(c.tag, str) and (c.tag in _INFO_TAIL or c.tag in after))]
            _apply_order(dev, rest + sorted(info, key=lambda c: _INFO_TAIL.index(c.tag)) + post)


def _fill_chardevs_misc(devices: etree._Element) -> None:
    ports: list[int] = []
    for par in devices.iterfind("parallel"):
        t = par.find("target")
        if t is None:
            t = etree.SubElement(par, "target")
        if _int(t.get("port")) is None:
            t.attrib["port"] = str(max(ports, default=-1) + 1)
        ports.append(_int(t.get("port")) or 0)
    for addr in devices.iterfind("*/address[@type='virtio-serial']"):
        for attr in ("controller", "bus", "port"):
            if addr.get(attr) is None:
                addr.attrib[attr] = "0"
    for iface in devices.iterfind("interface"):
        mac = iface.find("mac")
        if mac is not None and iface[0] is not mac:
            rest = [c for c in iface if c is not mac]
            _apply_order(iface, [mac, *rest])
    for m in devices.iterfind("video/model[@primary='no']"):
        del m.attrib["primary"]


def _fill_numa_distances(root: etree._Element) -> None:
    """With any ``<distances>`` given, libvirt completes the matrix: 10 locally, symmetric otherwise."""
    cells = root.findall("cpu/numa/cell")
    if not any(c.find("distances") is not None for c in cells):
        return
    maybe_ids = [_int(c.get("id")) for c in cells]
    ids = [i for i in maybe_ids if i is not None]
    if len(ids) != len(cells):
        return
    dist: dict[tuple[int, int], str] = {}
    for c, i in zip(cells, ids, strict=True):
        for sib in c.iterfind("distances/sibling"):
            j = _int(sib.get("id"))
            if j is not None and sib.get("value") is not None:
                dist[(i, j)] = sib.get("value") or ""
    for (i, j), v in list(dist.items()):
        dist.setdefault((j, i), v)
    n = ids
    for c, i in zip(cells, n, strict=True):
        d = c.find("distances")
        if d is None:
            d = etree.SubElement(c, "distances")
        for sib in d.findall("sibling"):
            d.remove(sib)
        for j in sorted(n):
            val = dist.get((i, j), "10" if i == j else None)
            if val is not None:
                etree.SubElement(d, "sibling", id=str(j), value=val)
        if len(d) == 0:
            c.remove(d)


#: bytes per unit (virScaleInteger's suffixes)
_UNIT_BYTES = {"b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2, "mib": 1024**2,
               "mb": 1000**2, "g": 1024**3, "gib": 1024**3, "gb": 1000**3, "t": 1024**4, "tib": 1024**4,
               "tb": 1000**4}


def _bytes(value: Optional[str], unit: Optional[str], default_unit: str = "KiB") -> Optional[int]:
    """A scaled integer in bytes; None when not a number or not a unit."""
    factor = _UNIT_BYTES.get((unit or default_unit).lower())
    v = _int(value)
    if factor is None or v is None or v < 0:
        return None
    return v * factor


def _kib(value: Optional[str], unit: Optional[str]) -> Optional[int]:
    """A scaled integer in KiB, rounded up as libvirt's VIR_DIV_UP."""
    n = _bytes(value, unit)
    return None if n is None else -(-n // 1024)


def _fill_units(root: etree._Element) -> None:
    """Sizes libvirt stores in KiB (or bytes) and formats in that unit."""
    els = root.findall("features/hpt/maxpagesize") + root.findall("memtune/*")
    for el in els:
        if el.tag in ("hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee", "maxpagesize"):
            v = _kib(el.text, el.get("unit"))
            if v is not None:
                el.text, el.attrib["unit"] = str(v), "KiB"
    for page in root.iterfind("memoryBacking/hugepages/page"):
        v = _kib(page.get("size"), page.get("unit"))
        if v is not None:
            page.attrib["size"], page.attrib["unit"] = str(v), "KiB"
    for el in root.iterfind("devices/disk//metadata_cache/max_size"):
        n = _bytes(el.text, el.get("unit"), "bytes")
        if n is not None:
            el.text, el.attrib["unit"] = str(n), "bytes"


#: default TCP port per network disk protocol (virStorageSourceNetworkDefaultPort); 0: none
_NET_PORT = {"http": 80, "https": 443, "ftp": 21, "ftps": 990, "tftp": 69, "sheepdog": 7000, "nbd": 10809,
             "ssh": 22, "iscsi": 3260, "gluster": 24007, "vxhs": 9999}


def _fill_sources(root: etree._Element) -> None:
    for src in root.iterfind("devices/disk//source[@protocol]"):
        port = _NET_PORT.get(src.get("protocol") or "")
        for host in src.iterfind("host"):
            if port and host.get("port") is None and host.get("transport") in (None, "tcp") \
                    and host.get("socket") is None:
                host.attrib["port"] = str(port)
    for src in root.findall("devices/disk//source[@protocol='iscsi']") + \
            root.findall("devices/hostdev/source[@protocol='iscsi']"):
        name = src.get("name")
        if name and "/" not in name:
            src.attrib["name"] = name + "/0"  # libvirt's default LUN
    for be in root.iterfind("devices/rng/backend[@model='random']"):
        if not (be.text or "").strip() and len(be) == 0:
            be.text = "/dev/random"
    loader = root.find("os/loader")
    if loader is not None and (loader.text or "").strip() and loader.get("type") is None:
        loader.attrib["type"] = "rom"
    menu = root.find("os/bootmenu[@enable='no']")
    if menu is not None:
        menu.attrib.pop("timeout", None)
    cpu = root.find("cpu")
    if cpu is not None and cpu.get("mode", "custom") == "custom" and cpu.find("model") is not None \
            and cpu.get("match") is None and cpu.find("arch") is None:
        cpu.attrib["match"] = "exact"


def fill_early(root: etree._Element, devices: Optional[etree._Element]) -> None:
    """Defaults other steps build on (disk buses before drive addresses), run first."""
    if devices is None and root.find("os") is not None:
        devices = etree.SubElement(root, "devices")  # libvirt always formats <devices>
    _fill_iothreadids(root)
    _fill_cputune(root)
    _fill_numa_distances(root)
    _fill_units(root)
    _fill_sources(root)
    if devices is not None:
        _fill_disks(root, devices)


#: libvirt's attribute order where inputs often differ, by tag or (parent tag, tag); others keep theirs
_ATTR_ORDER: dict[object, tuple[str, ...]] = {
    "controller": ("type", "index", "model"),
    "vcpu": ("placement", "cpuset", "current"),
    "cpu": ("mode", "match", "check", "migratable"),
    "cell": ("id", "cpus", "memory", "unit", "memAccess", "discard"),
    "hostdev": ("mode", "type", "managed", "model", "display", "ramfb"),
    "filesystem": ("type", "accessmode", "model", "multidevs", "fmode", "dmode"),
    "feature": ("policy", "enabled", "name"),
    "loader": ("readonly", "secure", "type", "stateless"),
    "zpci": ("uid", "fid"),
    "maxphysaddr": ("mode", "bits"),
    "graphics": ("type", "port", "tlsPort", "autoport", "websocket", "listen"),
    ("video", "model"): ("type", "ram", "vram", "vram64", "vgamem", "heads", "primary"),
    "address": ("type", "domain", "controller", "bus", "slot", "target", "function", "unit", "port", "reg",
                "cssid", "ssid", "devno", "iobase", "irq", "multifunction"),
}
_CHARDEVS = ("serial", "parallel", "console", "channel")
for _t in _CHARDEVS:
    _ATTR_ORDER[(_t, "target")] = ("type", "name", "address", "port", "state")
    _ATTR_ORDER[(_t, "source")] = ("mode", "host", "path", "service", "channel", "master", "slave", "append")


def _attr_order(root: etree._Element) -> None:
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        parent = el.getparent()
        order = _ATTR_ORDER.get((parent.tag, el.tag) if parent is not None else None) or _ATTR_ORDER.get(el.tag)
        if order is None or len(el.attrib) < 2:
            continue
        attrs = dict(el.attrib)
        keys = [k for k in order if k in attrs] + [k for k in attrs if k not in order]
        if keys != list(attrs):
            el.attrib.clear()
            for k in keys:
                el.attrib[k] = attrs[k]


def _empty_elements(devices: etree._Element) -> None:
    """Indentation left in an element without children goes (libvirt writes ``<x/>``); ``<devices>`` stays open."""
    for el in devices.iter():
        if isinstance(el.tag, str) and el is not devices and len(el) == 0 and el.text is not None \
                and not el.text.strip() and "\n" in el.text:
            el.text = None
    if len(devices) == 0:
        devices.text = "\n  "


def fill_late(devices: etree._Element) -> None:
    """Canonical order libvirt formats devices in, run last."""
    _fill_chardevs_misc(devices)
    root = devices.getparent()
    if root is not None:
        _attr_order(root)
    _empty_elements(devices)
    _primary_video_first(devices)
    _info_last(devices)
