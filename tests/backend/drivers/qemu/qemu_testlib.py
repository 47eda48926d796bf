"""Helpers and fixtures for the QEMU driver tests: isolated XDG directories, the tiny guest, leak checks.

(A module with its own name, re-exported by conftest.py, so test modules can import helpers from it
without depending on which ``conftest`` module Python has cached.)"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
from helpers.tinyguest import CMDLINE, READY_MARKER, qemu_processes_under

import guiapp.backend as libvirt

QEMU = shutil.which("qemu-system-x86_64")

needs_qemu = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed (apt-get install "
                                                     "qemu-system-x86)")


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Private XDG runtime/config dirs; at the end no QEMU started under them may remain."""
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI", raising=False)
    yield tmp_path
    leftovers = qemu_processes_under(str(tmp_path))
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"the test left QEMU processes running: {leftovers}"


@pytest.fixture
def conn(xdg: Path) -> Iterator[libvirt.virConnect]:
    """A qemu:///session connection; every guest still running at the end is destroyed."""
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    c = libvirt.open("qemu:///session")
    yield c
    if not c.isAlive():  # the test closed it: look again with a fresh one
        c = libvirt.open("qemu:///session")
    try:
        for d in c.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                d.destroy()
            except libvirt.libvirtError:
                pass
    finally:
        c.close()


#: The seed's QEMU example; {emulator}, {iso}, {img}, {net} and {net_source} get adapted by each test.
SEED_QEMU = """<domain type='qemu'>
  <name>QEmu-fedora-i686</name>
  <uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>
  <memory>219200</memory>
  <currentMemory>219200</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type arch='i686' machine='pc'>hvm</type>
    <boot dev='cdrom'/>
  </os>
  <devices>
    <emulator>{emulator}</emulator>
    <disk type='file' device='cdrom'>
      <source file='{iso}'/>
      <target dev='hdc'/>
      <readonly/>
    </disk>
    <disk type='file' device='disk'>
      <source file='{img}'/>
      <target dev='hda'/>
    </disk>
    <interface type='{net}'>
      {net_source}
    </interface>
    <graphics type='vnc' port='-1'/>
  </devices>
</domain>"""


def runtime_dir(xdg: Path) -> Path:
    return xdg / "run" / "guiapp" / "qemu"


def dom_dir(run: Path, name: str) -> Path:
    """The runtime directory (``<run>/<uuid hex>/``) of domain ``name``, found by its record; a path that does
    not exist when it has none."""
    import json
    for rec in run.glob("*/record.json"):
        try:
            if json.loads(rec.read_text()).get("name") == name:
                return rec.parent
        except (OSError, ValueError):
            continue
    return run / f"no-domain-{name}"


def guest_xml(name: str, kernel: str, initrd: str, *, cmdline: str = "", nics: str = "", extra: str = "",
              dtype: str = "qemu", memory_mib: int = 128, lifecycle: str = "", vcpus: str = "<vcpu>1</vcpu>") -> str:
    """The tiny guest's domain XML (serial console, ACPI, pvpanic)."""
    return f"""<domain type='{dtype}'>
  <name>{name}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  {vcpus}
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{CMDLINE} {cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  {lifecycle}
  <devices>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    {nics}
    <panic model='isa'/>
    {extra}
  </devices>
</domain>"""


def console_text(xdg: Path, name: str) -> str:
    try:
        return (dom_dir(runtime_dir(xdg), name) / "console.log").read_text(errors="replace")
    except OSError:
        return ""


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def wait_console(xdg: Path, name: str, marker: str = READY_MARKER, count: int = 1, timeout: float = 60) -> None:
    wait_for(lambda: console_text(xdg, name).count(marker) >= count, timeout,
             f"{marker!r} x{count} on the console of {name}; console so far:\n{console_text(xdg, name)[-2000:]}")


def wait_state(dom: libvirt.virDomain, state: int, timeout: float = 30) -> list:
    return wait_for(lambda: (lambda s: s if s[0] == state else None)(dom.state()), timeout,
                    f"{dom.name()} to reach state {state} (now {dom.state()})")  # type: ignore[return-value]


def type_on_console(dom: libvirt.virDomain, line: str, hold: float = 1.5) -> None:
    """Type a line on the guest's serial console (the pty reported in the live XML).

    QEMU notices a pty client within a second and only then reads what it typed,
    so the pty stays open (and drained, so the guest never stalls) for ``hold`` seconds.
    """
    import select

    from lxml import etree
    root = etree.fromstring(dom.XMLDesc().encode())
    tty = root.find("devices/serial").get("tty")
    fd = os.open(tty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        os.write(fd, line.encode() + b"\n")
        deadline = time.monotonic() + hold
        while (left := deadline - time.monotonic()) > 0:
            if select.select([fd], [], [], left)[0]:
                try:
                    os.read(fd, 4096)
                except OSError:
                    break
    finally:
        os.close(fd)
