"""The RFB (VNC) engine of the console: a sans-IO protocol (rfb), addresses, one-shot capture, a Qt client.

``guiapp.vnc.client`` imports Qt; the other modules do not.
"""

from .address import ConsoleTarget, NoConsoleError, VncAddress, console_target, target_from_xml
from .rfb import AuthenticationError, RFBClient, RFBError

__all__ = ["ConsoleTarget", "NoConsoleError", "VncAddress", "console_target", "target_from_xml",
           "AuthenticationError", "RFBClient", "RFBError"]
