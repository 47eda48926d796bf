"""QEMU driver test fixtures (defined in qemu_testlib)."""

from qemu_testlib import conn, tiny_guest, xdg  # noqa: F401 - fixtures
