#!/usr/bin/env python3
"""VNC console numbers against the tiny guest (QEMU, TCG, ``-vnc unix:``): guiapp's own RFB client vs vncdotool's.

Both engines feed a shown Qt widget (under Xvfb when available, else the offscreen platform):

* ``guiapp``    — :class:`guiapp.vnc.client.VncClient` on a QLocalSocket in the UI thread + the console's VncView;
* ``vncdotool`` — ``vncdotool.rfb.RFBClient`` in a Twisted reactor thread, handing rectangles to the
  UI thread through a queued Qt signal (the FACTS.md recipe), painting the same way.

Measured, each engine in its own fresh process (``--runs`` times; the table shows medians):

* updates/s while the guest scrolls its text console (``usleep 10000`` between lines: always dirty);
* CPU of the viewer process over that window, in % of one core (utime+stime / wall);
* time from opening (imports included, fresh process) to the first frame, and peak RSS;
* key→screen latency: a key event sent → the first update holding the echoed glyph (median and max
  over ``--keys`` keys, guest idle with a reader on tty1 so the tty echoes).

Goals (issue 7): ≥ 30 updates/s, key→screen median ≤ 35 ms, ≤ 8 % of a core at ~33 updates/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
# bench/qemu.py would shadow the qemu.qmp package: drop this script's folder from the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "vnc"))

ANIMATE = "(i=0; while :; do echo line $i; i=$((i+1)); usleep 10000; done) > /dev/tty1 2>&1 &"
ECHO_READER = "(while read l; do :; done) < /dev/tty1 &"
KEYS = "WMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWM"


# ---------------------------------------------------------------------------------------------- worker side
def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def changed_pixels(before: bytes, after: bytearray, width: int, rects: list[tuple[int, int, int, int]]) -> int:
    n = 0
    for x, y, w, h in rects:
        for row in range(y, y + h):
            a = (row * width + x) * 4
            b = a + w * 4
            if before[a:b] != after[a:b]:
                n += sum(1 for i in range(a, b, 4) if before[i:i + 3] != after[i:i + 3])
    return n


class Engine:
    """What the worker needs from an engine: connect, updates as (rects) callbacks, key events, the framebuffer."""

    width = 0

    def start(self, path: str, on_update: Callable[[list], None]) -> None: ...
    def key(self, keysym: int, down: bool) -> None: ...
    def framebuffer(self) -> bytearray: ...
    def stop(self) -> None: ...


class GuiappEngine(Engine):
    def start(self, path: str, on_update: Callable[[list], None]) -> None:
        from guiapp.views.console.widget import VncView
        from guiapp.vnc.address import VncAddress
        from guiapp.vnc.client import VncClient

        self.client = VncClient()
        self.view = VncView(self.client)
        self.view.resize(720, 400)
        self.view.show()
        self.client.connected.connect(lambda *_a: self.view.set_message(""))  # as the console window does
        self.client.updated.connect(lambda r: on_update([(r.x(), r.y(), r.width(), r.height())]))
        self.client.open(VncAddress(path=path))

    @property
    def width(self) -> int:  # type: ignore[override]
        return self.client.proto.width if self.client.proto else 0

    def key(self, keysym: int, down: bool) -> None:
        self.client.key_event(keysym, down)

    def framebuffer(self) -> bytearray:
        return self.client.proto.framebuffer

    def stop(self) -> None:
        self.client.close(quiet=True)


class VncdotoolEngine(Engine):
    def start(self, path: str, on_update: Callable[[list], None]) -> None:
        import threading
        import warnings

        from PySide6.QtCore import QObject, QRect, Signal
        from PySide6.QtGui import QImage, QPainter
        from PySide6.QtWidgets import QWidget

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from twisted.internet import reactor
            from vncdotool import rfb

        class Relay(QObject):
            updated = Signal(object)

        relay = Relay()
        engine = self

        class View(QWidget):
            def paintEvent(self, _ev: Any) -> None:
                if engine.image is not None:
                    p = QPainter(self)
                    p.drawImage(0, 0, engine.image)
                    p.end()

        self.image: Any = None
        self.fb = bytearray()
        self.view = View()
        self.view.resize(720, 400)
        self.view.show()

        def delivered(pieces: list) -> None:  # UI thread: blit what the reactor thread decoded
            if self.image is None or self.image.width() != self.width:
                self.image = QImage(self.fb, self.width, len(self.fb) // (4 * self.width), self.width * 4,
                                    QImage.Format.Format_RGB32)
            fb, stride = self.fb, self.width * 4
            rects = []
            for x, y, w, h, data in pieces:
                row = w * 4
                mv = memoryview(data)
                ones = b"\xff" * w
                for i in range(h):
                    off = (y + i) * stride + x * 4
                    fb[off:off + row] = mv[i * row:(i + 1) * row]
                    fb[off + 3:off + row:4] = ones
                self.view.update(QRect(x, y, w, h))
                rects.append((x, y, w, h))
            on_update(rects)

        relay.updated.connect(delivered)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")

            class Client(rfb.RFBClient):
                def vncConnectionMade(self) -> None:
                    engine.width = self.width
                    engine.fb = bytearray(b"\0\0\0\xff") * (self.width * self.height)
                    engine.client = self
                    self.setPixelFormat(rfb.PixelFormat(redshift=16, greenshift=8, blueshift=0))
                    self.setEncodings([rfb.Encoding.RAW, rfb.Encoding.COPY_RECTANGLE])
                    self.framebufferUpdateRequest()

                def beginUpdate(self) -> None:
                    self.pieces: list = []

                def updateRectangle(self, x: int, y: int, w: int, h: int, data: bytes) -> None:
                    self.pieces.append((x, y, w, h, data))  # the UI thread owns the framebuffer

                def commitUpdate(self, rectangles: Any = None) -> None:
                    relay.updated.emit(self.pieces)
                    self.pieces = []
                    self.framebufferUpdateRequest(incremental=True)

        factory = rfb.RFBFactory()
        factory.protocol = Client
        self.reactor = reactor
        self.relay = relay
        threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True).start()
        reactor.callFromThread(reactor.connectUNIX, path, factory)

    def key(self, keysym: int, down: bool) -> None:
        self.reactor.callFromThread(self.client.keyEvent, keysym, down)

    def framebuffer(self) -> bytearray:
        return self.fb

    def stop(self) -> None:
        self.reactor.callFromThread(self.reactor.stop)


def worker(args: argparse.Namespace) -> None:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    assert app is not None
    engine: Engine = GuiappEngine() if args.engine == "guiapp" else VncdotoolEngine()
    stamps: list[float] = []
    pending: dict[str, Any] = {}

    def on_update(rects: list) -> None:
        stamps.append(time.perf_counter())
        if "sent" in pending and "at" not in pending:
            if changed_pixels(pending["before"], engine.framebuffer(), engine.width, rects) >= 30:
                pending["at"] = time.perf_counter()

    def spin(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    t_start = time.perf_counter()
    engine.start(args.vnc, on_update)
    deadline = time.monotonic() + 10
    while not stamps and time.monotonic() < deadline:
        spin(0.05)
    if not stamps:
        raise SystemExit("no update within 10 s")
    out: dict[str, Any] = {"engine": args.engine, "platform": QApplication.platformName(),
                           "first_frame_ms": 1000 * (stamps[0] - t_start)}
    if args.measure == "fps":
        spin(1.0)  # warm up
        n0, c0, t0 = len(stamps), cpu_seconds(), time.perf_counter()
        spin(args.seconds)
        n1, c1, t1 = len(stamps), cpu_seconds(), time.perf_counter()
        out["updates_per_s"] = (n1 - n0) / (t1 - t0)
        out["cpu_percent"] = 100 * (c1 - c0) / (t1 - t0)
        out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    else:
        lat = []
        spin(0.5)
        for ch in KEYS[: args.keys]:
            pending.clear()
            pending["before"] = bytes(engine.framebuffer())
            pending["sent"] = time.perf_counter()
            engine.key(ord(ch) if ch.islower() else ord(ch), True)
            engine.key(ord(ch), False)
            end = time.monotonic() + 2
            while "at" not in pending and time.monotonic() < end:
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)
            if "at" in pending:
                lat.append(1000 * (pending["at"] - pending["sent"]))
            spin(0.05)
        out["key_ms"] = lat
    engine.stop()
    print(json.dumps(out), flush=True)


# ----------------------------------------------------------------------------------------- orchestrator side
def run_worker(engine: str, measure: str, vnc: str, env: dict[str, str], args: argparse.Namespace) -> dict:
    argv = [sys.executable, __file__, "--worker", "--engine", engine, "--measure", measure, "--vnc", vnc,
            "--seconds", str(args.seconds), "--keys", str(args.keys)]
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"{engine}/{measure} worker failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(lines[-1])


def start_xvfb() -> tuple[Any, str] | None:
    if shutil.which("Xvfb") is None:
        return None
    for n in range(91, 120):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while not os.path.exists(f"/tmp/.X11-unix/X{n}") and time.monotonic() < deadline:
                time.sleep(0.05)
            return proc, f":{n}"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the updates/CPU window")
    ap.add_argument("--keys", type=int, default=30)
    ap.add_argument("--engines", default="guiapp,vncdotool")
    ap.add_argument("--offscreen", action="store_true", help="use Qt's offscreen platform even if Xvfb exists")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--vnc", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return

    from helpers.tinyguest import build_tiny_guest
    from vnc_qemu import QemuDisplay

    env = dict(os.environ)
    xvfb = None if args.offscreen else start_xvfb()
    if xvfb is not None:
        env.update(DISPLAY=xvfb[1], QT_QPA_PLATFORM="xcb")
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    engines = [e for e in args.engines.split(",") if e]
    results: dict[str, dict[str, list]] = {e: {"fps": [], "cpu": [], "kmed": [], "kmax": [], "first": [], "rss": []}
                                          for e in engines}
    platform = "?"
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        q = QemuDisplay(Path(tmp), kernel=build_tiny_guest())
        try:
            assert q.serial is not None
            q.serial.wait("GUIAPP-GUEST-READY", timeout=60)
            for _run in range(args.runs):
                q.serial.write(ANIMATE)
                time.sleep(1.0)
                for e in engines:
                    r = run_worker(e, "fps", q.vnc, env, args)
                    platform = r["platform"]
                    results[e]["fps"].append(r["updates_per_s"])
                    results[e]["cpu"].append(r["cpu_percent"])
                    results[e]["first"].append(r["first_frame_ms"])
                    results[e]["rss"].append(r["rss_mib"])
                q.serial.write("kill %1; sleep 0.2; clear > /dev/tty1; " + ECHO_READER)
                time.sleep(1.0)
                for e in engines:
                    r = run_worker(e, "keys", q.vnc, env, args)
                    if r["key_ms"]:
                        results[e]["kmed"].append(statistics.median(r["key_ms"]))
                        results[e]["kmax"].append(max(r["key_ms"]))
                    q.serial.write("")  # a newline on ttyS0 keeps the shell prompt tidy
                q.serial.write("kill %1")
                time.sleep(0.3)
        finally:
            q.stop()
            if xvfb is not None:
                xvfb[0].terminate()
                xvfb[0].wait(5)

    def med(v: list) -> str:
        return f"{statistics.median(v):.1f}" if v else "n/a"

    print(f"VNC console, tiny guest under TCG, unix socket, Qt platform {platform}, {args.runs} runs (medians)")
    print(f"{'engine':<10} {'updates/s':>10} {'CPU % core':>11} {'key→screen med ms':>18} {'key→screen max ms':>18}"
          f" {'first frame ms':>15} {'max RSS MiB':>12}")
    for e in engines:
        r = results[e]
        print(f"{e:<10} {med(r['fps']):>10} {med(r['cpu']):>11} {med(r['kmed']):>18} {med(r['kmax']):>18}"
              f" {med(r['first']):>15} {med(r['rss']):>12}")
    print("goals: >= 30 updates/s, key->screen median <= 35 ms, <= 8 % of a core at ~33 updates/s")


if __name__ == "__main__":
    main()
