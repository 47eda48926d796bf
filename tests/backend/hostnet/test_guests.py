"""Two tiny guests on the ``default`` network, inside a namespace: DHCP, DNS by name, ping (real QEMU, TCG)."""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
import time

import pytest
from helpers.tinyguest import CMDLINE, READY_MARKER, tiny_guest  # noqa: F401 - tiny_guest is a fixture

from guiapp.backend.hostnet import HostNetworks

QEMU = shutil.which("qemu-system-x86_64")

pytestmark = [pytest.mark.qemu, pytest.mark.slow,
              pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed")]


class Guest:
    """A tiny guest whose serial console is our stdin/stdout; a thread keeps reading it."""

    def __init__(self, kernel: str, initrd: str, fd: int, mac: str) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self.proc = subprocess.Popen(
            [QEMU, "-accel", "tcg", "-m", "128", "-nodefaults", "-no-user-config", "-display", "none",
             "-monitor", "none", "-serial", "stdio", "-no-reboot", "-kernel", kernel, "-initrd", initrd,
             "-append", CMDLINE, "-netdev", f"tap,id=n0,fd={fd},vhost=off",
             "-device", f"virtio-net-pci,netdev=n0,mac={mac}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(fd,),
            text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.log.append(line)
            self.lines.put(line)

    def expect(self, pattern: str, timeout: float = 40.0) -> re.Match:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} on the console; it said:\n{''.join(self.log[-30:])}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            m = rx.search(line)
            if m:
                return m

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def test_two_guests_get_leases_resolve_and_ping_each_other(netns, tmp_path, tiny_guest):  # noqa: F811
    kernel, initrd = tiny_guest
    mgr = HostNetworks(str(tmp_path / "run"), str(tmp_path / "etc"), netns=netns.host)
    assert mgr.autostart_all() == ["default"]
    bridge = mgr.bridge_for("default")
    guests: dict[str, Guest] = {}
    taps = []
    try:
        for name, mac in (("vma", "52:54:00:12:00:0a"), ("vmb", "52:54:00:12:00:0b")):
            tap, fd = mgr.create_tap(None, bridge, mac)
            taps.append(tap)
            try:
                guests[name] = Guest(kernel, initrd, fd, mac)
            finally:
                os.close(fd)  # qemu holds the tap now
        for g in guests.values():
            g.expect(READY_MARKER)
        for name, g in guests.items():
            g.send(f"udhcpc -q -n -t 15 -T 1 -i eth0 -x hostname:{name} -s /etc/udhcpc.script >/dev/null 2>&1")
        addr = {name: g.expect(r"GUIAPP-IP (\d+\.\d+\.\d+\.\d+)").group(1) for name, g in guests.items()}
        assert all(a.startswith("192.168.22.") for a in addr.values()) and addr["vma"] != addr["vmb"]
        leases = {r["hostname"]: r["ipaddr"] for r in mgr.leases(mgr.lookup_name("default"))}
        assert leases == addr
        for me, other in (("vma", "vmb"), ("vmb", "vma")):
            g = guests[me]
            g.send(f"nslookup {other} 192.168.22.1 | grep -q {addr[other]} && echo RESOLVED-{other}")
            g.expect(f"^RESOLVED-{other}")
            g.send(f"ping -c 1 -W 3 {addr[other]} >/dev/null && echo PINGED-{other}")
            g.expect(f"^PINGED-{other}")
        # destroy refuses while guests use the network
        mgr.users = lambda net: sorted(guests) if net == "default" else []
        with pytest.raises(Exception, match="still in use"):
            mgr.destroy(mgr.lookup_name("default"))
    finally:
        for g in guests.values():
            g.kill()
        for tap in taps:
            mgr.delete_tap(tap)
    mgr.users = lambda net: []
    mgr.destroy(mgr.lookup_name("default"))
    out = subprocess.run(["ip", "-n", netns.host, "-o", "link"], capture_output=True, text=True).stdout
    assert bridge not in out and "vnet" not in out
