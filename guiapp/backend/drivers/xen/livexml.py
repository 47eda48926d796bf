"""The XML of a running Xen domain: its definition plus the runtime fields XenStore holds."""

from __future__ import annotations

from typing import Optional

from lxml import etree

from ...xml.domain import DomainDef, format_uuid, parse_domain
from .xenstore import XsDomain
from .xl import XlDomain


def synthesize(x: XsDomain, row: Optional[XlDomain] = None) -> DomainDef:
    """XML for a running domain nobody gave us XML for (Domain-0, guests started with xl by hand)."""
    mem = max(x.max_kib, x.target_kib, (row.mem_mib * 1024) if row else 0, 1)
    cur = x.target_kib or (row.mem_mib * 1024 if row else mem)
    vcpus = max(x.vcpus_max, x.vcpus_online, row.vcpus if row else 0, 1)
    root = etree.Element("domain", type="xen")
    etree.SubElement(root, "name").text = x.name
    etree.SubElement(root, "uuid").text = format_uuid(x.uuid)
    etree.SubElement(root, "memory", unit="KiB").text = str(mem)
    etree.SubElement(root, "currentMemory", unit="KiB").text = str(min(cur, mem))
    etree.SubElement(root, "vcpu").text = str(vcpus)
    os_el = etree.SubElement(root, "os")
    etree.SubElement(os_el, "type").text = x.os_type if x.os_type in ("hvm", "xenpvh") else "linux"
    etree.SubElement(root, "devices")
    return parse_domain(etree.tostring(root, encoding="unicode"), hypervisor="xen")


def apply_runtime(d: DomainDef, x: XsDomain) -> DomainDef:
    """Set ``d``'s runtime fields from XenStore (in place): id, balloon, vCPUs online, console pty, VNC port."""
    d.id = x.domid
    if x.max_kib and x.max_kib != d.memory_kib and x.max_kib >= d.current_memory_kib:
        d.memory_kib = x.max_kib
    if x.target_kib and 0 < x.target_kib <= d.memory_kib:
        d.current_memory_kib = x.target_kib
    if 1 <= x.vcpus_online <= d.vcpus:
        d.vcpus_current = x.vcpus_online
    if x.console_tty:
        if d.consoles:
            d.consoles[0].path = x.console_tty
        elif d.os_type != "hvm":  # every PV guest has a console: show where it is
            devices = d.root.find("devices")
            if devices is None:
                devices = etree.SubElement(d.root, "devices")
            con = etree.SubElement(devices, "console", type="pty", tty=x.console_tty)
            etree.SubElement(con, "source", path=x.console_tty)
            etree.SubElement(con, "target", type="xen", port="0")
            d.refresh()
    if x.vnc_port:
        for g in d.graphics:
            if g.type == "vnc" and g.autoport:
                g.port = x.vnc_port
    return d


__all__ = ["synthesize", "apply_runtime"]
