#!/usr/bin/env python3
"""One process of ``bench/gui.py``'s UI-stall scenarios: the manager on an N-domain node, one scenario at a time.

Each scenario is triggered from the event loop while a 4 ms precise timer runs; the longest gap between its
ticks (wall clock) and the UI thread's own CPU time between them are the scenario's stall. Scenarios:
``select_all_pause`` and ``select_all_resume`` (select every domain, Pause, wait until all are paused; then the
same with Resume), ``sort_<column>`` (click each column header), ``filter`` (type a name letter by letter, then
clear), ``poll_all_selected`` (every domain selected, several poll ticks). The event loop is a real one (it
blocks when idle, as the app's does). Prints one JSON line: {scenario: {"gap_ms": .., "busy_ms": ..}}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class StallProbe:
    """Longest gap between ticks of a 4 ms timer, wall time and UI-thread CPU time."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.reset()

    def reset(self) -> None:
        self.last = 0.0
        self.last_cpu = 0.0
        self.gap = 0.0
        self.busy = 0.0

    def start(self) -> None:
        self.reset()
        self.timer.start(4)

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        return {"gap_ms": round(self.gap, 1), "busy_ms": round(self.busy, 1)}

    def _tick(self) -> None:
        now = time.monotonic() * 1000
        cpu = time.thread_time() * 1000
        if self.last:
            self.gap = max(self.gap, now - self.last - 4.0)
            self.busy = max(self.busy, cpu - self.last_cpu)
        self.last, self.last_cpu = now, cpu


def spin(app: Any, seconds: float, until: Callable[[], bool] = lambda: False) -> bool:
    """Run the event loop (a real one: it blocks when idle, as the app's does) for ``seconds`` or until ``until``."""
    from PySide6.QtCore import QEventLoop, QTimer

    if until():
        return True
    loop = QEventLoop()
    end = time.monotonic() + seconds
    check = QTimer()
    check.setInterval(5)

    def look() -> None:
        if until() or time.monotonic() >= end:
            loop.quit()
    check.timeout.connect(look)
    check.start()
    loop.exec()
    check.stop()
    return until()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--domains", type=int, default=500)
    ap.add_argument("--scenarios", default="select_all_pause,sort,filter,poll_all_selected")
    args = ap.parse_args()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from guiapp.app import make_settings, tune_interpreter
    from guiapp.models.api import silence_default_error_handler
    from guiapp.models.demo import write_node
    from guiapp.models.domains import COLUMNS
    from guiapp.views.main_window import MainWindow

    tune_interpreter()
    silence_default_error_handler()
    app = QApplication.instance() or QApplication(["bench"])
    tmp = Path(tempfile.mkdtemp(prefix="guiapp-scen-"))
    uri = write_node(tmp / "node.xml", args.domains, running=1.0)
    win = MainWindow(make_settings(str(tmp / "s.ini")))
    win.resize(1280, 800)
    win.show()
    win.manager.add(uri)
    if not spin(app, 60, lambda: win.model.domain_count() == args.domains):
        sys.exit("the domains were never listed")
    spin(app, 1.5)
    probe = StallProbe()
    out: dict[str, Any] = {}
    wanted = args.scenarios.split(",")

    def run(name: str, action: Callable[[], None], seconds: float, until: Callable[[], bool] = lambda: False) -> None:
        probe.start()
        spin(app, 0.1)
        t0 = time.monotonic()
        QTimer.singleShot(0, action)
        done = spin(app, seconds, until)
        spin(app, 0.3)
        res = probe.stop()
        res["done_s"] = round(time.monotonic() - t0, 2) if done else None
        out[name] = res

    def rows_paused() -> bool:
        return all(r.state == 3 for n in win.model.connections for r in n.rows)

    if "select_all_pause" in wanted:
        def select_pause() -> None:
            win.view.selectAll()
            QTimer.singleShot(30, win.domain_actions.actions["pause"].trigger)
        run("select_all_pause", select_pause, 120, rows_paused)
        spin(app, 1.0)

        def select_resume() -> None:
            win.view.selectAll()
            QTimer.singleShot(30, win.domain_actions.actions["resume"].trigger)
        run("select_all_resume", select_resume, 120,
            lambda: all(r.state == 1 for n in win.model.connections for r in n.rows))
        spin(app, 1.0)
    if "sort" in wanted:
        win.view.clearSelection()
        for col, title in enumerate(COLUMNS):
            if win.view.isColumnHidden(col):
                continue
            run(f"sort_{title.lower().replace(' ', '_').replace('/', '')}",
                lambda c=col: win.view.header().sectionClicked.emit(c) or win.view.sortByColumn(
                    c, win.view.header().sortIndicatorOrder()), 2.5)
        win.view.sortByColumn(0, win.view.header().sortIndicatorOrder())
    if "filter" in wanted:
        def type_name() -> None:
            text = "vm-0012"
            for k in range(1, len(text) + 1):
                QTimer.singleShot(120 * k, lambda t=text[:k]: win.filter_edit.setText(t))
            QTimer.singleShot(120 * (len(text) + 2), lambda: win.filter_edit.clear())
        run("filter", type_name, 3.0)
    if "poll_all_selected" in wanted:
        win.view.selectAll()
        spin(app, 1.0)
        run("poll_all_selected", lambda: None, 5.0)
    print(json.dumps(out), flush=True)
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
