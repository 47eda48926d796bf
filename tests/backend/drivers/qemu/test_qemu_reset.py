"""virDomainReset on QEMU (system_reset): the tiny guest boots again without a shutdown; refused when off."""

from __future__ import annotations

import pytest
from qemu_testlib import guest_xml, needs_qemu, wait_console

import guiapp.backend as libvirt
from guiapp.backend import constants as C


@pytest.mark.qemu
@pytest.mark.slow
@needs_qemu
def test_reset_reboots_the_guest_at_once(conn, xdg, tiny_guest):
    kernel, initrd = tiny_guest
    dom = conn.defineXML(guest_xml("rst", kernel, initrd))
    dom.create()
    wait_console(xdg, "rst")
    pid = dom.ID()
    assert dom.reset(0) == 0
    wait_console(xdg, "rst", count=2)  # booted a second time in the same QEMU process
    assert dom.state()[0] == C.VIR_DOMAIN_RUNNING and dom.ID() == pid
    with pytest.raises(libvirt.libvirtError) as info:
        dom.reset(1)
    assert info.value.get_error_code() == C.VIR_ERR_INVALID_ARG
    dom.destroy()
    with pytest.raises(libvirt.libvirtError) as info:
        dom.reset(0)
    assert info.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID
