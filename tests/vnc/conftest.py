"""Fixtures for the RFB engine tests: real QEMU displays on VNC unix sockets."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (fixtures.tinyguest)

from fixtures.tinyguest import tiny_guest  # noqa: E402,F401 - fixture
from vnc_qemu import qemu_display  # noqa: E402,F401 - fixture
