#!/usr/bin/env python3
"""Start-up cost of the command line: ``guiapp-virsh -c test:///default list --all`` against a bare interpreter.

Runs, alternating, ``--runs`` times each: ``python3 -c pass`` (the baseline), the guiapp CLI
(``python3 -m guiapp.backend.cli`` from this checkout, as the ``guiapp-virsh`` script runs it), the same
work without the command line (``import guiapp.backend``, open ``test:///default``, list the domains: what
the library and the test driver cost), ``import guiapp.backend`` alone, and, where installed, Debian's
``virsh`` for scale.  Prints medians (ms), the CLI's cost over the bare interpreter next to the goal
(<= 40 ms), how that cost divides between the library and the command line, and the slowest imports of
one ``-X importtime`` run.
Always exits 0 (a missed goal is a number to report).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 40.0
ARGS = ["-c", "test:///default", "list", "--all"]
LIBRARY_ONLY = ("import guiapp.backend as lib; conn = lib.openReadOnly('test:///default'); "
                "print([(d.ID(), d.name(), d.state()) for d in conn.listAllDomains(0)]); conn.close()")


def _time(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float]:
    """(wall ms, CPU ms of the child: user + system, which a busy machine disturbs less)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def _slowest_imports(env: dict[str, str], n: int) -> list[tuple[int, str]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "guiapp.backend.cli", *ARGS], env=env,
                          cwd=ROOT, capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].startswith("import time:") and parts[1].strip().isdigit():
            rows.append((int(parts[0].split(":")[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="runs of each command (default 15, at least 10)")
    ap.add_argument("--imports", type=int, default=12, help="how many of the slowest imports to list")
    ap.add_argument("--compare", metavar="DIR", help="also run the CLI of another checkout (e.g. one made with "
                    "git archive of an older commit) in the same alternation")
    args = ap.parse_args()
    runs = max(10, args.runs)
    env = dict(os.environ, PYTHONPATH=str(ROOT), LIBVIRT_DEFAULT_URI="test:///default")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with .pyc files, as an installed guiapp-virsh runs
    cmds: dict[str, list[str]] = {
        "python3 -c pass": [sys.executable, "-c", "pass"],
        "guiapp-virsh list --all": [sys.executable, "-m", "guiapp.backend.cli", *ARGS],
        "library: open + list": [sys.executable, "-c", LIBRARY_ONLY],
        "import guiapp.backend": [sys.executable, "-c", "import guiapp.backend"],
    }
    cwds = {k: ROOT for k in cmds}
    envs = {k: env for k in cmds}
    if args.compare:  # run from that folder: ``-m`` puts the working directory first on sys.path
        cmds["guiapp-virsh (--compare)"] = [sys.executable, "-m", "guiapp.backend.cli", *ARGS]
        cwds["guiapp-virsh (--compare)"] = Path(args.compare)
        envs["guiapp-virsh (--compare)"] = dict(env, PYTHONPATH=str(Path(args.compare).resolve()))
    if shutil.which("virsh"):
        cmds["virsh list --all (Debian)"] = ["virsh", *ARGS]
        cwds["virsh list --all (Debian)"] = ROOT
        envs["virsh list --all (Debian)"] = env
    for k, cmd in cmds.items():  # warm the page cache and .pyc files
        _time(cmd, envs[k], cwds[k])
    wall: dict[str, list[float]] = {k: [] for k in cmds}
    cpu: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for k, cmd in cmds.items():
            w, c = _time(cmd, envs[k], cwds[k])
            wall[k].append(w)
            cpu[k].append(c)
    mw = {k: statistics.median(v) for k, v in wall.items()}
    mc = {k: statistics.median(v) for k, v in cpu.items()}
    bw, bc = mw["python3 -c pass"], mc["python3 -c pass"]
    print(f"{'command':<28} {'wall median':>12} {'wall min':>9} {'over base':>10} {'CPU median':>11} {'over base':>10}")
    for k in cmds:
        print(f"{k:<28} {mw[k]:>9.1f} ms {min(wall[k]):>6.1f} ms {mw[k] - bw:>+7.1f} ms "
              f"{mc[k]:>8.1f} ms {mc[k] - bc:>+7.1f} ms")
    cli = "guiapp-virsh list --all"
    for what, cost in (("wall", mw[cli] - bw), ("CPU", mc[cli] - bc)):
        verdict = "met" if cost <= GOAL_MS else "missed"
        print(f"guiapp CLI cost over the interpreter ({what}): {cost:.1f} ms (goal <= {GOAL_MS:.0f} ms: {verdict})")
    lib = "library: open + list"
    for what, m, b in (("wall", mw, bw), ("CPU", mc, bc)):
        print(f"  of which ({what}): the library and the test driver (open + list, no command line) "
              f"{m[lib] - b:.1f} ms, the command line itself {m[cli] - m[lib]:.1f} ms")
    print(f"{runs} runs each, alternating; base = python3 -c pass")
    print("\nslowest imports (self time, one -X importtime run):")
    for us, name in _slowest_imports(env, args.imports):
        print(f"  {us / 1000:7.1f} ms  {name.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
