"""Test-wide settings: Qt offscreen, and no test reaching the host's hypervisor by accident.

``open(None)`` as root on a machine with QEMU means ``qemu:///system``: the host's real guests and networks
(opening changes nothing, but a test's define or start there would). Tests that mean to exercise the default-URI probe
unset ``LIBVIRT_DEFAULT_URI`` themselves (monkeypatch) and fake what the probe finds.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LIBVIRT_DEFAULT_URI", "test:///default")
# never route qemu:///system to a libvirtd that happens to run on this host (fixtures use private sockets)
os.environ.setdefault("GUIAPP_URI_ROUTE", "local")


import pytest


@pytest.fixture(autouse=True)
def _fresh_default_test_node():
    """Each test starts from libvirt's default node: test:///default is shared by the connections of a process
    (as in libvirt), and a connection some earlier test left open must not carry its domains over."""
    from guiapp.backend.drivers.test import shared

    shared.forget()
    yield
