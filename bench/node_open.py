#!/usr/bin/env python3
"""Opening a big test-driver node file (issue 16): what the GUI's first rows wait for.

For each size in ``--sizes`` (node files of that many domains, half running), each run
opens a fresh connection through ``guiapp.backend`` and times: ``open``,
``listAllDomains``, ``state()`` on every domain, ``info()`` on every domain, the first
``getAllDomainStats()`` (every group: running domains' device counters), a second one,
and ``XMLDesc`` on every domain (what makes every definition).  ``open + list + info``
is the sum of the first three rows the GUI's domain list needs.  Prints a table of
medians in ms (and ms per domain for ``open``).  With ``--libvirt`` Debian's
libvirt-python opens the same files once per run for a reference row.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api import table, timer  # noqa: E402
from bench.nodes import write_node_file  # noqa: E402

ROWS = ("open", "listAllDomains", "state() on all", "info() on all", "open + list + info",
        "getAllDomainStats (1st)", "getAllDomainStats (2nd)", "XMLDesc on all")


def one_run(lib: Any, uri: str) -> dict[str, float]:
    """Seconds per operation on a fresh connection."""
    times: dict[str, float] = {}
    timed = timer(times)

    conn = timed("open", lambda: lib.open(uri))
    doms = timed("listAllDomains", conn.listAllDomains)
    timed("state() on all", lambda: [d.state() for d in doms])
    timed("info() on all", lambda: [d.info() for d in doms])
    times["open + list + info"] = times["open"] + times["listAllDomains"] + times["info() on all"]
    timed("getAllDomainStats (1st)", conn.getAllDomainStats)
    timed("getAllDomainStats (2nd)", conn.getAllDomainStats)
    timed("XMLDesc on all", lambda: [d.XMLDesc(0) for d in doms])
    conn.close()
    return times


def libvirt_open(uri: str) -> Optional[float]:
    """Seconds for Debian's libvirt-python to open ``uri``, or None without it."""
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import libvirt  # type: ignore[import-not-found]
    except ImportError:
        return None
    gc.collect()
    t0 = time.perf_counter()
    conn = libvirt.open(uri)
    took = time.perf_counter() - t0
    conn.close()
    return took


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500,2000,5000", help="domain counts, comma-separated")
    ap.add_argument("--runs", type=int, default=3, help="runs per size (median reported; default 3)")
    ap.add_argument("--libvirt", action="store_true", help="also time libvirt-python's open of each file")
    ns = ap.parse_args(argv)
    sizes = [int(s) for s in ns.sizes.split(",")]
    if ns.runs < 1 or any(n < 1 for n in sizes):
        ap.error("--runs and every size must be at least 1")

    import guiapp.backend as guiapp

    guiapp.registerErrorHandler(lambda ctx, err: None, None)
    medians: dict[int, dict[str, float]] = {}
    ref_open: dict[int, Optional[float]] = {}
    with tempfile.TemporaryDirectory(prefix="guiapp-bench-") as tmp:
        for n in sizes:
            uri = write_node_file(Path(tmp) / f"node{n}.xml", n, running=0.5)
            runs = [one_run(guiapp, uri) for _ in range(ns.runs)]
            medians[n] = {row: statistics.median(r[row] for r in runs) for row in ROWS}
            if ns.libvirt:
                took = [libvirt_open(uri) for _ in range(ns.runs)]
                ref_open[n] = None if None in took else statistics.median(t for t in took if t is not None)

    print(f"guiapp test driver, node file of N domains (half running); median of {ns.runs} runs, ms; "
          f"guiapp from {Path(guiapp.__file__).parent.parent.parent}")
    head = ["operation"] + [f"N={n}" for n in sizes]
    rows = [[row] + [f"{medians[n][row] * 1e3:.1f}" for n in sizes] for row in ROWS]
    rows.append(["open, us per domain"] + [f"{medians[n]['open'] * 1e6 / n:.0f}" for n in sizes])
    if ns.libvirt:
        rows.append(["libvirt-python open"] + [f"{ref_open[n] * 1e3:.1f}" if ref_open[n] is not None else "-"
                                               for n in sizes])
    print(table([head] + rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
