"""The two-phase network install: install XML runs, final XML is what the next boot uses — as real libvirt does."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import real_libvirt

import guiapp.backend as ours
from guiapp.backend.errors import DriverError
from guiapp.backend.osinfo.netinstall import BootFiles, install_pair, start_install

XML = """<domain type='test'><name>netinst</name><memory>131072</memory>
<os><type>hvm</type><cmdline>auto=true priority=critical</cmdline><boot dev='hd'/></os>
<on_reboot>restart</on_reboot><devices/></domain>"""
FILES = BootFiles("http://127.0.0.1:9/tree/", "linux", "initrd.gz", "/images/boot/netinstall-ab-kernel",
                  "/images/boot/netinstall-ab-initrd", False)


def test_install_and_final_xml() -> None:
    install, final = install_pair(XML, FILES, "test")
    for text in (install, final):
        assert "<uuid>" in text
    assert install.split("<uuid>")[1][:36] == final.split("<uuid>")[1][:36]  # one guest
    assert "<kernel>/images/boot/netinstall-ab-kernel</kernel>" in install
    assert "<cmdline>auto=true priority=critical</cmdline>" in install
    assert "<on_reboot>destroy</on_reboot>" in install  # the installer's reboot stops the guest
    assert "<kernel>" not in final and "<initrd>" not in final and "<cmdline>" not in final
    assert "<on_reboot>restart</on_reboot>" in final and "<boot dev='hd'/>" in final


def _phases(mod: Any) -> tuple[Any, ...]:
    conn = mod.open("test:///default")
    try:
        install, final = install_pair(XML, FILES, "test")
        dom = start_install(conn, install, final)
        live, config = dom.XMLDesc(0), dom.XMLDesc(mod.VIR_DOMAIN_XML_INACTIVE)
        running = (dom.isActive(), dom.isPersistent(), "<kernel>" in live, "<kernel>" in config,
                   "destroy</on_reboot>" in live, "restart</on_reboot>" in config)
        dom.destroy()
        after = ("<kernel>" in dom.XMLDesc(0), dom.isPersistent())
        dom.undefine()
        return running + after
    finally:
        conn.close()


def test_running_install_keeps_the_final_definition_for_the_next_boot_like_libvirt() -> None:
    real = real_libvirt()
    assert _phases(ours) == _phases(real) == (1, 1, True, False, True, True, False, 1)


def test_a_failed_start_reports_the_defined_domain_for_undoing() -> None:
    conn = ours.open("test:///default")
    seen: list[Any] = []
    install, final = install_pair(XML, FILES, "test")
    conn.defineXML(install).create()  # already running: the second start fails
    with pytest.raises(ours.libvirtError):
        start_install(conn, install, final, seen.append)
    assert seen and seen[0].name() == "netinst"
    with pytest.raises(DriverError):
        install_pair("<domain", FILES, "test")
