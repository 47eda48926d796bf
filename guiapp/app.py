"""The ``guiapp`` entry point: QApplication setup, command line, first connections.

Environment knobs used by ``bench/gui.py`` (no effect otherwise):
``GUIAPP_BENCH=1`` prints ``shown <time.monotonic()>`` at the domain list's first paint;
``GUIAPP_STALL_PROBE=1`` measures the longest UI-thread stall with a 4 ms timer: as wall time
between its ticks (includes the OS preempting the process) and as the UI thread's own CPU time
between them (what the application itself blocks the UI for);
``GUIAPP_EXIT_AFTER=<s>`` quits after that many seconds, printing one JSON line of stats.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from .views.askpass_dialog import AskpassBridge

DEFAULT_URI = "test:///default"


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="guiapp", description="Manage virtual machines on one or several hosts.")
    p.add_argument("-c", "--connect", metavar="URI", action="append", default=[],
                   help="open this connection (repeatable), e.g. test:///default, qemu:///system, "
                        "qemu+ssh://root@host/system; saved connections are not opened then")
    p.add_argument("--read-only", action="store_true", help="open the --connect URIs read-only")
    p.add_argument("--settings", metavar="FILE", help="keep settings in this INI file instead of the user's")
    p.add_argument("--poll-interval", type=float, metavar="SECONDS",
                   help="polling interval for this run (default: Preferences, 1 s)")
    p.add_argument("--debug-threads", action="store_true",
                   help="report every driver call made on the UI thread (also GUIAPP_DEBUG_THREADS=1)")
    return p.parse_args(argv)


def initial_uris(connect: list[str], saved: list[str]) -> tuple[list[str], bool]:
    """(URIs to open at start, whether to remember them): --connect, else saved, else the default."""
    if connect:
        return list(dict.fromkeys(u.strip() for u in connect if u.strip())), False
    if saved:
        return saved, False
    return [os.environ.get("LIBVIRT_DEFAULT_URI", "").strip() or DEFAULT_URI], True


def make_settings(path: Optional[str] = None) -> Any:
    from PySide6.QtCore import QSettings

    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "guiapp", "guiapp")


class _Probe:
    """Bench instrumentation: first paint time and the longest gap between 4 ms timer ticks."""

    def __init__(self, window: Any, on_first_paint: Any = None) -> None:
        from PySide6.QtCore import QElapsedTimer, QEvent, QObject, Qt, QTimer

        self.shown_at: Optional[float] = None
        self.listed_at: Optional[float] = None
        self.rows_at: Optional[float] = None
        self.on_first_paint = on_first_paint
        self.max_gap_ms = 0.0
        self.max_busy_ms = 0.0
        self.gaps_over_16 = 0
        self.busy_over_16 = 0
        self.window = window
        probe = self

        class Filter(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:
                if event.type() == QEvent.Type.Paint and probe.shown_at is None:
                    probe.shown_at = time.monotonic()
                    if os.environ.get("GUIAPP_BENCH"):
                        print(f"shown {probe.shown_at:.6f}", flush=True)
                    if probe.on_first_paint is not None:
                        QTimer.singleShot(0, probe.on_first_paint)
                return False

        self.filter = Filter()
        window.view.viewport().installEventFilter(self.filter)
        window.manager.polled.connect(self._polled)  # also freezes the heap after the first listing
        if os.environ.get("GUIAPP_STALL_PROBE"):
            self.clock = QElapsedTimer()
            self.clock.start()
            self.last = 0
            self.last_cpu = 0
            self.timer = QTimer()
            self.timer.setTimerType(Qt.TimerType.PreciseTimer)
            self.timer.timeout.connect(self._tick)
            QTimer.singleShot(1500, lambda: self.timer.start(4))  # ignore start-up

    def _polled(self, _uri: str, result: Any) -> None:
        if self.rows_at is None and result.changed:  # the first domain rows (a big list's first screen)
            self.rows_at = time.monotonic()
            if os.environ.get("GUIAPP_BENCH"):
                print(f"rows {self.rows_at:.6f}", flush=True)
        if self.listed_at is None and result.full:
            from PySide6.QtCore import QTimer
            QTimer.singleShot(200, freeze_heap)
            self.listed_at = time.monotonic()
            if os.environ.get("GUIAPP_BENCH"):
                print(f"listed {self.listed_at:.6f} {result.total}", flush=True)

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        cpu = time.thread_time_ns() / 1e6
        if self.last:
            gap = now - self.last - 4.0
            if gap > self.max_gap_ms:
                self.max_gap_ms = gap
            if gap > 16.0:
                self.gaps_over_16 += 1
            busy = cpu - self.last_cpu
            if busy > self.max_busy_ms:
                self.max_busy_ms = busy
            if busy > 16.0:
                self.busy_over_16 += 1
        self.last, self.last_cpu = now, cpu

    def report(self) -> dict:
        w = self.window
        return {"shown": self.shown_at, "max_stall_ms": round(self.max_gap_ms, 2),
                "stalls_over_16ms": self.gaps_over_16, "max_busy_ms": round(self.max_busy_ms, 2),
                "busy_over_16ms": self.busy_over_16, "domains": w.model.domain_count()}


class SshPrompts:
    """ssh password/passphrase prompts as dialogs, started on demand: the askpass server (a socket, a helper
    script in a private folder, a thread) and its environment come just before the first connection over ssh
    opens, so a session of local connections starts none of it."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.bridge: Optional[AskpassBridge] = None  # once started
        window.manager.opening.connect(self.prepare)

    def prepare(self, uri: str) -> None:
        """Start the askpass server if ``uri`` runs ssh and it is not running yet (UI thread, before the open)."""
        from .backend.uri import uri_transport

        if self.bridge is None and uri_transport(uri) == "ssh":
            from .views.askpass_dialog import AskpassBridge

            self.bridge = AskpassBridge(self.window)
            self.bridge.server.install()

    def close(self) -> None:
        if self.bridge is not None:
            self.bridge.close()


def tune_interpreter() -> None:
    """Keep the UI thread responsive next to pool threads running Python.

    A pool thread computing a tick holds the GIL until the switch interval forces it to let go;
    at CPython's default (5 ms) the UI thread waited that long after every ``QThreadPool.start``,
    and it waits again after every Qt call that released the GIL while a pool thread runs Python:
    at 1 ms a 20 ms paint next to a 2000-domain poll took 80-110 ms (bench/gui_scenarios.py,
    select-all + Resume), at 0.2 ms 20-30 ms. Only contended stretches switch more often.
    """
    sys.setswitchinterval(0.0002)


def freeze_heap() -> None:
    """After start-up: move the long-lived objects out of the cyclic GC's way (no 20 ms gen-2 pauses)."""
    import gc

    gc.collect()
    gc.freeze()


NO_DISPLAY = ("guiapp: no graphical display (DISPLAY/WAYLAND_DISPLAY unset); use guiapp-virsh, or set "
              "QT_QPA_PLATFORM (e.g. offscreen)")


def display_problem(environ: Optional[Mapping[str, str]] = None) -> str:
    """Why Qt cannot show a window here ('' when it can): no display and no QT_QPA_PLATFORM on Linux/BSD."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if sys.platform in ("win32", "darwin"):
        return ""
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"):
        return ""
    return NO_DISPLAY


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    tune_interpreter()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "guiapp"])
    app.setOrganizationName("guiapp")
    app.setApplicationName("guiapp")
    app.setApplicationDisplayName("guiapp")
    app.setDesktopFileName("guiapp")

    from .jobs import install_ui_thread_guard
    from .models.api import silence_default_error_handler
    from .views.main_window import MainWindow

    silence_default_error_handler()
    if args.debug_threads or os.environ.get("GUIAPP_DEBUG_THREADS"):
        install_ui_thread_guard()
    settings = make_settings(args.settings)
    window = MainWindow(settings)
    prompts = SshPrompts(window)
    if args.poll_interval:
        window.manager.set_interval(int(args.poll_interval * 1000))
    uris, remember = initial_uris(args.connect, window.manager.saved_uris())
    pending = [True]

    def connect_all() -> None:
        if not pending:
            return
        pending.clear()
        for uri in uris:
            window.manager.add(uri, read_only=args.read_only and bool(args.connect), remember=remember)

    # connect once the window has painted, so opening drivers never competes with the first frame
    probe = _Probe(window, on_first_paint=connect_all)
    window.show()
    QTimer.singleShot(500, connect_all)  # in case the list is never painted (minimized, ...)
    exit_after = os.environ.get("GUIAPP_EXIT_AFTER")
    if exit_after:
        def finish() -> None:
            print(json.dumps(probe.report()), flush=True)
            window.close()
            app.quit()
        QTimer.singleShot(int(float(exit_after) * 1000), finish)
    rc = app.exec()
    prompts.close()
    if not window.runner.wait(3000):
        # a driver call is stuck (an unreachable host): the pool's destructor would wait for it forever
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
