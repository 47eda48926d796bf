#!/usr/bin/env python3
"""mypy gate for CI: no error in guiapp/backend/, elsewhere no error beyond the committed baseline.

    python3 tools/mypy_baseline.py            # run mypy (config in pyproject.toml) and compare
    python3 tools/mypy_baseline.py --update   # rewrite the baseline after fixing errors (it may only shrink)

An error is keyed by file, error code and message (not line numbers, which move with every edit);
the baseline counts each key.  A new error, or more of a known one, fails; fixed errors are reported
so the baseline can be shrunk with --update.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tools" / "mypy-baseline.txt"
STRICT = "guiapp/backend/"
_LINE = re.compile(r"^(?P<path>[^:]+):\d+(?::\d+)?: error: (?P<msg>.*?)(?:  \[(?P<code>[a-z-]+)\])?$")


def run_mypy() -> list[str]:
    """mypy's error lines for the configured files."""
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", "--no-pretty"], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"mypy failed to run (exit {proc.returncode}):\n{proc.stderr or proc.stdout}")
    return [line for line in proc.stdout.splitlines() if ": error: " in line]


def keys(lines: list[str]) -> collections.Counter[str]:
    out: collections.Counter[str] = collections.Counter()
    for line in lines:
        m = _LINE.match(line)
        if m:
            out[f"{m['path']}: [{m['code'] or '-'}] {m['msg']}"] += 1
    return out


def read_baseline() -> collections.Counter[str]:
    out: collections.Counter[str] = collections.Counter()
    if BASELINE.exists():
        for line in BASELINE.read_text().splitlines():
            if line and not line.startswith("#"):
                count, key = line.split(" ", 1)
                out[key] = int(count)
    return out


def write_baseline(found: collections.Counter[str]) -> None:
    body = "".join(f"{n} {k}\n" for k, n in sorted(found.items()))
    BASELINE.write_text("# mypy errors tolerated outside guiapp/backend/ (tools/mypy_baseline.py); may only shrink\n"
                        + body)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update", action="store_true", help="rewrite the baseline (refused if it would grow)")
    args = ap.parse_args(argv)
    lines = run_mypy()
    found = keys(lines)
    strict = [line for line in lines if line.startswith(STRICT)]
    base = read_baseline()
    new = {k: n - base[k] for k, n in found.items() if n > base[k]}
    fixed = {k: base[k] - found[k] for k in base if found[k] < base[k]}
    if strict:
        print(f"mypy: {len(strict)} error(s) in {STRICT}, which must have none:", *strict, sep="\n  ")
    if new and not strict:
        print("mypy: errors not in the baseline (fix them; the baseline only shrinks):")
        for k, n in sorted(new.items()):
            print(f"  {n} x {k}")
        print("  where:", *[line for line in lines if keys([line]).keys() & new.keys()], sep="\n    ")
    if args.update:
        if strict or new:
            print("mypy: not updating the baseline: it may only shrink")
            return 1
        write_baseline(found)
        print(f"mypy: baseline rewritten: {sum(found.values())} error(s)")
        return 0
    if fixed:
        print(f"mypy: {sum(fixed.values())} baseline error(s) fixed; shrink the baseline with --update")
    if strict or new:
        return 1
    print(f"mypy: OK ({sum(found.values())} known error(s) outside {STRICT}, baseline {sum(base.values())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
