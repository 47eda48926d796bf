"""Helpers for the GUI tests: driver calls off the UI thread, waiting for the pool."""

from __future__ import annotations

from typing import Any

from helpers.threads import off_ui  # noqa: F401 - re-exported: the GUI tests import it from here
from PySide6.QtCore import QCoreApplication


def drain(runner: Any, rounds: int = 5) -> None:
    """Wait for the pool, then deliver the queued result signals."""
    for _ in range(rounds):
        runner.wait(10_000)
        QCoreApplication.processEvents()


def rerun_under_xvfb(test_file: str, test_name: str | list[str], flag: str, artifacts: str,
                     timeout: float = 120) -> list:
    """Run screenshot tests again in one child pytest on a real X server (xvfb-run, Qt's xcb platform).

    ``test_name``: one test of ``test_file`` or a list of them (one child and one X server for all).

    ``flag`` is the environment variable that tells the child it is the Xvfb run; returns the PNGs the child
    wrote under ``artifacts/<artifacts>`` (those newer than the start of this call).
    """
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    started = time.time() - 1
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", **{flag: "1"})
    names = [test_name] if isinstance(test_name, str) else test_name
    res = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x900x24", sys.executable, "-m", "pytest", "-q",
                          "-p", "no:cacheprovider", *(f"{Path(test_file).resolve()}::{n}" for n in names)],
                         cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return [p for p in (root / "artifacts" / artifacts).glob("*.png") if p.stat().st_mtime >= started]
