"""Test-driver node files with many domains, for demos, screenshots, benchmarks and tests.

``guiapp --connect test:///path/node.xml`` then shows them (libvirt's node-file format:
``<node>`` with ``<cpu>``, ``<memory>`` and ``<domain>`` children; ``<test:runstate>``
starts a domain in a given state, 1 running, 3 paused, 5 shut off).
"""

from __future__ import annotations

import uuid as _uuid
from pathlib import Path

from ..backend.xml.serialize import escape_text

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"


def domain_xml(i: int, state: int = 5, prefix: str = "vm", vnc: bool = True, disk_dir: str = "/var/lib/guiapp") -> str:
    name = f"{prefix}-{i:03d}"
    uid = _uuid.uuid5(_uuid.NAMESPACE_DNS, f"{prefix}.{i}.guiapp.test")
    mem = 131072 * (1 + i % 4)
    graphics = "<graphics type='vnc' port='-1' autoport='yes'/>" if vnc else ""
    return (
        f"<domain type='test'><name>{escape_text(name)}</name><uuid>{uid}</uuid>"
        f"<memory>{mem}</memory><currentMemory>{mem}</currentMemory><vcpu>{1 + i % 2}</vcpu>"
        "<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>"
        "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>"
        "<devices>"
        f"<disk type='file' device='disk'><source file='{disk_dir}/{name}.img'/><target dev='hda'/></disk>"
        f"<interface type='network'><mac address='52:54:00:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}'/>"
        "<source network='default'/></interface>"
        f"{graphics}"
        "</devices>"
        f"<test:runstate xmlns:test='{TEST_NS}'>{state}</test:runstate>"
        "</domain>"
    )


def node_xml(count: int, running: float = 0.5, prefix: str = "vm", paused: int = 0,
             disk_dir: str = "/var/lib/guiapp") -> str:
    """A node with ``count`` domains; the first ``running`` fraction run, then ``paused`` paused ones."""
    n_run = int(round(count * running))
    doms = []
    for i in range(count):
        state = 1 if i < n_run else (3 if i < n_run + paused else 5)
        doms.append(domain_xml(i, state, prefix, vnc=(i % 5 != 4), disk_dir=disk_dir))
    return (
        "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>2</threads>"
        "<active>8</active><mhz>2400</mhz><model>x86_64</model></cpu>"
        "<memory>33554432</memory>" + "".join(doms) + "</node>\n"
    )


def write_node(path: str | Path, count: int, running: float = 0.5, prefix: str = "vm", paused: int = 0,
               disk_dir: str = "/var/lib/guiapp") -> str:
    """Write a node file and return its ``test:///`` URI."""
    p = Path(path).resolve()
    p.write_text(node_xml(count, running, prefix, paused, disk_dir))
    return f"test://{p}"
