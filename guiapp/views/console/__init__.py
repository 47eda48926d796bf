"""The VNC console: window, display widget, Send Key, screenshot, password prompt, external viewer."""

from .widget import Scaling, VncView
from .window import ConsoleWindow, open_console

__all__ = ["ConsoleWindow", "open_console", "Scaling", "VncView"]
