"""Fixtures for the Storage window: the main window with test:///default open, and its Storage window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from gui_helpers import drain

URI = "test:///default"


@pytest.fixture
def storage(qtbot: Any, window: Any) -> Iterator[tuple[Any, Any]]:
    """(main window, Storage window) with test:///default open and default-pool selected."""
    window.manager.add(URI)
    qtbot.waitUntil(lambda: window.manager.conn(URI) is not None, timeout=5000)
    window.act_storage.trigger()
    win = window.storage_window
    qtbot.waitUntil(lambda: any(r.name == "default-pool" for r in win.pools.rows()), timeout=5000)
    qtbot.waitUntil(lambda: win.selected_pool() is not None, timeout=5000)
    yield window, win
    if shiboken6.isValid(win):
        for d in list(win.error_dialogs):
            d.close()
        win.close()
    drain(window.runner)
