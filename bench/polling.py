"""Polling real guests: guiapp client → guiappd against libvirt-python → libvirtd, same guests, same run.

``--guests`` idle tiny TCG guests (128 MiB, a virtio disk, a virtio balloon, serial console) are started
under a private guiappd (``qemu:///session`` in a scratch XDG tree) and, one side after the other, under a
private Debian libvirtd (``qemu:///system`` in its own mount namespace, ``tests/helpers/libvirtd.py``).  A
client process polls ``getAllDomainStats()`` once a second — what guiapp's stats model asks each tick —
for ``--seconds``; the table shows the CPU (utime+stime from /proc, % of one core) of the client, of the
daemon (guiappd / libvirtd) and their sum, medians over ``--runs`` windows; goal: guiapp's sum ≤ 1× libvirt's.
The guests' own QEMU processes are not counted (same guests on both sides).  Then guiappd stops (the guests
keep running) and two daemonless rows follow: a guiapp client in-process (``?route=local``) that takes the
guests' monitors itself (as a GUI does when no daemon runs), and one that polls while another process (a
second GUI, not polling) owns the monitors — the case that used to open two QMP connections per guest per
tick; its row counts both processes.  Needs root, qemu-system-x86_64, python3-libvirt::

    python3 bench/polling.py [--guests 10] [--seconds 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api import load_libvirt, table  # noqa: E402

GOAL_RATIO = 1.0
DIST_PACKAGES = "/usr/lib/python3/dist-packages"

GUEST = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline></os>
  <features><acpi/></features>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{disk}'/>
      <target dev='vda' bus='virtio'/></disk>
    <serial type='pty'/><console type='pty'/>
    <memballoon model='virtio'/></devices>
</domain>"""

#: a second daemonless process that opens the connection (taking the guests' monitors) and only waits
HOLDER = """
import sys, time
import guiapp.backend as lib
c = lib.open(sys.argv[1])
time.sleep(2)  # its worker has attached to every guest
print(len(c.listAllDomains()), flush=True)
time.sleep(100000)
"""

#: destroy and undefine every guest (a subprocess: this script's folder has a bench/qemu.py shadowing ``qemu``)
CLEANUP = """
import sys
import guiapp.backend as lib
with lib.open(sys.argv[1]) as c:
    for d in c.listAllDomains():
        if d.isActive():
            d.destroy()
        d.undefine()
"""

#: the client: poll getAllDomainStats() every second, print the domain count once, run until killed
POLLER = """
import sys, time
{imports}
c = lib.open(sys.argv[1])
print(len(c.getAllDomainStats()), flush=True)
while True:
    time.sleep(1.0)
    c.getAllDomainStats()
"""


def _load(name: str, rel: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / rel)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def guest_files(base: Path, guests: int) -> tuple[str, str, list[str]]:
    """Kernel, initrd and one 16 MiB raw disk per guest, readable by libvirtd's qemu user."""
    tinyguest = _load("bench_tinyguest", "tests/helpers/tinyguest.py")
    kernel, initrd = tinyguest.build_tiny_guest()
    d = base / "files"
    d.mkdir()
    os.chmod(base, 0o755)
    os.chmod(d, 0o777)
    out = []
    for src in (kernel, initrd):
        dst = d / os.path.basename(src)
        shutil.copy(src, dst)
        os.chmod(dst, 0o644)
        out.append(str(dst))
    disks = []
    for i in range(guests):
        p = d / f"disk{i}.img"
        with open(p, "wb") as f:
            f.truncate(16 << 20)
        os.chmod(p, 0o666)
        disks.append(str(p))
    return out[0], out[1], disks


def start_guests(conn: Any, kernel: str, initrd: str, disks: list[str], prefix: str) -> None:
    for i, disk in enumerate(disks):
        conn.defineXML(GUEST.format(name=f"{prefix}{i}", kernel=kernel, initrd=initrd, disk=disk)).create()


def stop_guests(conn: Any) -> None:
    for d in conn.listAllDomains():
        try:
            if d.isActive():
                d.destroy()
            d.undefine()
        except Exception as exc:  # keep cleaning up the others
            print(f"cleanup of {d.name()}: {exc}", file=sys.stderr)


def start_holder(uri: str, env: dict[str, str], expect: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, uri], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != str(expect):
        proc.kill()
        raise RuntimeError("the holder process did not see the guests")
    return proc


def measure(poller_argv: list[str], env: dict[str, str], daemon_pid: Optional[int], seconds: float,
            runs: int, expect: int) -> tuple[float, float]:
    """Median CPU % of one core of (client, daemon — or any other process given) over ``runs`` windows."""
    proc = subprocess.Popen(poller_argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        if first != str(expect):
            raise RuntimeError(f"the poller saw {first!r} domains, not {expect}: {proc.stderr.read()[-2000:]}"
                               if proc.poll() is not None else f"the poller saw {first!r} domains, not {expect}")
        time.sleep(3)  # past the first ticks (connections, caches)
        client, daemon = [], []
        for _ in range(runs):
            c0 = cpu_seconds(proc.pid)
            d0 = cpu_seconds(daemon_pid) if daemon_pid else 0.0
            t0 = time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - t0
            client.append(100 * (cpu_seconds(proc.pid) - c0) / wall)
            daemon.append(100 * ((cpu_seconds(daemon_pid) - d0) if daemon_pid else 0.0) / wall)
        return statistics.median(client), statistics.median(daemon)
    finally:
        proc.kill()
        proc.wait(10)


def idle_daemon_cpu(pid: int, seconds: float) -> float:
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def wait_running(conn: Any, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while sum(1 for d in conn.listAllDomains() if d.isActive()) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("the guests did not all start")
        time.sleep(0.5)
    time.sleep(15)  # let them boot to idle (TCG: ~3 s each, 10 at once ~17 s on 2 cores)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--guests", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    if os.geteuid() != 0 or not shutil.which("qemu-system-x86_64"):
        print("needs root and qemu-system-x86_64", file=sys.stderr)
        return 2
    libvirt = load_libvirt()
    lvd_mod = _load("bench_libvirtd", "tests/helpers/libvirtd.py")
    gd_mod = _load("bench_daemonlib", "tests/daemon/daemonlib.py")
    base = Path(tempfile.mkdtemp(prefix="guiapp-bench-polling-", dir="/var/tmp"))
    kernel, initrd, disks = guest_files(base, args.guests)
    rows: list[list[str]] = []
    results: dict[str, tuple[float, float]] = {}
    guiapp_env = dict(os.environ, PYTHONPATH=str(ROOT))
    lv_env = dict(os.environ, PYTHONPATH=DIST_PACKAGES)
    mine_poller = [sys.executable, "-c", POLLER.format(imports="import guiapp.backend as lib")]
    lv_poller = [sys.executable, "-c", POLLER.format(imports="import libvirt as lib")]
    cleanups: list[Callable[[], None]] = []
    try:
        # ---- guiapp: a session guiappd owning the guests' monitors
        gd = gd_mod.Guiappd(base / "guiappd", ["qemu:///session"], session=True).start()
        cleanups.append(gd.stop)
        uri = f"qemu+unix:///session?socket={gd.rw}"
        import guiapp.backend as gl

        conn = gl.open(uri)
        cleanups.insert(0, lambda: stop_guests(conn))
        start_guests(conn, kernel, initrd, disks, "poll-mine-")
        wait_running(conn, args.guests)
        idle = idle_daemon_cpu(gd.pid, min(args.seconds, 10))
        results["guiappd"] = measure(mine_poller + [uri], dict(guiapp_env), gd.pid, args.seconds, args.runs,
                                     args.guests)
        local_env = dict(guiapp_env, **{k: v for k, v in gd.env.items() if k.startswith("XDG_")})
        conn.close()
        cleanups.pop(0)
        gd.stop()  # the guests keep running: the daemonless rows use them
        cleanups.remove(gd.stop)
        local_uri = "qemu:///session?route=local"
        results["local"] = measure(mine_poller + [local_uri], local_env, None, args.seconds, args.runs, args.guests)
        holder = start_holder(local_uri, local_env, args.guests)
        try:
            results["nonowner"] = measure(mine_poller + [local_uri], local_env, holder.pid, args.seconds, args.runs,
                                          args.guests)
        finally:
            holder.kill()
            holder.wait(10)
        subprocess.run([sys.executable, "-c", CLEANUP, local_uri], env=local_env, check=True, timeout=120)
        # ---- libvirt: a private libvirtd
        lvd = lvd_mod.LibvirtDaemon(base / "libvirtd", with_virtlogd=True).start()
        cleanups.append(lvd.stop)
        luri = lvd.uri("qemu:///system")
        lconn = libvirt.open(luri)
        cleanups.insert(0, lambda: stop_guests(lconn))
        start_guests(lconn, kernel, initrd, disks, "poll-lv-")
        wait_running(lconn, args.guests)
        lv_idle = idle_daemon_cpu(lvd.pid, min(args.seconds, 10))
        results["libvirtd"] = measure(lv_poller + [luri], lv_env, lvd.pid, args.seconds, args.runs, args.guests)
    finally:
        for fn in cleanups:
            try:
                fn()
            except Exception as exc:
                print(f"cleanup: {exc}", file=sys.stderr)
        tinyguest = sys.modules["bench_tinyguest"]
        for pid in tinyguest.qemu_processes_under(str(base)):  # whatever a failure left running
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
    ref = sum(results["libvirtd"])
    for label, key, idle_cpu in (("libvirt-python → libvirtd (baseline)", "libvirtd", lv_idle),
                                 ("guiapp → guiappd", "guiappd", idle),
                                 ("no daemon: guiapp in-process, owning the monitors", "local", None),
                                 ("no daemon: polling while another process owns them (+ its CPU)", "nonowner",
                                  None)):
        client, daemon = results[key]
        total = client + daemon
        rows.append([label, f"{client:.2f}", f"{daemon:.2f}" if key != "local" else "-",
                     f"{idle_cpu:.2f}" if idle_cpu is not None else "-", f"{total:.2f}", f"{total / ref:.2f}x"])
    print(f"\n{args.guests} idle tiny TCG guests, getAllDomainStats() every second, {args.runs} x {args.seconds:g} s "
          f"windows (medians), CPU in % of one core; load average {os.getloadavg()[0]:.1f}")
    print(table([["side", "client", "daemon", "daemon idle", "client+daemon", "vs libvirt"], *rows]))
    ratio = sum(results["guiappd"]) / ref
    tick = 100 / os.sysconf("SC_CLK_TCK") / args.seconds  # one clock tick of CPU over a window, in %
    print(f"goal: guiapp → guiappd ≤ {GOAL_RATIO:g}x libvirt's client+daemon: "
          f"{'met' if ratio <= GOAL_RATIO + 1e-9 else 'NOT met'} ({ratio:.2f}x; resolution {tick:.2f} % per window)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
