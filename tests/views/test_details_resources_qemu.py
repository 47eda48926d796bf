"""Details → CPUs & Memory Apply on the QEMU driver (a firmware-only guest, TCG): vCPU hot-plug up to the
running maximum, the definition beyond it, and a transient guest that is never defined."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import load_module

import guiapp.backend as libvirt
from guiapp.backend.xml.domain import parse_domain
from guiapp.views.details.hwapply import LIVE_ONLY, NEXT_BOOT, NOW
from guiapp.views.details.resources_apply import MAX_MEMORY, NOT_APPLIED, VCPUS, apply_resources

qt = load_module("backend/drivers/qemu/qemu_testlib.py", "qemu_testlib")
xdg, conn = qt.xdg, qt.conn  # fixtures: private XDG dirs and a qemu:///session connection

pytestmark = [pytest.mark.qemu, pytest.mark.slow, qt.needs_qemu]

KIB = 32 * 1024


def guest(name: str, maximum: int = 2) -> str:
    return (f"<domain type='qemu'><name>{name}</name><memory unit='KiB'>{KIB}</memory>"
            f"<vcpu current='1'>{maximum}</vcpu><os><type arch='x86_64'>hvm</type></os><devices/></domain>")


def config(dom: Any) -> Any:
    return parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))


def test_running_guest_hotplugs_up_to_its_maximum_then_defines(conn: Any) -> None:
    dom = conn.defineXML(guest("res-p"))
    dom.create()
    assert dom.info()[3] == 1
    out = apply_resources(dom, 2, KIB, KIB)
    assert out.how == {VCPUS: NOW} and not out.errors and dom.info()[3] == 2
    assert (config(dom).vcpus_current, config(dom).vcpus) == (2, 2)
    out = apply_resources(dom, 3, KIB, KIB)  # above the running maximum: the next boot
    assert out.how == {VCPUS: NEXT_BOOT} and not out.errors and dom.info()[3] == 2
    assert (config(dom).vcpus_current, config(dom).vcpus) == (3, 3)
    dom.destroy()


def test_transient_guest_changes_live_only(conn: Any) -> None:
    dom = conn.createXML(guest("res-t", 3), 0)
    out = apply_resources(dom, 2, KIB, KIB)
    assert out.how == {VCPUS: LIVE_ONLY} and dom.info()[3] == 2
    with pytest.raises(libvirt.libvirtError, match="transient"):
        apply_resources(dom, 5, KIB, KIB)
    assert not dom.isPersistent() and dom.info()[3] == 2
    with pytest.raises(libvirt.libvirtError, match="maximum memory"):  # never changes on a running guest
        apply_resources(dom, 2, KIB, 2 * KIB)
    out = apply_resources(dom, 3, KIB, 2 * KIB)  # one part applies: said with the part that did not
    assert out.how == {VCPUS: LIVE_ONLY, MAX_MEMORY: NOT_APPLIED} and [w for w, _e in out.errors] == [MAX_MEMORY]
    assert "Maximum memory not changed live" in out.note() and dom.info()[3] == 3
    assert not dom.isPersistent()
    dom.destroy()
