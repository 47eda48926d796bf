"""Fixtures for the RFB engine tests: real QEMU displays on VNC unix sockets."""

from __future__ import annotations

from helpers.tinyguest import tiny_guest  # noqa: F401 - fixture
from helpers.vnc_qemu import qemu_display  # noqa: F401 - fixture
