#!/usr/bin/env python3
"""Xen driver numbers against Debian's real oxenstored (with the test shim) and the fake xl.

Measured (medians of ``--runs``):

* ``probe()`` (what ``open(None)`` pays to find a XenStore; goal < 100 ms);
* one XenStore read through our guarded client vs. plain pyxs (the cost of the guards);
* ``openReadOnly(None)`` + ``lookupByName("Domain-0")`` + ``info()`` in a fresh process (the seed's example);
* with ``--domains`` guests running: ``listAllDomains()`` + ``info()`` on each, vs one ``getAllDomainStats()``;
* a domain's lifecycle: define+create, suspend, resume, destroy (fake xl: ~one Python start per xl call);
* idle CPU of the process while the @introduceDomain/@releaseDomain watcher runs.

Needs xen-utils-4.17 (oxenstored), gcc, and pytest installed (the fixtures live in tests/).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
XEN_TESTS = ROOT / "tests" / "backend" / "drivers" / "xen"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--domains", type=int, default=20)
    args = ap.parse_args()

    fixtures = _load("xen_fixtures", XEN_TESTS / "conftest.py")
    if fixtures.OXENSTORED is None:
        sys.exit("oxenstored not found: apt-get install xen-utils-4.17")
    work = Path(tempfile.mkdtemp(prefix="bench-xen-"))
    shim = work / "xs_shim.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(shim), str(fixtures.SHIM_SRC), "-ldl"], check=True)
    daemon = fixtures.XenStoreDaemon(fixtures.OXENSTORED, shim, work / "xenstored")
    daemon.start()
    rows: list[tuple[str, float, str]] = []
    try:
        daemon.populate_dom0()
        xl = work / "xl"
        xl.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fixtures.FAKE_XL}" "$@"\n')
        xl.chmod(0o755)
        os.environ.update(XENSTORED_PATH=daemon.socket, GUIAPP_XL=str(xl), FAKE_XL_STATE=str(work / "xl.json"),
                          GUIAPP_XEN_CONFIG_DIR=str(work / "config"), GUIAPP_XEN_STATE_DIR=str(work / "state"))
        os.environ.pop("LIBVIRT_DEFAULT_URI", None)

        import pyxs

        import guiapp.backend as libvirt
        from guiapp.backend.drivers.xen import DRIVER
        from guiapp.backend.drivers.xen.xsclient import XenStoreClient

        rows.append(("probe()", timed(DRIVER.probe, args.runs) * 1e3, "ms"))
        with XenStoreClient(daemon.socket) as c:
            rows.append(("XenStore read, guarded client", timed(lambda: c.read("/local/domain/0/name"),
                                                                  args.runs * 50) * 1e6, "us"))
        with pyxs.Client(unix_socket_path=daemon.socket) as p:
            rows.append(("XenStore read, plain pyxs", timed(lambda: p.read(b"/local/domain/0/name"),
                                                              args.runs * 50) * 1e6, "us"))

        example = ("import guiapp.backend as libvirt\nc = libvirt.openReadOnly(None)\n"
                   "d = c.lookupByName('Domain-0')\nprint(d.ID(), d.OSType(), d.info())\n")
        env = dict(os.environ, PYTHONPATH=str(ROOT))

        def seed_example() -> None:
            subprocess.run([sys.executable, "-c", example], env=env, check=True, capture_output=True)
        rows.append(("seed example, fresh process", timed(seed_example, max(3, args.runs // 4)) * 1e3, "ms"))

        conn = libvirt.open("xen:///")
        rows.append(("open + lookup Domain-0 + info() (in process)",
                     timed(lambda: libvirt.open("xen:///").lookupByName("Domain-0").info(), args.runs) * 1e3, "ms"))
        fc4 = _load("xen_seed", XEN_TESTS / "xen_seed.py").FC4
        for i in range(args.domains):
            conn.createXML(fc4.replace("<name>fc4</name>", f"<name>g{i}</name>"), 0)

        def list_and_info() -> None:
            for d in conn.listAllDomains(0):
                d.info()
        rows.append((f"listAllDomains + info() x{args.domains + 1}", timed(list_and_info, 3) * 1e3, "ms"))
        rows.append((f"getAllDomainStats ({args.domains + 1} domains)",
                     timed(lambda: conn.getAllDomainStats(), 5) * 1e3, "ms"))
        rows.append((f"listAllDomains ({args.domains + 1} domains, XenStore only)",
                     timed(lambda: conn.listAllDomains(0), 10) * 1e3, "ms"))

        cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda *a: None, None)
        cpu0, wall0 = time.process_time(), time.monotonic()
        time.sleep(3)
        rows.append(("idle CPU with the event watcher running", (time.process_time() - cpu0) /
                     (time.monotonic() - wall0) * 100, "%"))
        conn.domainEventDeregisterAny(cid)

        def lifecycle() -> None:
            d = conn.defineXML(fc4)
            d.create()
            d.suspend()
            d.resume()
            d.destroy()
            d.undefine()
        rows.append(("define+create+suspend+resume+destroy+undefine", timed(lifecycle, 3) * 1e3, "ms"))
        conn.close()
    finally:
        daemon.stop()

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'median':>10}")
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:>8.2f} {unit}")


if __name__ == "__main__":
    main()
