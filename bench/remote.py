#!/usr/bin/env python3
"""Remote driver numbers: guiapp's pure-Python RPC client against libvirt-python's C client.

Starts Debian's libvirtd privately (tests/helpers/libvirtd.py: own mount namespace, own sockets; needs
root), writes a ``--domains`` node file (half running) and, in each of ``--runs`` runs, opens a fresh
connection per library to ``test+unix:///NODE?socket=…`` on the same daemon socket and times: open,
listAllDomains, info() on all, XMLDesc on all, getAllDomainStats (the two short calls: median of 5 in a row).
Libraries alternate within each run.
Prints medians (ms) and the ratio guiapp/libvirt against the goal (≤ 1.5×).  Always exits 0.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import guiapp.backend as guiapp_lib  # noqa: E402
from guiapp.models.demo import write_node  # noqa: E402

GOAL = 1.5
OPS = ("open", "listAllDomains", "info() on all", "XMLDesc on all", "getAllDomainStats")


def load_fixture() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_libvirtd", ROOT / "tests" / "helpers" / "libvirtd.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_libvirt() -> ModuleType | None:
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import libvirt  # type: ignore[import-not-found]
    except ImportError:
        return None
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    return libvirt


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def repeated(fn: Callable[[], Any], times: int = 5) -> tuple[float, Any]:
    """A short operation: the median of ``times`` calls in a row (one call is a few ms: noise)."""
    results = [timed(fn) for _ in range(times)]
    return statistics.median(ms for ms, _ in results), results[-1][1]


def one_run(lib: ModuleType, uri: str) -> dict[str, float]:
    t: dict[str, float] = {}
    t["open"], conn = timed(lambda: lib.open(uri))
    t["listAllDomains"], doms = repeated(conn.listAllDomains)
    t["info() on all"], _ = timed(lambda: [d.info() for d in doms])
    t["XMLDesc on all"], _ = timed(lambda: [d.XMLDesc(0) for d in doms])
    t["getAllDomainStats"], stats = repeated(conn.getAllDomainStats)
    assert len(doms) == len(stats) > 0
    conn.close()
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domains", type=int, default=500)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    fixture = load_fixture()
    why = fixture.usable()
    if why:
        print(f"bench/remote.py: cannot run a private libvirtd here: {why}")
        return 0
    libvirt = load_libvirt()
    with tempfile.TemporaryDirectory(prefix="guiapp-bench-remote-") as tmp:
        node = write_node(Path(tmp) / "node.xml", args.domains)
        daemon = fixture.LibvirtDaemon(Path(tmp) / "libvirtd").start()
        try:
            uri = daemon.uri(node)
            libs = [("guiapp", guiapp_lib)] + ([("libvirt", libvirt)] if libvirt else [])
            for _name, lib in libs:  # warm up: imports, codec compilation, daemon caches
                one_run(lib, uri)
            results: dict[str, dict[str, list[float]]] = {n: {op: [] for op in OPS} for n, _ in libs}
            for _ in range(args.runs):
                for name, lib in libs:
                    for op, ms in one_run(lib, uri).items():
                        results[name][op].append(ms)
        finally:
            daemon.stop()
    print(f"Remote driver over libvirtd's unix socket, {args.domains} domains, median of {args.runs} runs (ms)")
    header = f"{'operation':<20} {'guiapp':>9} {'libvirt':>9} {'ratio':>7} {'goal':>6}"
    print(header)
    print("-" * len(header))
    for op in OPS:
        mine = statistics.median(results["guiapp"][op])
        if "libvirt" in results:
            theirs = statistics.median(results["libvirt"][op])
            ratio = mine / theirs if theirs else float("inf")
            verdict = "ok" if ratio <= GOAL else "MISSED"
            print(f"{op:<20} {mine:9.2f} {theirs:9.2f} {ratio:6.2f}x {'≤' + str(GOAL):>6} {verdict}")
        else:
            print(f"{op:<20} {mine:9.2f} {'-':>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
