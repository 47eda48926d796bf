"""Fixtures for the console window tests: real QEMU displays, the tiny guest."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "vnc"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/ (fixtures.tinyguest)

from fixtures.tinyguest import tiny_guest  # noqa: E402,F401 - fixture
from vnc_qemu import qemu_display  # noqa: E402,F401 - fixture
