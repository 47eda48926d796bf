#!/usr/bin/env python3
"""Desktop manager numbers under Xvfb, on test-driver node files of 1 and 500 domains (half running).

For each size, ``--runs`` fresh processes of ``python -m guiapp --connect test:///node.xml``:

* time from process start until the domain list is first painted, until its first domain rows arrive (a big
  list's first screen comes before the rest) and until every domain is listed;
* RSS 5 s after the domains are listed (the window is shown before);
* CPU used over ``--cpu-seconds`` of polling at the default interval (1 s), in % of one core;
* longest UI-thread stall during polling (a 4 ms precise timer inside the app; separate runs,
  as the probe itself costs CPU): the wall-clock gap between its ticks (includes the OS running
  other processes: noisy on a loaded machine) and the UI thread's own CPU time between them
  (the application's share: what it blocks the UI for itself).

With ``--remote`` the node files are served by Debian's libvirtd, started privately
(tests/helpers/libvirtd.py: own mount namespace and sockets; needs root), and the manager connects
through the remote driver (``test+unix:///node.xml?socket=…``); goals there: rows within 1 s of the
window, polling CPU ≤ 1.5 % of a core at 500 domains.

With ``--bytecode`` guiapp's byte-code is compiled first (and removed at the end), as an installed copy
starts; otherwise a source tree under PYTHONDONTWRITEBYTECODE=1 compiles every module at every start.

Prints a table of medians.  Needs Xvfb (apt-get install xvfb libxcb-icccm4 libxcb-keysyms1).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guiapp.models.demo import write_node  # noqa: E402

GOALS = {1: (0.35, 90), 500: (0.6, 110)}
TICKS = os.sysconf("SC_CLK_TCK")


def compile_guiapp() -> list[Path]:
    """Compile guiapp's modules into their ``__pycache__`` folders (gitignored); returns the files made.

    An installed guiapp starts from byte-code (pip and distribution packages compile it); a source tree run
    with PYTHONDONTWRITEBYTECODE=1 (as on the shared machine) compiles every module at every start instead."""
    before = set((ROOT / "guiapp").rglob("*.pyc"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "guiapp")], check=True,
                   stdout=subprocess.DEVNULL)
    return [p for p in (ROOT / "guiapp").rglob("*.pyc") if p not in before]


def start_xvfb() -> tuple[subprocess.Popen, str]:
    if shutil.which("Xvfb") is None:
        sys.exit("Xvfb not found: apt-get install xvfb libxcb-icccm4 libxcb-keysyms1")
    for n in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                if Path(f"/tmp/.X11-unix/X{n}").exists():
                    return proc, f":{n}"
                time.sleep(0.05)
            proc.kill()
    sys.exit("could not start Xvfb")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def read_line(proc: subprocess.Popen, prefix: str | tuple[str, ...], timeout: float) -> Optional[str]:
    end = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            return None
        if line.startswith(prefix):
            return line
    return None


def one_run(display: str, uri: str, settings: Path, cpu_s: float, stall: bool, sweep: Optional[int] = None) -> dict:
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", GUIAPP_BENCH="1", PYTHONPATH=str(ROOT))
    env.pop("LIBVIRT_DEFAULT_URI", None)
    if stall:
        env["GUIAPP_STALL_PROBE"] = "1"
        env["GUIAPP_EXIT_AFTER"] = str(3 + cpu_s)
    if settings.exists():
        settings.unlink()
    if sweep is not None:  # Preferences › Polling › "Sample every domain up to"
        settings.write_text(f"[preferences]\nsweep_domains={sweep}\n")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "guiapp", "--settings", str(settings), "--connect", uri],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out: dict = {}
    try:
        shown = read_line(proc, "shown ", 30)
        if shown is None:
            raise RuntimeError("the window never showed")
        out["to_window"] = float(shown.split()[1]) - t0
        listed = read_line(proc, ("rows ", "listed "), 90)
        if listed is not None and listed.startswith("rows "):  # the first rows, then every domain listed
            out["to_rows"] = float(listed.split()[1]) - t0
            listed = read_line(proc, "listed ", 90)
        if listed is not None:
            out["to_listed"] = float(listed.split()[1]) - t0
            out["listed"] = int(listed.split()[2])
        if stall:
            report = read_line(proc, "{", 60 + cpu_s)
            out.update(json.loads(report) if report else {})
            proc.wait(30)
            return out
        # RSS and idle CPU from 5 s after the list is filled (on a loaded machine the open can outlast 5 s)
        settled_at = float((listed or shown).split()[1])
        time.sleep(max(0.0, settled_at + 5 - time.monotonic()))
        out.update(rss_and_cpu(proc.pid, cpu_s))
    finally:
        stop(proc)
    return out


def rss_and_cpu(pid: int, cpu_s: float) -> dict:
    """RSS now, and the CPU used over the next ``cpu_s`` seconds in % of one core (none when 0)."""
    out = {"rss": rss_mib(pid)}
    if cpu_s:
        c0, w0 = cpu_seconds(pid), time.monotonic()
        time.sleep(cpu_s)
        out["cpu"] = 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - w0)
    return out


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def virt_manager_run(display: str, uri: str, cpu_s: float, settle: float, home: Path) -> dict:
    """virt-manager 4.1 (Debian's) on the same node file through libvirt's own test driver: RSS and idle CPU
    after ``settle`` seconds (it has no 'listed' signal to wait for; it polls every 3 s by default)."""
    exe = shutil.which("virt-manager")
    if exe is None:
        return {}
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DISPLAY=display, GDK_BACKEND="x11", NO_AT_BRIDGE="1", HOME=str(home),
               XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"))
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen([exe, "--no-fork", "--connect", uri], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(settle)
        return rss_and_cpu(proc.pid, cpu_s) if proc.poll() is None else {}
    finally:
        stop(proc)


def scenario_table(display: str, sizes: list[int], runs: int) -> None:
    """Longest UI stall (wall gap and UI-thread CPU) per scenario, medians over ``runs`` processes."""
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT))
    results: dict[int, list[dict]] = {}
    for n in sizes:
        for _ in range(runs):
            res = subprocess.run([sys.executable, str(ROOT / "bench" / "gui_scenarios.py"), "--domains", str(n)],
                                 env=env, capture_output=True, text=True, timeout=1200)
            line = next((x for x in res.stdout.splitlines() if x.startswith("{")), None)
            if line is None:
                print(f"# {n}: scenario run failed: {res.stderr[-500:]}", file=sys.stderr)
                continue
            results.setdefault(n, []).append(json.loads(line))
    print(f"UI stalls (medians of {runs} runs; goal: no stall > 50 ms; busy = the UI thread's own CPU)")
    print(f"{'scenario':<22} | " + " | ".join(f"{str(n) + ' gap ms':>12} | {str(n) + ' busy ms':>13}" for n in sizes))
    names = next(iter(results.values()))[0].keys() if results else []
    for name in names:
        cells = []
        for n in sizes:
            rs = [r[name] for r in results.get(n, []) if name in r]
            cells.append(f"{med([r['gap_ms'] for r in rs]):>12.1f} | {med([r['busy_ms'] for r in rs]):>13.1f}")
        print(f"{name:<22} | " + " | ".join(cells))


def remove(files: Optional[list[Path]]) -> None:
    for f in files or []:
        f.unlink(missing_ok=True)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,500")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cpu-seconds", type=float, default=30.0)
    ap.add_argument("--stall-seconds", type=float, default=10.0)
    ap.add_argument("--baseline-sweep", type=int, default=0,
                    help="also run the CPU/open runs with this 'sample every domain up to' preference (e.g. "
                         "1000000: every tick samples every domain, the behaviour before partial ticks)")
    ap.add_argument("--remote", action="store_true", help="serve the node files from a private libvirtd")
    ap.add_argument("--virt-manager", type=float, default=0.0, metavar="SETTLE_S",
                    help="also run virt-manager on the same node files (libvirt's test driver), measuring RSS and "
                         "idle CPU after this many seconds (its list has no 'listed' signal to wait for)")
    ap.add_argument("--bytecode", action="store_true",
                    help="compile guiapp's byte-code first, removed at the end (an installed copy starts so); by "
                         "default Python's own setting decides (PYTHONDONTWRITEBYTECODE=1: every start compiles)")
    ap.add_argument("--scenario-sizes", default="",
                    help="also run bench/gui_scenarios.py (select-all + Pause, sort by each column, filter "
                         "keystrokes, poll tick with all selected) at these sizes, e.g. 500,2000")
    args = ap.parse_args()
    compiled = compile_guiapp() if args.bytecode else None  # removed again at the end
    xvfb, display = start_xvfb()
    if args.scenario_sizes:
        try:
            scenario_table(display, [int(s) for s in args.scenario_sizes.split(",")], args.runs)
        finally:
            if not args.sizes:
                xvfb.terminate()
                xvfb.wait(10)
        if not args.sizes:
            remove(compiled)
            return 0
    tmp = Path(tempfile.mkdtemp(prefix="guiapp-bench-"))
    rows = []
    opens: list[tuple[int, dict[str, float]]] = []
    others: list[tuple[int, list[dict]]] = []  # virt-manager's runs
    daemon = None
    try:
        if args.remote:
            import importlib.util
            spec = importlib.util.spec_from_file_location("bench_libvirtd", ROOT / "tests/helpers/libvirtd.py")
            fixture = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            spec.loader.exec_module(fixture)  # type: ignore[union-attr]
            if fixture.usable():
                sys.exit(f"--remote: {fixture.usable()}")
            daemon = fixture.LibvirtDaemon(tmp / "libvirtd").start()
        for n in (int(s) for s in args.sizes.split(",")):
            uri = write_node(tmp / f"node{n}.xml", n, running=0.5)
            if daemon is not None:
                uri = daemon.uri(uri)
            runs = [one_run(display, uri, tmp / "s.ini", args.cpu_seconds, False) for _ in range(args.runs)]
            if daemon is not None:
                opens.append((n, open_times(uri, args.runs)))
            stalls = [one_run(display, uri, tmp / "s.ini", args.stall_seconds, True) for _ in range(max(1, args.runs))]
            if args.baseline_sweep:
                base = [one_run(display, uri, tmp / "s.ini", args.cpu_seconds, False, args.baseline_sweep)
                        for _ in range(args.runs)]
                rows.append((f"{n} sweep={args.baseline_sweep}", base, []))  # type: ignore[arg-type]
            rows.append((n, runs, stalls))
            print(f"# {n} domains: {runs} {stalls}", file=sys.stderr)
            if args.virt_manager and daemon is None:
                vm = [virt_manager_run(display, uri, args.cpu_seconds, args.virt_manager, tmp / "vm-home")
                      for _ in range(args.runs)]
                vm = [r for r in vm if r]
                print(f"# {n} domains, virt-manager: {vm}", file=sys.stderr)
                if vm:
                    others.append((n, vm))
    finally:
        if daemon is not None:
            daemon.stop()
        xvfb.terminate()
        xvfb.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
        remove(compiled)
    byte_code = ("from byte-code compiled first (--bytecode)" if compiled is not None else
                 "with PYTHONDONTWRITEBYTECODE=1 (a module without a cached byte-code file compiles at every start)"
                 if os.environ.get("PYTHONDONTWRITEBYTECODE") else "with Python's byte-code caches")
    print(f"guiapp started {byte_code}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
          + ("; remote driver → private libvirtd (goals: listed ≤ window + 1 s, CPU ≤ 1.5 %)" if daemon else ""))
    print(f"{'domains':>7} | {'to window s':>11} | {'to rows s':>9} | {'to listed s':>11} | {'RSS MiB @5s':>11} | "
          f"{'CPU % 1 s poll':>14} | {'max UI gap ms':>13} | {'max UI busy ms':>14} | goals (window s, MiB)")
    print("-" * 136)
    for n, runs, stalls in rows:
        goal = GOALS.get(n, ("-", "-"))  # type: ignore[call-overload]
        print(f"{n!s:>7} | {med([r['to_window'] for r in runs]):>11.3f} | "
              f"{med([r['to_rows'] for r in runs if 'to_rows' in r]):>9.3f} | "
              f"{med([r['to_listed'] for r in runs if 'to_listed' in r]):>11.3f} | "
              f"{med([r['rss'] for r in runs]):>11.1f} | {med([r['cpu'] for r in runs if 'cpu' in r]):>14.2f} | "
              f"{med([s.get('max_stall_ms', float('nan')) for s in stalls]):>13.1f} | "
              f"{med([s.get('max_busy_ms', float('nan')) for s in stalls]):>14.1f} | "
              f"<= {goal[0]} s, <= {goal[1]} MiB, CPU <= 1 % at 500, stall <= 16 ms")
    for n, vm in others:
        print(f"{str(n) + ' virt-manager':>7} | {'':>11} | {'':>9} | {'':>11} | {med([r['rss'] for r in vm]):>11.1f} | "
              f"{med([r['cpu'] for r in vm]):>14.2f} | (libvirt's test driver, the same node file, its 3 s poll)")
    for n, t in opens:
        runs_n = next(r for m, r, _ in rows if m == n)  # type: ignore[comparison-overlap]
        after = med([r["to_listed"] - r["to_window"] for r in runs_n if "to_listed" in r])
        print(f"{n} domains remote: window → listed {after:.3f} s; opening the connection alone (libvirtd loads "
              f"the node file per open): guiapp remote driver {t['guiapp']:.3f} s, python3-libvirt "
              f"{t['libvirt']:.3f} s; the GUI adds {after - t['guiapp']:.3f} s on top of its open")
    return 0


def open_times(uri: str, runs: int) -> dict[str, float]:
    """Median seconds to open (and close) ``uri`` with guiapp's remote driver and with python3-libvirt."""
    import guiapp.backend as guiapp_lib
    from bench.api import load_libvirt
    sides: dict[str, list[float]] = {"guiapp": [], "libvirt": []}
    libvirt = load_libvirt()
    for _ in range(runs):
        for name, lib in (("guiapp", guiapp_lib), ("libvirt", libvirt)):
            if lib is None:
                continue
            t0 = time.perf_counter()
            conn = lib.open(uri)
            sides[name].append(time.perf_counter() - t0)
            conn.close()
    return {k: med(v) if v else float("nan") for k, v in sides.items()}


if __name__ == "__main__":
    raise SystemExit(main())
