"""Managed save on a real QEMU guest: managedSave stops it keeping its memory, start restores it."""

from __future__ import annotations

import pytest
from qemu_testlib import guest_xml, type_on_console, wait_console

import guiapp.backend as libvirt
from guiapp.backend import constants as C
from guiapp.backend.drivers.qemu.managedsave import managed_save_path
from guiapp.backend.drivers.qemu.state import Dirs

pytestmark = [pytest.mark.qemu, pytest.mark.slow]


def code_of(call) -> int:
    with pytest.raises(libvirt.libvirtError) as ei:
        call()
    return ei.value.get_error_code()


def test_managed_save_start_restores_memory_and_uses_image_up(conn, xdg, tiny_guest):
    kernel, initrd = tiny_guest
    dom = conn.defineXML(guest_xml("msave", kernel, initrd))
    assert dom.hasManagedSaveImage(0) == 0
    assert code_of(lambda: dom.managedSave(0)) == C.VIR_ERR_OPERATION_INVALID  # not running
    dom.create()
    wait_console(xdg, "msave")
    # state only the guest's memory holds: a fresh boot would not know it
    type_on_console(dom, "export KEEP=kept-$((6*7))")
    dom.managedSave(0)
    assert dom.state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_SAVED]
    assert dom.hasManagedSaveImage(0) == 1
    image = managed_save_path(Dirs.for_uri_path("/session"), dom.UUID())
    assert image.is_file() and image.stat().st_size > 1024 * 1024
    assert oct(image.stat().st_mode & 0o777) == "0o600"
    assert [d.name() for d in conn.listAllDomains(C.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE)] == ["msave"]
    assert "msave" not in [d.name() for d in conn.listAllDomains(C.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE)]
    assert code_of(lambda: dom.hasManagedSaveImage(1)) == C.VIR_ERR_INVALID_ARG
    assert code_of(dom.undefine) == C.VIR_ERR_OPERATION_INVALID  # the image would be lost

    dom.create()  # restores the image, then the image is gone
    assert dom.state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_RESTORED]
    assert dom.hasManagedSaveImage(0) == 0 and not image.exists()
    type_on_console(dom, "echo GOT-$KEEP")
    wait_console(xdg, "msave", "GOT-kept-42", timeout=30)

    # FORCE_BOOT discards the image and boots afresh; managedSaveRemove drops one
    dom.managedSave(0)
    dom.createWithFlags(C.VIR_DOMAIN_START_FORCE_BOOT)
    assert dom.state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_BOOTED]
    assert dom.hasManagedSaveImage(0) == 0
    dom.managedSave(0)
    dom.managedSaveRemove(0)
    assert dom.hasManagedSaveImage(0) == 0 and not image.exists()
    dom.create()
    assert dom.state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_BOOTED]
    dom.managedSave(0)
    dom.undefineFlags(C.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)  # with the flag: the image goes with it
    assert not image.exists()
    assert code_of(lambda: conn.lookupByName("msave")) == C.VIR_ERR_NO_DOMAIN
