"""Fixtures for the networks page: the main window with test:///default open, and its networks window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from gui_helpers import drain
from networks_helpers import URI, wait_rows


@pytest.fixture
def nets(qtbot: Any, window: Any) -> Iterator[tuple[Any, Any]]:
    """(main window, networks window) with test:///default open and its ``default`` network listed."""
    from guiapp.views.networks import open_networks_window

    window.manager.add(URI)
    qtbot.waitUntil(lambda: window.manager.conn(URI) is not None, timeout=5000)
    win = open_networks_window(window)
    wait_rows(qtbot, win, lambda rows: any(r.name == "default" for r in rows))
    yield window, win
    if shiboken6.isValid(win):  # a test may have closed it (it deletes itself when closed)
        for d in list(win.error_dialogs):
            d.close()
        win.close()
    drain(window.runner)
