"""Helpers for the GUI tests: driver calls off the UI thread, waiting for the pool."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication


def off_ui(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a plain thread and return its result (tests must not call drivers on the UI thread)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised on the caller's thread
            box["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    if "error" in box:
        raise box["error"]
    return box.get("result")


def drain(runner: Any, rounds: int = 5) -> None:
    """Wait for the pool, then deliver the queued result signals."""
    for _ in range(rounds):
        runner.wait(10_000)
        QCoreApplication.processEvents()
