"""The RFB (VNC) engine of the console: a sans-IO protocol (rfb), addresses, one-shot capture, a Qt client.

``guiapp.vnc.client`` imports Qt; the other modules do not.  The names below load their module on first use:
the main window imports ``guiapp.vnc.address`` before it shows, and needs no RFB engine for that.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {"ConsoleTarget": "address", "NoConsoleError": "address", "VncAddress": "address",
          "console_target": "address", "target_from_xml": "address",
          "AuthenticationError": "rfb", "RFBClient": "rfb", "RFBError": "rfb"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)


__all__ = ["ConsoleTarget", "NoConsoleError", "VncAddress", "console_target", "target_from_xml",
           "AuthenticationError", "RFBClient", "RFBError"]
