"""The networks page of the manager: list, start/stop, create from a small form, XML and DHCP leases."""

from .window import NetworksWindow, open_networks_window

__all__ = ["NetworksWindow", "open_networks_window"]
