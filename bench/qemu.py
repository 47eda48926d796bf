#!/usr/bin/env python3
"""Benchmark guiapp's QEMU driver against Debian's libvirt on the same guest XML.

Measures (medians over ``--rounds``):

* start: defineXML + create() until the API reports the domain running;
* acpi-shutdown: shutdown() of a booted guest (its acpid running) until the API reports shut off;
* kill-9: SIGKILL of the QEMU process until the API reports shut off;
* bulk-stats: one getAllDomainStats() call with ``--guests`` guests running;
* memory/guest: growth of the manager's RSS per running guest (guiapp: this process;
  libvirt: libvirtd), i.e. the manager's own overhead, not QEMU's.

libvirt runs as ``qemu:///system`` with its own daemons (virtlogd, libvirtd), started
here and stopped by pid afterwards (root only; ``--no-libvirt`` skips it).  The guest is
the tiny Linux of ``tests/helpers/tinyguest.py`` booted with TCG.

Usage: python3 bench/qemu.py [--rounds 5] [--guests 10] [--no-libvirt]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

REPO = Path(__file__).resolve().parents[1]
# this file is named qemu.py: keep its directory off sys.path so that ``import qemu.qmp`` finds the library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from helpers.tinyguest import CMDLINE, READY_MARKER, build_tiny_guest  # noqa: E402

GOALS = {"start": "<= 0.5x libvirt", "kill-9": "<= 1 s", "bulk-stats": "<= 5 ms (10 guests)",
         "memory/guest": "<= 1 MiB"}


def guest_xml(name: str, kernel: str, initrd: str, console: str) -> str:
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
      <cmdline>{CMDLINE}</cmdline></os>
  <features><acpi/></features>
  <devices>{console}</devices>
</domain>"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.002) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


def read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


class Subject:
    """One manager under test: how to open it, where a guest's console log and pid are."""

    name = ""
    mod: Any = None
    uri = ""

    def console(self, name: str) -> str:
        raise NotImplementedError

    def log_path(self, name: str) -> str:
        raise NotImplementedError

    def qemu_pid(self, name: str) -> int:
        raise NotImplementedError

    def manager_pid(self) -> int:
        raise NotImplementedError


class Guiapp(Subject):
    name = "guiapp"

    def __init__(self, tmp: Path) -> None:
        os.environ["XDG_RUNTIME_DIR"] = str(tmp / "run")
        os.environ["XDG_CONFIG_HOME"] = str(tmp / "cfg")
        (tmp / "run").mkdir()
        import guiapp.backend as mod
        self.mod = mod
        self.uri = "qemu:///session"
        self.run = tmp / "run" / "guiapp" / "qemu"

    def console(self, name: str) -> str:
        return "<serial type='pty'/>"

    def log_path(self, name: str) -> str:
        return str(self.run / f"{name}.console.log")

    def qemu_pid(self, name: str) -> int:
        return int((self.run / f"{name}.pid").read_text())

    def manager_pid(self) -> int:
        return os.getpid()


class Libvirt(Subject):
    name = "libvirt"

    def __init__(self, tmp: Path) -> None:
        sys.path.append("/usr/lib/python3/dist-packages")
        import libvirt as mod  # Debian's python3-libvirt
        self.mod = mod
        mod.registerErrorHandler(lambda ctx, err: None, None)
        self.uri = "qemu:///system"
        self.tmp = tmp
        self.pids: list[int] = []

    @contextlib.contextmanager
    def daemons(self) -> Iterator[None]:
        """virtlogd + libvirtd for the run (FACTS.md: user libvirt-qemu, /var/log/libvirt)."""
        os.makedirs("/var/log/libvirt", exist_ok=True)
        for group in ("kvm", "libvirt-qemu"):  # Debian's qemu.conf defaults: user and group libvirt-qemu
            if subprocess.run(["getent", "group", group], capture_output=True).returncode != 0:
                subprocess.run(["groupadd", "-r", group], check=True)
        if subprocess.run(["id", "libvirt-qemu"], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "-r", "-g", "kvm", "libvirt-qemu"], check=True)
        before = set(self._pids_of("virtlogd") + self._pids_of("libvirtd"))
        if not self._pids_of("virtlogd"):
            subprocess.run(["virtlogd", "-d"], check=True)
        if not self._pids_of("libvirtd"):
            subprocess.run(["libvirtd", "-d"], check=True)
        self.pids = [p for p in self._pids_of("virtlogd") + self._pids_of("libvirtd") if p not in before]
        wait(lambda: os.path.exists("/run/libvirt/libvirt-sock"), 20, "libvirtd's socket", 0.05)
        try:
            yield
        finally:
            for pid in self.pids:  # only what we started, by pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    @staticmethod
    def _pids_of(exe: str) -> list[int]:
        out = []
        for e in os.listdir("/proc"):
            if e.isdigit():
                with contextlib.suppress(OSError):
                    if os.path.basename(os.readlink(f"/proc/{e}/exe")) == exe:
                        out.append(int(e))
        return out

    def console(self, name: str) -> str:
        return f"<serial type='file'><source path='{self.log_path(name)}'/></serial>"

    def log_path(self, name: str) -> str:
        return str(self.tmp / f"{name}.console.log")

    def qemu_pid(self, name: str) -> int:
        return int(Path(f"/run/libvirt/qemu/{name}.pid").read_text())

    def manager_pid(self) -> int:
        return self._pids_of("libvirtd")[0]


RUNNING, SHUTOFF = 1, 5


def one_round(conn: Any, subject: Subject, name: str, kernel: str, initrd: str) -> dict[str, float]:
    """start, ACPI shutdown and kill -9 timings for one guest."""
    out = {}
    xml = guest_xml(name, kernel, initrd, subject.console(name))
    t0 = time.perf_counter()
    dom = conn.defineXML(xml)
    dom.create()
    wait(lambda: dom.state()[0] == RUNNING, 30, "running")
    out["start"] = time.perf_counter() - t0
    wait(lambda: READY_MARKER in read(subject.log_path(name)), 60, "the guest to boot", 0.05)
    t0 = time.perf_counter()
    dom.shutdown()
    wait(lambda: dom.state()[0] == SHUTOFF, 60, "ACPI shutdown")
    out["acpi-shutdown"] = time.perf_counter() - t0
    dom.create()
    wait(lambda: dom.state()[0] == RUNNING, 30, "running")
    pid = subject.qemu_pid(name)
    t0 = time.perf_counter()
    os.kill(pid, signal.SIGKILL)
    wait(lambda: dom.state()[0] == SHUTOFF, 30, "kill -9 to be noticed", 0.001)
    out["kill-9"] = time.perf_counter() - t0
    dom.undefine()
    return out


def measure(subject: Subject, kernel: str, initrd: str, rounds: int, guests: int) -> dict[str, float]:
    lv = subject.mod
    conn = lv.open(subject.uri)
    results: dict[str, list[float]] = {"start": [], "acpi-shutdown": [], "kill-9": []}
    try:
        for r in range(rounds):
            for key, value in one_round(conn, subject, f"bench-{subject.name}-{r}", kernel, initrd).items():
                results[key].append(value)
        # many guests: bulk stats and the manager's memory per guest
        mgr = subject.manager_pid()
        rss0 = rss_kib(mgr)
        doms = []
        for i in range(guests):
            name = f"bench-{subject.name}-many-{i}"
            doms.append(conn.createXML(guest_xml(name, kernel, initrd, subject.console(name)), 0))
        time.sleep(2)
        conn.getAllDomainStats()
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            rows = conn.getAllDomainStats()
            times.append(time.perf_counter() - t0)
        assert len(rows) >= guests, rows
        rss1 = rss_kib(mgr)
        for d in doms:
            d.destroy()
    finally:
        conn.close()
    out = {k: statistics.median(v) for k, v in results.items()}
    out["bulk-stats"] = statistics.median(times)
    out["memory/guest"] = max(0, rss1 - rss0) / guests / 1024  # MiB
    return out


def fmt(key: str, value: Optional[float]) -> str:
    if value is None:
        return "-"
    if key == "memory/guest":
        return f"{value:.2f} MiB"
    if value < 0.01:
        return f"{value * 1000:.3f} ms"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--guests", type=int, default=10)
    ap.add_argument("--no-libvirt", action="store_true", help="measure guiapp only")
    args = ap.parse_args()
    kernel, initrd = build_tiny_guest()
    with tempfile.TemporaryDirectory(prefix="guiapp-bench-") as tmpname:
        tmp = Path(tmpname)
        os.chmod(tmp, 0o755)
        # libvirt's QEMU runs as libvirt-qemu: give both managers the same world-readable copies
        for src in (kernel, initrd):
            shutil.copy(src, tmp)
        kernel, initrd = str(tmp / os.path.basename(kernel)), str(tmp / os.path.basename(initrd))
        gdir = tmp / "guiapp"
        gdir.mkdir()
        g = measure(Guiapp(gdir), kernel, initrd, args.rounds, args.guests)
        lvres: Optional[dict[str, float]] = None
        if not args.no_libvirt:
            if os.geteuid() != 0 or shutil.which("libvirtd") is None:
                print("libvirt baseline skipped: needs root and libvirtd (apt-get install libvirt-daemon "
                      "libvirt-daemon-driver-qemu python3-libvirt)", file=sys.stderr)
            else:
                ldir = tmp / "libvirt"
                ldir.mkdir(mode=0o777)
                os.chmod(ldir, 0o777)
                subj = Libvirt(ldir)
                with subj.daemons():
                    lvres = measure(subj, kernel, initrd, args.rounds, args.guests)
    print(f"\nQEMU driver benchmark: medians of {args.rounds} rounds, {args.guests} guests for stats/memory")
    print(f"{'metric':<15}{'guiapp':>12}{'libvirt':>12}{'ratio':>9}   goal")
    for key in ("start", "acpi-shutdown", "kill-9", "bulk-stats", "memory/guest"):
        gv = g[key]
        lvv = lvres[key] if lvres else None
        ratio = f"{gv / lvv:.2f}x" if lvv else "-"
        print(f"{key:<15}{fmt(key, gv):>12}{fmt(key, lvv):>12}{ratio:>9}   {GOALS.get(key, '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
