"""QEMU driver test fixtures (defined in qemu_testlib and helpers.tinyguest)."""

from helpers.tinyguest import tiny_guest  # noqa: F401 - fixture
from qemu_testlib import conn, xdg  # noqa: F401 - fixtures
