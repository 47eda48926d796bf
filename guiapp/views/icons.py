"""Icons from ``resources/icons`` (the application icon, domain state and connection status icons)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Union

from PySide6.QtGui import QIcon

_PACKAGE = Path(__file__).resolve().parent.parent


def _resources() -> Path:
    """``guiapp/resources`` when installed (the top-level ``resources/`` shipped as package data, see setup.py),
    else the checkout's own ``resources/`` (running from source or an editable install)."""
    for candidate in (_PACKAGE / "resources", _PACKAGE.parent / "resources"):
        if (candidate / "icons").is_dir():
            return candidate
    return _PACKAGE / "resources"


RESOURCES = _resources()
ICONS = RESOURCES / "icons"

_STATE_FILES = {
    1: "state-running", 2: "state-running", 3: "state-paused", 4: "state-shutdown",
    5: "state-shutoff", 6: "state-crashed", 7: "state-suspended", 0: "state-shutoff",
    "connected": "conn-connected", "connecting": "conn-connecting", "failed": "conn-failed",
    "disconnected": "conn-failed", "error": "conn-failed",
}


@cache
def icon(name: str) -> QIcon:
    """``resources/icons/<name>.svg`` as a QIcon (empty icon when missing)."""
    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def app_icon() -> QIcon:
    return icon("guiapp")


@cache
def state_icon(state: Union[int, str]) -> QIcon:
    """The icon for a domain state number or a connection status string."""
    return icon(_STATE_FILES.get(state, "state-shutoff"))
