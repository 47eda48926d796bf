#!/usr/bin/env python3
"""Storage numbers: a dir pool of ``--volumes`` volumes (half qcow2, some with backing files, half sparse raw).

On a private ``qemu:///session`` (its config, runtime and data directories in a
scratch folder) each run times:

* cold: a fresh connection, then ``refresh()`` + ``listAllVolumes()`` + ``info()`` on every volume
  (the goal of issue 18: <= 1 s for 2000 volumes);
* warm: the same on the already open connection (headers cached by inode/size/mtime);
* baseline: ``qemu-img info --output=json`` per volume (what asking qemu-img about each file
  costs), measured on ``--sample`` volumes and scaled to all of them; the ratio column is
  baseline / guiapp;
* GUI: the Storage window (Qt offscreen, interpreter tuned and heap frozen as ``guiapp``'s main()
  does) selecting the pool: time until the 2000 rows are in the volume table, and the longest
  UI-thread gap meanwhile (a 4 ms precise timer; goal no gap > 50 ms), as wall time and as the
  UI thread's own CPU time, next to the same probe's longest gap with nothing to do.

Prints a table of medians; always exits 0 (a missed goal is a number to report).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/qemu.py would shadow the qemu package (qemu.qmp) the QEMU driver imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POOL = "bench"


def make_volumes(target: Path, count: int) -> None:
    """``count`` volume files: qcow2 copies (every 10th with a backing file) and sparse raw files."""
    target.mkdir(parents=True)
    base = target / "vol00000.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "1G"], check=True)
    with_backing = target / "vol00001.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(with_backing)],
                   check=True)
    plain, backed = base.read_bytes(), with_backing.read_bytes()
    for i in range(2, count):
        if i % 2:
            (target / f"vol{i:05d}.img").open("wb").truncate((i % 7 + 1) * 2 ** 30)
        else:
            (target / f"vol{i:05d}.qcow2").write_bytes(backed if i % 10 == 0 else plain)


def setup_env(scratch: Path) -> None:
    for var, sub in (("XDG_RUNTIME_DIR", "run"), ("XDG_CONFIG_HOME", "cfg"), ("XDG_DATA_HOME", "data")):
        (scratch / sub).mkdir(exist_ok=True)
        os.environ[var] = str(scratch / sub)


def api_pass(conn: Any) -> float:
    t0 = time.perf_counter()
    pool = conn.storagePoolLookupByName(POOL)
    pool.refresh(0)
    vols = pool.listAllVolumes(0)
    for v in vols:
        v.info()
    return time.perf_counter() - t0


def baseline(target: Path, sample: int, total: int) -> float:
    files = sorted(target.iterdir())[:sample]
    t0 = time.perf_counter()
    for f in files:
        subprocess.run(["qemu-img", "info", "--output=json", "-U", str(f)], capture_output=True, check=True)
    return (time.perf_counter() - t0) * total / len(files)


def gui_pass(count: int) -> tuple[float, float, float, float]:
    """(seconds until the rows are listed, max UI gap ms, max UI-thread CPU between ticks ms,
    max UI gap ms over as long a time with nothing to do: the machine's noise floor)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from guiapp.app import freeze_heap, make_settings, tune_interpreter
    from guiapp.views.main_window import MainWindow
    from guiapp.views.storage import open_storage_window

    tune_interpreter()  # as guiapp's main() does
    app = QApplication.instance() or QApplication([])
    settings = make_settings(os.path.join(os.environ["XDG_CONFIG_HOME"], "bench-settings.ini"))
    main = MainWindow(settings)
    main.show()
    main.manager.add("qemu:///session")
    deadline = time.monotonic() + 30
    while main.manager.conn("qemu:///session") is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    win = open_storage_window(main)
    while not any(r.name == POOL for r in win.pools.rows()) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    end = time.monotonic() + 3  # let the window's own first listing (it selects a pool) finish
    while (win.runner.active_count or time.monotonic() < end) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    win.pool_view.clearSelection()
    app.processEvents()
    win.volumes.set_rows([])
    freeze_heap()  # as guiapp's main() does after the first listing
    stats = {"gap": 0.0, "busy": 0.0, "last": 0.0, "cpu": 0.0}
    clock = QElapsedTimer()
    clock.start()

    def tick() -> None:
        now, cpu = clock.nsecsElapsed() / 1e6, time.thread_time_ns() / 1e6
        if stats["last"]:
            stats["gap"] = max(stats["gap"], now - stats["last"] - 4.0)
            stats["busy"] = max(stats["busy"], cpu - stats["cpu"])
        stats["last"], stats["cpu"] = now, cpu
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(4)
    t0 = time.perf_counter()
    win.select_pool("qemu:///session", POOL)  # lists the pool's volumes on the job runner
    while win.volumes.rowCount() < count and time.monotonic() < deadline:
        app.processEvents()
    listed = time.perf_counter() - t0
    end = time.monotonic() + 0.3  # let the table paint
    while time.monotonic() < end:
        app.processEvents()
    gap, busy = stats["gap"], stats["busy"]
    main.manager.set_interval(3_600_000)
    stats.update(gap=0.0, busy=0.0, last=0.0)
    end = time.monotonic() + max(listed, 0.5)  # the same probe with nothing to do
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    win.close()
    main.close()
    main.runner.wait(10_000)
    app.processEvents()
    return listed, gap, busy, stats["gap"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--volumes", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sample", type=int, default=100, help="volumes timed with qemu-img info (scaled up)")
    ap.add_argument("--no-gui", action="store_true")
    args = ap.parse_args()
    if shutil.which("qemu-img") is None:
        print("qemu-img is not installed (apt-get install qemu-utils)")
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="guiapp-bench-storage-"))
    try:
        setup_env(scratch)
        import guiapp.backend as libvirt
        libvirt.registerErrorHandler(lambda ctx, err: None, None)
        target = scratch / "pool"
        make_volumes(target, args.volumes)
        conn = libvirt.open("qemu:///session")
        pool = conn.storagePoolDefineXML(f"<pool type='dir'><name>{POOL}</name><target><path>{target}</path>"
                                         f"</target></pool>", 0)
        pool.create(0)
        conn.close()
        cold, warm, base, gui, gaps, busy, idle = [], [], [], [], [], [], []
        for _ in range(args.runs):
            c = libvirt.open("qemu:///session")
            cold.append(api_pass(c))
            warm.append(api_pass(c))
            c.close()
            base.append(baseline(target, args.sample, args.volumes))
        if not args.no_gui:
            for _ in range(args.runs):
                listed, gap, ui_cpu, idle_gap = gui_pass(args.volumes)
                idle.append(idle_gap)
                gui.append(listed)
                gaps.append(gap)
                busy.append(ui_cpu)
        med = statistics.median
        print(f"dir pool, {args.volumes} volumes, {args.runs} runs (medians)")
        print(f"{'operation':<52} | {'ms':>8} | {'qemu-img/guiapp':>15} | goal")
        print("-" * 95)
        goal_ms = 1000 * args.volumes / 2000
        for name, vals, goal in (("refresh + listAllVolumes + info on all (cold)", cold, f"<= {goal_ms:.0f} ms"),
                                 ("refresh + listAllVolumes + info on all (warm)", warm, "")):
            ms = med(vals) * 1000
            met = "" if not goal else (" met" if ms <= goal_ms else " MISSED")
            print(f"{name:<52} | {ms:8.1f} | {med(base) / med(vals):14.1f}x | {goal}{met}")
        print(f"{'baseline: qemu-img info per volume (scaled)':<52} | {med(base) * 1000:8.1f} | {'1.0x':>15} |")
        if gui:
            print(f"{'GUI: select pool -> all rows in the volume table':<52} | {med(gui) * 1000:8.1f} | "
                  f"{'':>15} |")
            g = med(gaps)
            print(f"{'GUI: longest UI gap meanwhile (wall)':<52} | {g:8.1f} | {'':>15} | <= 50 ms"
                  f"{' met' if g <= 50 else ' MISSED'}")
            print(f"{'GUI: longest UI-thread CPU between ticks':<52} | {med(busy):8.1f} | {'':>15} |")
            print(f"{'GUI: longest UI gap, idle (noise floor)':<52} | {med(idle):8.1f} | {'':>15} |")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
