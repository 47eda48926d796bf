"""``guiapp-virsh``'s host commands (virsh's Host and Hypervisor group): capabilities, nodeinfo, uri, version."""

from __future__ import annotations

from typing import Any

from .cli_command import Command, Session


def format_version(version: int) -> str:
    """libvirt's encoded version (major * 1e6 + minor * 1e3 + release) as ``major.minor.release``."""
    return f"{version // 1_000_000}.{version // 1000 % 1000}.{version % 1000}"



def cmd_capabilities(s: Session, a: dict[str, Any]) -> bool:
    caps = s.call(s.conn.getCapabilities, fail="failed to get capabilities")
    s.print(caps + "\n")
    return True


def cmd_nodeinfo(s: Session, a: dict[str, Any]) -> bool:
    model, mem_mib, cpus, mhz, nodes, sockets, cores, threads = s.call(
        s.conn.getInfo, fail="failed to get node information")
    row = "{:<20} {}\n".format
    s.print(row("CPU model:", model))
    s.print(row("CPU(s):", cpus))
    if mhz:
        s.print(row("CPU frequency:", f"{mhz} MHz"))
    s.print(row("CPU socket(s):", sockets))
    s.print(row("Core(s) per socket:", cores))
    s.print(row("Thread(s) per core:", threads))
    s.print(row("NUMA cell(s):", nodes))
    s.print(row("Memory size:", f"{mem_mib * 1024} KiB"))
    return True


def cmd_uri(s: Session, a: dict[str, Any]) -> bool:
    s.print(s.call(s.conn.getURI, fail="failed to get URI") + "\n")
    return True


def cmd_version(s: Session, a: dict[str, Any]) -> bool:
    libname = "libvirt" if s.lib.__name__ == "libvirt" else "guiapp"
    lib_version = format_version(s.call(s.lib.getVersion, fail="failed to get the library version"))
    hv_type = s.call(s.conn.getType, fail="failed to get hypervisor type")
    s.print(f"Compiled against library: {libname} {lib_version}\n")
    s.print(f"Using library: {libname} {lib_version}\n")
    s.print(f"Using API: {hv_type} {lib_version}\n")
    hv_version = s.call(s.conn.getVersion, fail="failed to get the hypervisor version")
    if hv_version == 0:
        s.print(f"Cannot extract running {hv_type} hypervisor version\n")
    else:
        s.print(f"Running hypervisor: {hv_type} {format_version(hv_version)}\n")
    return True


# --------------------------------------------------------------------------- command table
#: The host commands.
COMMANDS: tuple[Command, ...] = (
    Command("capabilities", "host", "capabilities", "Returns capabilities of hypervisor/driver.", (),
            cmd_capabilities),
    Command("nodeinfo", "host", "node information", "Returns basic information about the node.", (),
            cmd_nodeinfo),
    Command("uri", "host", "print the hypervisor canonical URI", "", (), cmd_uri),
    Command("version", "host", "show version", "Display the system version information.", (), cmd_version),
)
