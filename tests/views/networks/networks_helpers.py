"""Helpers for the networks page tests."""

from __future__ import annotations

from typing import Any

URI = "test:///default"


def wait_rows(qtbot: Any, win: Any, predicate: Any, timeout: int = 5000) -> None:
    """Wait until ``predicate(rows of the networks window)`` holds."""
    qtbot.waitUntil(lambda: predicate(win.model.rows()), timeout=timeout)
