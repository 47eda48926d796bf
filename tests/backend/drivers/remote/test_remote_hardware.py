"""Rename and metadata through guiapp's remote driver to Debian's libvirtd (its test driver), compared with
python3-libvirt on the same calls through the same daemon (libvirt's test driver has no device attach to compare)."""

from __future__ import annotations

from helpers import load_module, real_libvirt

import guiapp.backend as guiapp_libvirt

api_tests = load_module("backend/test_hardware_api.py", "hardware_api_tests")


def test_remote_rename_and_metadata_like_libvirt(own_libvirtd) -> None:
    real = real_libvirt()
    uri = own_libvirtd.uri("test:///default")  # python3-libvirt through the same daemon: nothing in-process
    reference = api_tests.scenario(real, uri)
    ours = api_tests.scenario(guiapp_libvirt, uri)
    assert ours == reference


def test_remote_device_call_reaches_the_daemon(own_libvirtd) -> None:
    """libvirtd's test driver has no attach: its NO_SUPPORT error comes back unchanged."""
    guiapp_libvirt.registerErrorHandler(lambda ctx, err: None, None)
    conn = guiapp_libvirt.open(own_libvirtd.uri("test:///default"))
    try:
        dom = conn.lookupByName("test")
        for call in (dom.attachDeviceFlags, dom.detachDeviceFlags, dom.updateDeviceFlags):
            try:
                call("<disk type='file'><source file='/x'/><target dev='vdb'/></disk>", 0)
            except guiapp_libvirt.libvirtError as exc:
                assert exc.get_error_code() == guiapp_libvirt.VIR_ERR_NO_SUPPORT
                assert "Device" in exc.get_error_message()
            else:
                raise AssertionError(f"{call.__name__} succeeded on libvirt's test driver")
    finally:
        conn.close()
        guiapp_libvirt.registerErrorHandler(None, None)
