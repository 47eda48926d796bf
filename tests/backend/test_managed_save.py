"""Managed save (virDomainManagedSave, HasManagedSaveImage, ManagedSaveRemove) on the test driver, run the same
way through Debian's real libvirt test driver and compared."""

from __future__ import annotations

import sys
from typing import Any

import pytest

import guiapp.backend as libvirt


def real_libvirt() -> Any:
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import libvirt as real  # type: ignore[import-not-found]
    except ImportError:
        return None
    finally:
        sys.path.remove("/usr/lib/python3/dist-packages")
    real.registerErrorHandler(lambda ctx, err: None, None)
    return real


def scenario(lv: Any) -> list[Any]:
    """The same calls on either library; returns what each step observed."""
    out: list[Any] = []
    conn = lv.open("test:///default")
    dom = conn.lookupByName("test")
    out.append(("before", dom.hasManagedSaveImage(0), dom.state()[0]))
    dom.managedSave(0)
    out.append(("saved", dom.hasManagedSaveImage(0), dom.state(), dom.isActive()))
    listed = [d.name() for d in conn.listAllDomains(lv.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE)]
    out.append(("listed", listed))
    try:
        dom.managedSave(0)
    except lv.libvirtError as exc:
        out.append(("again", exc.get_error_code()))
    dom.create()
    out.append(("started", dom.hasManagedSaveImage(0), dom.state()[0]))
    dom.managedSave(0)
    dom.managedSaveRemove(0)
    out.append(("removed", dom.hasManagedSaveImage(0), dom.state()[0]))
    try:
        dom.hasManagedSaveImage(1)
    except lv.libvirtError as exc:
        out.append(("bad flags", exc.get_error_code()))
    ro = lv.openReadOnly("test:///default")
    try:
        ro.lookupByName("test").managedSave(0)
    except lv.libvirtError as exc:
        out.append(("read-only", exc.get_error_code()))
    out.append(("read-only query", ro.lookupByName("test").hasManagedSaveImage(0)))
    conn.close()
    ro.close()
    return out


def test_managed_save_matches_real_libvirt() -> None:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    try:
        ours = scenario(libvirt)
    finally:
        libvirt.registerErrorHandler(None, None)
    # what libvirt's test driver does (checked against it below when python3-libvirt is installed)
    assert ours[0] == ("before", 0, libvirt.VIR_DOMAIN_RUNNING)
    assert ours[1] == ("saved", 1, [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SAVED], 0)
    assert ours[2] == ("listed", ["test"])
    assert ours[3] == ("again", libvirt.VIR_ERR_OPERATION_INVALID)
    assert ours[4] == ("started", 0, libvirt.VIR_DOMAIN_RUNNING)
    real = real_libvirt()
    if real is None:
        pytest.skip("python3-libvirt is not installed: no comparison with the real test driver")
    assert scenario(real) == ours


def test_managed_save_refused_for_transient_domains_and_via_the_gui_api() -> None:
    conn = libvirt.open("test:///default")
    xml = conn.lookupByName("test").XMLDesc(0).replace("<name>test</name>", "<name>tr</name>")
    xml = xml.replace(xml[xml.index("<uuid>"):xml.index("</uuid>") + 7], "")
    dom = conn.createXML(xml, 0)
    with pytest.raises(libvirt.libvirtError) as exc:
        dom.managedSave(0)
    assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    assert "transient" in str(exc.value)
    conn.close()
