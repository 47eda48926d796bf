"""Internal snapshot (memory + disk) of a running 256 MiB tiny guest, and revert: guiapp vs libvirt 9.0.

Both managers run the same guest (same kernel, initrd, 256 MiB, one qcow2 disk) under TCG in the same run:
guiapp's QEMU driver (``qemu:///session`` in private XDG dirs) and Debian's libvirtd (private, in its own
mount namespace: ``tests/helpers/libvirtd.py``; needs root) through python3-libvirt.  Each round times
``snapshotCreateXML`` and ``revertToSnapshot``; the table prints medians and guiapp/libvirt ratios.

    python3 bench/snapshots.py [--rounds 5] [--no-libvirt]

Where the time goes (profiled for issue 19): nearly all of a snapshot is QEMU's own save.  The first one
writes the ~70 MB vmstate once (~0.3-0.5 s here); every snapshot after a revert is several times slower
because the active qcow2 L1 table then shares the loaded snapshot's vmstate clusters, so the save
copies-on-write each of them (~1650 fdatasync calls under the qcow2 metadata cache's ordering rules).  HMP
``savevm`` (libvirt 9.0's way) costs the same; restarting QEMU on revert (libvirt 9.0's way) does not avoid
it.  guiapp's own overhead per call (lookups, metadata writes, QMP round trips) is ~0.1 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
# bench/ holds qemu.py: keep it off sys.path so that ``import qemu.qmp`` finds the library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from helpers.tinyguest import CMDLINE, build_tiny_guest  # noqa: E402

GOALS = {"snapshot": "<= 1x libvirt", "revert": "<= 1x libvirt"}
SETTLE = 5.0  # seconds after start before the first snapshot (the guest has booted under TCG by then)


def guest_xml(name: str, kernel: str, initrd: str, disk: Path) -> str:
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
      <cmdline>{CMDLINE}</cmdline></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
      <target dev='vda' bus='virtio'/></disk>
    <serial type='pty'/>
  </devices>
</domain>"""


def measure(mod: Any, uri: str, kernel: str, initrd: str, disk: Path, rounds: int) -> dict[str, float]:
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    os.chmod(disk, 0o666)
    conn = mod.open(uri)
    dom = conn.defineXML(guest_xml("benchsnap", kernel, initrd, disk))
    snaps, reverts = [], []
    try:
        dom.create()
        time.sleep(SETTLE)
        for i in range(rounds):
            t0 = time.perf_counter()
            snap = dom.snapshotCreateXML(f"<domainsnapshot><name>s{i}</name></domainsnapshot>", 0)
            t1 = time.perf_counter()
            dom.revertToSnapshot(snap, 0)
            t2 = time.perf_counter()
            snaps.append(t1 - t0)
            reverts.append(t2 - t1)
        for s in dom.listAllSnapshots(0):
            s.delete(0)
    finally:
        try:
            dom.destroy()
        except mod.libvirtError:
            pass
        dom.undefineFlags(getattr(mod, "VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA", 2))
        conn.close()
    return {"snapshot": statistics.median(snaps), "revert": statistics.median(reverts)}


def _load(name: str, rel: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, REPO / rel)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-libvirt", action="store_true", help="measure guiapp only")
    args = ap.parse_args()
    kernel, initrd = build_tiny_guest()
    with tempfile.TemporaryDirectory(prefix="guiapp-bench-snap-", dir="/tmp") as tmpname:
        tmp = Path(tmpname)
        os.chmod(tmp, 0o755)
        for src in (kernel, initrd):  # libvirt's QEMU runs as libvirt-qemu: world-readable copies for both
            shutil.copy(src, tmp)
        kernel, initrd = str(tmp / os.path.basename(kernel)), str(tmp / os.path.basename(initrd))
        os.environ["XDG_RUNTIME_DIR"] = str(tmp / "run")
        os.environ["XDG_CONFIG_HOME"] = str(tmp / "cfg")
        os.environ["GUIAPP_URI_ROUTE"] = "local"
        (tmp / "run").mkdir()
        import guiapp.backend as guiapp_lib
        g = measure(guiapp_lib, "qemu:///session", kernel, initrd, tmp / "guiapp.qcow2", args.rounds)
        lv: Optional[dict[str, float]] = None
        if not args.no_libvirt:
            lvd_mod = _load("bench_libvirtd", "tests/helpers/libvirtd.py")
            why = lvd_mod.usable()
            if why:
                print(f"libvirt baseline skipped: {why}", file=sys.stderr)
            else:
                sys.path.append("/usr/lib/python3/dist-packages")
                import libvirt  # Debian's python3-libvirt
                libvirt.registerErrorHandler(lambda *_: None, None)
                ldir = tmp / "libvirtd"
                ldir.mkdir(mode=0o755)
                lvd = lvd_mod.LibvirtDaemon(ldir, with_virtlogd=True).start()
                try:
                    lv = measure(libvirt, lvd.uri("qemu:///system"), kernel, initrd, tmp / "libvirt.qcow2",
                                 args.rounds)
                finally:
                    lvd.stop()
    print(f"\nInternal snapshot of a running 256 MiB guest (TCG): medians of {args.rounds} rounds")
    print(f"{'metric':<12}{'guiapp':>12}{'libvirt':>12}{'ratio':>9}   goal")
    for key in ("snapshot", "revert"):
        lvv = lv[key] if lv else None
        ratio = f"{g[key] / lvv:.2f}x" if lvv else "-"
        shown = f"{lvv * 1000:.0f} ms" if lvv else "-"
        print(f"{key:<12}{g[key] * 1000:>9.0f} ms{shown:>12}{ratio:>9}   {GOALS[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
