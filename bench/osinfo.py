"""osinfo-db in guiapp against libosinfo's C tools: loading the OS list, searching, identifying an ISO.

    python3 bench/osinfo.py [--runs 5]

Prints medians (ms). Baselines in the same run: ``osinfo-query os`` (libosinfo loads the
whole database and prints it) and ``osinfo-detect`` (libosinfo loads it and matches one ISO),
both whole processes; guiapp's rows are in-process, plus a ``python3 -c`` row that pays the
interpreter start like the C tools do. The wizard row is the New-VM wizard's construction
(offscreen Qt), which must not include the load: the OS list is read on a worker when first needed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from guiapp.backend.osinfo import OsInfoDb, detect_iso  # noqa: E402


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from helpers.isomaker import make_iso
    with tempfile.TemporaryDirectory() as tmp:
        iso = str(make_iso(Path(tmp) / "d.iso", "Debian 11.5.0 amd64 n"))
        warm = OsInfoDb()
        warm.oses()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        rows = [
            ("libosinfo: osinfo-query os (process)",
             median_ms(lambda: subprocess.run(["osinfo-query", "os"], capture_output=True, check=True), args.runs)),
            ("guiapp: load OS list (python3 -c, process)",
             median_ms(lambda: subprocess.run([sys.executable, "-c", "from guiapp.backend.osinfo import OsInfoDb;"
                                               "OsInfoDb().oses()"], env=env, check=True), args.runs)),
            ("guiapp: load OS list (in process, cold)", median_ms(lambda: OsInfoDb().oses(), args.runs)),
            ("guiapp: search 'debian' (loaded)", median_ms(lambda: warm.search("debian"), args.runs)),
            ("libosinfo: osinfo-detect ISO (process)",
             median_ms(lambda: subprocess.run(["osinfo-detect", iso], capture_output=True, check=True), args.runs)),
            ("guiapp: detect ISO (loaded)", median_ms(lambda: detect_iso(warm, iso), args.runs)),
        ]
        rows += wizard_rows(args.runs)
    base = rows[0][1]
    print(f"{'operation':48} {'median ms':>10} {'/ osinfo-query':>15}")
    for name, ms in rows:
        print(f"{name:48} {ms:10.1f} {ms / base:15.2f}")


def wizard_rows(runs: int) -> list[tuple[str, float]]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtWidgets import QApplication

        import guiapp.backend as libvirt
        from guiapp.jobs import JobRunner
        from guiapp.views.wizard import NewVMWizard
    except ImportError:
        return []
    app = QApplication.instance() or QApplication([])
    conn = libvirt.open("test:///default")
    runner = JobRunner()

    def build() -> None:
        w = NewVMWizard({"test:///default": conn}, runner, uri="test:///default")
        w.deleteLater()
        app.processEvents()

    out = [("guiapp: New-VM wizard construction", median_ms(build, runs))]
    conn.close()
    return out


if __name__ == "__main__":
    main()
