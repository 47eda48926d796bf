#!/usr/bin/env python3
"""Cost of the config history on changes: a redefine and a CONFIG memory change, with and without the hook.

For each driver (``test:///default``; ``qemu:///session`` in a scratch XDG folder when QEMU is installed)
it times, alternating, ``--runs`` rounds of ``--calls`` calls through the public methods (history recorded)
and through the same methods unwrapped (``__wrapped__``: no history), and prints medians per call (ms) and
the ratio.  The QEMU rows include the atomic, fsync'd write of each version.  Always exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # not bench/ (its qemu.py would hide qemu.qmp)

import guiapp.backend as libvirt  # noqa: E402

XML = """<domain type='{t}'><name>bench-hist</name><uuid>{u}</uuid><memory unit='KiB'>{m}</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os></domain>"""


def one_round(conn: libvirt.virConnect, dtype: str, calls: int, hooked: bool) -> tuple[float, float]:
    """(ms per redefine, ms per setMemoryFlags CONFIG)."""
    u = str(uuidlib.uuid4())
    # defineXML calls defineXMLFlags: the unwrapped baseline must be defineXMLFlags' own body
    define = libvirt.virConnect.defineXMLFlags if hooked else libvirt.virConnect.defineXMLFlags.__wrapped__  # type: ignore
    setmem = (libvirt.virDomain.setMemoryFlags if hooked
              else libvirt.virDomain.setMemoryFlags.__wrapped__)  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    for i in range(calls):
        dom = define(conn, XML.format(t=dtype, u=u, m=65536 + i), 0)
    t1 = time.perf_counter()
    for i in range(calls):
        setmem(dom, 32768 + i, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    t2 = time.perf_counter()
    dom.undefine()
    return (t1 - t0) * 1000 / calls, (t2 - t1) * 1000 / calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=50)
    a = ap.parse_args()
    scratch = tempfile.mkdtemp(prefix="guiapp-bench-history-")
    os.environ.update(XDG_RUNTIME_DIR=f"{scratch}/run", XDG_CONFIG_HOME=f"{scratch}/cfg",
                      XDG_DATA_HOME=f"{scratch}/data", GUIAPP_HISTORY_MAX="100")
    os.makedirs(f"{scratch}/run")
    targets = [("test:///default", "test")]
    if shutil.which("qemu-system-x86_64"):
        targets.append(("qemu:///session", "qemu"))
    print(f"{'driver':<18}{'call':<22}{'no history ms':>15}{'history ms':>12}{'ratio':>8}")
    try:
        for uri, dtype in targets:
            conn = libvirt.open(uri)
            res: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
            for _ in range(a.runs):
                for hooked in (False, True):
                    res[hooked].append(one_round(conn, dtype, a.calls, hooked))
            for k, label in ((0, "defineXML (redefine)"), (1, "setMemoryFlags CONFIG")):
                base = statistics.median(r[k] for r in res[False])
                hist = statistics.median(r[k] for r in res[True])
                print(f"{uri:<18}{label:<22}{base:>15.2f}{hist:>12.2f}{hist / base:>8.2f}")
            conn.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
