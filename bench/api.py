#!/usr/bin/env python3
"""API numbers: guiapp.backend against Debian's libvirt-python on the same test-driver node.

On a node file of ``--domains`` domains (half running) and ``--defines`` fresh
definitions, each run opens a fresh connection per library and times:
open, listAllDomains, info() on every domain, XMLDesc() on every domain,
``--lookups`` x lookupByName, one getAllDomainStats (all groups: libvirt's test
driver fills only state.*, guiapp's ~28 keys per running domain), one restricted
to VIR_DOMAIN_STATS_STATE (like for like), ``--defines`` x defineXML.
Libraries alternate within each run.  Prints a plain-text table of medians
(ms) and, where python3-libvirt is importable, the ratio guiapp/libvirt next
to the goal.  ``--profile OP`` runs cProfile on one guiapp operation instead.
Always exits 0 (a missed goal is a number to report, not a crash).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.nodes import fresh_definitions, write_node_file  # noqa: E402

DEBIAN_LIBVIRT = "/usr/lib/python3/dist-packages"
_STATS_STATE = 1  # VIR_DOMAIN_STATS_STATE: the only group libvirt's test driver fills, for a like-for-like row

# operation -> goal for guiapp/libvirt (None: measured, no goal)
GOALS: dict[str, Optional[float]] = {
    "open": None,
    "listAllDomains": 2.0,
    "info() on all": 3.0,
    "XMLDesc on all": 1.0,
    "lookupByName x N": None,
    "getAllDomainStats": 3.0,
    "getAllDomainStats(STATE)": None,
    "defineXML x N": 1.0,
}


def load_libvirt() -> Optional[ModuleType]:
    """Debian's libvirt-python, or None when it is not installed."""
    if DEBIAN_LIBVIRT not in sys.path:
        sys.path.append(DEBIAN_LIBVIRT)
    try:
        import libvirt  # type: ignore[import-not-found]
    except ImportError:
        return None
    return libvirt


def timer(times: dict[str, float]) -> Callable[[str, Callable[[], Any]], Any]:
    """``timed(label, fn)``: run ``fn`` after a full collection, put its seconds in ``times[label]``."""
    def timed(label: str, fn: Callable[[], Any]) -> Any:
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times[label] = time.perf_counter() - t0
        return result
    return timed


def one_run(lib: ModuleType, uri: str, names: list[str], xmls: list[str]) -> dict[str, float]:
    """Time every operation once on a fresh connection; seconds per operation."""
    times: dict[str, float] = {}
    timed = timer(times)

    conn = timed("open", lambda: lib.open(uri))
    doms = timed("listAllDomains", conn.listAllDomains)
    timed("info() on all", lambda: [d.info() for d in doms])
    timed("XMLDesc on all", lambda: [d.XMLDesc(0) for d in doms])
    lookup = conn.lookupByName
    timed("lookupByName x N", lambda: [lookup(n) for n in names])
    timed("getAllDomainStats", conn.getAllDomainStats)
    timed("getAllDomainStats(STATE)", lambda: conn.getAllDomainStats(_STATS_STATE))
    define = conn.defineXML
    timed("defineXML x N", lambda: [define(x) for x in xmls])
    conn.close()
    return times


def check_results(lib: ModuleType, uri: str, count: int, xmls: list[str]) -> None:
    """Fail loudly if a library does not see the node as expected (numbers would be meaningless)."""
    conn = lib.open(uri)
    try:
        doms = conn.listAllDomains()
        if len(doms) != count:
            raise SystemExit(f"{lib.__name__}: {len(doms)} domains listed, expected {count}")
        if xmls:
            conn.defineXML(xmls[0])
    finally:
        conn.close()


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.1f}"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        cells = zip(r, widths, strict=True)
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def report(results: dict[str, list[dict[str, float]]], have_libvirt: bool) -> str:
    header = ["operation", "guiapp ms"]
    if have_libvirt:
        header += ["libvirt ms", "ratio", "goal", "met"]
    rows = [header]
    for op, goal in GOALS.items():
        g = statistics.median(r[op] for r in results["guiapp"])
        row = [op, fmt_ms(g)]
        if have_libvirt:
            lv = statistics.median(r[op] for r in results["libvirt"])
            ratio = g / lv if lv > 0 else float("inf")
            row += [fmt_ms(lv), f"{ratio:.2f}", f"<= {goal:g}x" if goal else "-",
                    ("yes" if ratio <= goal else "NO") if goal else "-"]
        rows.append(row)
    return table(rows)


def profile(op: str, uri: str, names: list[str], xmls: list[str], top: int) -> str:
    """cProfile one guiapp operation (after the steps it needs); the top ``top`` entries by own time."""
    import guiapp.backend as guiapp

    steps: dict[str, Callable[[Any, list[Any]], Any]] = {
        "open": lambda c, d: guiapp.open(uri),
        "listAllDomains": lambda c, d: c.listAllDomains(),
        "info() on all": lambda c, d: [x.info() for x in d],
        "XMLDesc on all": lambda c, d: [x.XMLDesc(0) for x in d],
        "lookupByName x N": lambda c, d: [c.lookupByName(n) for n in names],
        "getAllDomainStats": lambda c, d: c.getAllDomainStats(),
        "getAllDomainStats(STATE)": lambda c, d: c.getAllDomainStats(_STATS_STATE),
        "defineXML x N": lambda c, d: [c.defineXML(x) for x in xmls],
    }
    if op not in steps:
        raise SystemExit(f"--profile: unknown operation '{op}'; choose from: {', '.join(steps)}")
    conn = guiapp.open(uri)
    doms = conn.listAllDomains()
    prof = cProfile.Profile()
    prof.enable()
    steps[op](conn, doms)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="runs per library (median reported; default 7)")
    ap.add_argument("--domains", type=int, default=500, help="domains in the node file (default 500)")
    ap.add_argument("--defines", type=int, default=1000, help="fresh definitions for defineXML (default 1000)")
    ap.add_argument("--lookups", type=int, default=1000, help="lookupByName calls (default 1000)")
    ap.add_argument("--no-libvirt", action="store_true", help="measure guiapp only")
    ap.add_argument("--profile", metavar="OP", help="cProfile one guiapp operation instead (e.g. 'XMLDesc on all')")
    ap.add_argument("--top", type=int, default=25, help="profile entries to print (default 25)")
    ns = ap.parse_args(argv)
    for opt in ("runs", "domains", "defines", "lookups"):
        if getattr(ns, opt) < 1:
            ap.error(f"--{opt} must be at least 1")

    import guiapp.backend as guiapp

    libs: dict[str, ModuleType] = {"guiapp": guiapp}
    libvirt = None if ns.no_libvirt else load_libvirt()
    if libvirt is not None:
        libs["libvirt"] = libvirt
    for lib in libs.values():
        lib.registerErrorHandler(lambda ctx, err: None, None)

    with tempfile.TemporaryDirectory(prefix="guiapp-bench-") as tmp:
        uri = write_node_file(Path(tmp) / "node.xml", ns.domains, running=0.5)
        names = [f"vm-{i % ns.domains:03d}" for i in range(ns.lookups)]
        xmls = fresh_definitions(ns.defines)
        if ns.profile:
            print(profile(ns.profile, uri, names, xmls, ns.top))
            return 0
        for lib in libs.values():
            check_results(lib, uri, ns.domains, xmls)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in libs}
        for _ in range(ns.runs):
            for name, lib in libs.items():
                results[name].append(one_run(lib, uri, names, xmls))

    print(f"guiapp API vs libvirt-python, test driver: {ns.domains} domains (half running), "
          f"{ns.lookups} lookups, {ns.defines} definitions; median of {ns.runs} runs")
    if libvirt is None:
        print("(python3-libvirt not importable: guiapp numbers only)")
    else:
        print(f"libvirt-python {libvirt.getVersion() // 1_000_000}.{libvirt.getVersion() // 1000 % 1000}"
              f" from {Path(libvirt.__file__).parent}")
    print(report(results, libvirt is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
