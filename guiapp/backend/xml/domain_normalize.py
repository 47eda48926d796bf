"""Parse-time validation and normalization of a ``<domain>`` tree, in place (see :mod:`.domain`).

:func:`normalize_domain` checks what libvirt's parser checks (with its error codes)
and rewrites what libvirt normalizes (UUID dashed, sizes in KiB, a missing
``<currentMemory>``/``<vcpu>``/lifecycle action added, interface MACs), then runs
:func:`~.domain_checks.check_domain` and :func:`~.domain_defaults.fill_defaults`
and re-indents.  It keeps no copy of anything: :class:`~.domain.DomainDef` reads
the tree through its properties afterwards.
"""

from __future__ import annotations

from typing import Optional

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from ..uuids import format_uuid, new_uuid
from .domain_checks import check_domain
from .domain_defaults import fill_defaults
from .domain_devices import CharDev, Disk, Graphics, Interface
from .domain_values import (
    BOOT_DEVS,
    DOMAIN_TYPES,
    LIFECYCLE_DEFAULTS,
    OS_TYPES,
    check_domain_name,
    check_lifecycle,
    mac_prefix_for,
    parse_memory,
    parse_uuid,
    xml_error,
)
from .safe import check_root

_FROM = C.VIR_FROM_DOMAIN


#: What :func:`check_domain_tree` read and checked, the fields of :class:`~.node.DomainFacts` in its order:
#: (name, UUID bytes, memory KiB, current memory KiB, vCPUs, current vCPUs, OS type).
TopValues = tuple[str, bytes, int, int, int, int, str]
_UNIQUE = ("name", "uuid", "memory", "currentMemory", "vcpu", "features", "os", "devices")


def set_mem_el(el: etree._Element, kib: int) -> None:
    """Write a size element in libvirt's canonical form (``unit='KiB'``)."""
    text = str(kib)
    if el.text != text:
        el.text = text
    if el.get("unit") != "KiB":
        el.set("unit", "KiB")


def numa_memory(root: etree._Element) -> Optional[int]:
    """The sum of ``<cpu><numa><cell memory>`` in KiB, or None without cells."""
    cells = root.findall("cpu/numa/cell")
    if not cells:
        return None
    return sum(parse_memory(c.get("memory"), c.get("unit"), "cell memory") for c in cells)


def normalize_domain(root: etree._Element, hypervisor: Optional[str]) -> None:
    """Validate and normalize ``root`` in place (DriverError on the first problem)."""
    check_domain_tree(root, hypervisor)
    complete_domain(root)


def check_domain_tree(root: etree._Element, hypervisor: Optional[str]) -> TopValues:
    """The checking half of :func:`normalize_domain`: every parse-time check (DriverError on the first
    problem) and the normalizations the top-level values depend on (UUID, sizes, vCPUs, lifecycle, MACs).

    After it, name, UUID, memory, vCPUs and OS type read from the tree are final, and returned (what the checks
    read anyway: a node file's domains are listed from them without reading the tree again);
    :func:`complete_domain` (libvirt's defaults, never an error) must run before the tree is used as a definition.
    """
    check_root(root, "domain", domain=C.VIR_FROM_XML)
    dtype = _check_type(root)
    els = _top_elements(root)
    name_el = els.get("name")
    check_domain_name(name_el.text if name_el is not None else None)
    uuid = _normalize_uuid(root, els)
    cur_el, mem, cur = _normalize_memory(root, els)
    vcpus, vcpus_current = _normalize_vcpu(els, cur_el)
    os_type = _check_os(els.get("os"))
    _add_lifecycle_defaults(root, els)
    _check_devices(els.get("devices"), mac_prefix_for(hypervisor or dtype))
    check_domain(root)
    return els["name"].text or "", uuid, mem, cur, vcpus, vcpus_current, os_type


def complete_domain(root: etree._Element) -> None:
    """The second half of :func:`normalize_domain` on a tree :func:`check_domain_tree` accepted:
    libvirt's parse-time defaults, then indentation."""
    fill_defaults(root)
    # one pass re-indents everything, inserted elements included (leaf text is left alone)
    etree.indent(root, space="  ")


def _check_type(root: etree._Element) -> str:
    t = root.get("type")
    if not t:  # issue 15: as libvirt, no default type (the seed's 'xen' default is gone)
        raise DriverError(C.VIR_ERR_INTERNAL_ERROR, "missing domain type attribute: add e.g. "
                          "<domain type='kvm'> (or qemu, xen, test)", _FROM)
    if t not in DOMAIN_TYPES:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"invalid domain type {t} (expected one of kvm, qemu, xen, test, ...)", _FROM)
    rid = root.get("id")
    if rid is not None:
        try:
            n = int(rid)
        except ValueError:
            raise xml_error(f"invalid domain id '{rid}': expected an integer") from None
        if n < 0:  # libvirt writes no id for inactive domains
            del root.attrib["id"]
    return t


def _top_elements(root: etree._Element) -> dict[str, etree._Element]:
    """The singleton children by tag (duplicates refused), lifecycle actions checked."""
    els: dict[str, etree._Element] = {}
    for child in root:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comments, processing instructions
        if tag in _UNIQUE:
            if tag in els:
                raise xml_error(f"element <{tag}> appears more than once in <domain>; keep only one")
            els[tag] = child
        elif tag in LIFECYCLE_DEFAULTS:
            check_lifecycle(tag, (child.text or "").strip())
            els[tag] = child
    return els


def _normalize_uuid(root: etree._Element, els: dict[str, etree._Element]) -> bytes:
    uuid_el = els.get("uuid")
    if uuid_el is None:
        raw = new_uuid()
        uuid_el = etree.Element("uuid")
        uuid_el.text = format_uuid(raw)
        els["name"].addnext(uuid_el)
        els["uuid"] = uuid_el
    else:
        raw = parse_uuid(uuid_el.text)
        text = format_uuid(raw)
        if uuid_el.text != text:
            uuid_el.text = text
    return raw


def _normalize_memory(root: etree._Element, els: dict[str, etree._Element]) -> tuple[etree._Element, int, int]:
    """``<memory>``/``<currentMemory>`` in KiB (added/clamped like libvirt); returns ``<currentMemory>`` and the
    two sizes in KiB."""
    mem_el = els.get("memory")
    if mem_el is None:
        numa = numa_memory(root)
        if numa is not None:
            mem_el = etree.Element("memory")  # libvirt sums the NUMA cells when <memory> is absent
            mem_el.text, mem_el.attrib["unit"] = str(numa), "KiB"
            els["uuid"].addnext(mem_el)
            els["memory"] = mem_el
    if mem_el is None:
        raise xml_error("memory size must be specified via <memory> (e.g. <memory unit='MiB'>512</memory>)")
    mem = parse_memory(mem_el.text, mem_el.get("unit"))
    if mem == 0:
        raise xml_error("memory size must be greater than 0: set <memory> to the guest's RAM "
                        "(e.g. <memory unit='MiB'>512</memory>)")
    set_mem_el(mem_el, mem)
    cur_el = els.get("currentMemory")
    if cur_el is None:
        cur_el = etree.Element("currentMemory")
        mem_el.addnext(cur_el)
        els["currentMemory"] = cur_el
        cur = mem
    else:
        cur = parse_memory(cur_el.text, cur_el.get("unit"), "currentMemory")
        if cur == 0 or cur > mem:
            cur = mem  # libvirt clamps the balloon to the maximum
    set_mem_el(cur_el, cur)
    return cur_el, mem, cur


def _normalize_vcpu(els: dict[str, etree._Element], cur_el: etree._Element) -> tuple[int, int]:
    """The maximum and current vCPU counts (checked; ``<vcpu>1</vcpu>`` added when missing)."""
    vcpu_el = els.get("vcpu")
    if vcpu_el is None:
        vcpu_el = etree.Element("vcpu")
        vcpu_el.text = "1"
        cur_el.addnext(vcpu_el)
        els["vcpu"] = vcpu_el
        return 1, 1
    text = (vcpu_el.text or "").strip()
    if not (text.isascii() and text.isdigit()):
        raise xml_error(f"maximum vcpus count must be an integer, not '{vcpu_el.text or ''}' "
                        f"(e.g. <vcpu>2</vcpu>)")
    n = int(text)
    if n < 1:
        raise xml_error(f"vcpu count must be at least 1, not {n}")
    if n > 16384:
        raise xml_error(f"vcpu count {n} is too large (at most 16384)")
    cur_attr = vcpu_el.get("current")
    if cur_attr is None:
        return n, n
    c = cur_attr.strip()
    if not (c.isascii() and c.isdigit()):
        raise xml_error(f"current vcpus count must be an integer, not '{cur_attr}'")
    cur = int(c)
    if cur < 1:
        raise xml_error(f"current vcpus count must be at least 1, not {cur}")
    if cur > n:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"maximum vCPU count must not be less than current vCPU count "
                          f"({n} < {cur} in <vcpu current='{cur}'>{n}</vcpu>)", _FROM)
    return n, cur


def _check_os(os_el: Optional[etree._Element]) -> str:
    """The OS type (of the first ``<type>``; the last one is checked, as libvirt reads it)."""
    type_el = first = None
    if os_el is not None:
        for child in os_el:
            tag = child.tag
            if tag == "type":
                type_el = child
                if first is None:
                    first = child
            elif tag == "boot":
                dev = child.get("dev")
                if dev not in BOOT_DEVS:
                    raise xml_error(f"unknown boot device '{dev}' in <os><boot dev=...>: "
                                    f"expected one of fd, hd, cdrom, network")
    if type_el is None or not (type_el.text or "").strip():
        raise DriverError(C.VIR_ERR_XML_ERROR,
                          "an os <type> must be specified, e.g. <os><type>hvm</type></os> "
                          "(hvm for full virtualization, linux/xen for Xen paravirtualization)", _FROM)
    ostype = type_el.text.strip()
    if ostype not in OS_TYPES:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"unknown OS type '{ostype}' in <os><type> "
                          f"(expected hvm, xen, linux or exe)", _FROM)
    assert first is not None
    return (first.text or "").strip()


def _add_lifecycle_defaults(root: etree._Element, els: dict[str, etree._Element]) -> None:
    """Missing lifecycle actions with their defaults, in libvirt's order, before ``<devices>`` (or last)."""
    devices = els.get("devices")
    anchor = None
    for tag in ("on_poweroff", "on_reboot", "on_crash"):
        if tag in els:
            continue
        el = etree.Element(tag)
        el.text = LIFECYCLE_DEFAULTS[tag]
        if anchor is not None:
            anchor.addnext(el)
        elif devices is not None:
            devices.addprevious(el)
        else:
            root.append(el)
        els[tag] = el
        anchor = el


def _check_devices(devices: Optional[etree._Element], mac_prefix: str) -> None:
    if devices is None:
        return
    targets: dict[str, Optional[str]] = {}
    for el in devices:
        tag = el.tag
        if tag == "disk":
            target, source = Disk.check(el)
            if target in targets:
                raise xml_error(f"target '{target}' duplicated for disk sources "
                                f"'{targets[target]}' and '{source}': give each disk its own <target dev>")
            targets[target] = source
        elif tag == "interface":
            Interface.check(el, mac_prefix)
        elif tag == "graphics":
            Graphics.check(el)
        elif tag in ("console", "serial"):
            CharDev.check(el)


__all__ = ["normalize_domain", "check_domain_tree", "TopValues", "complete_domain", "set_mem_el", "numa_memory"]
