"""Config history is a guiapp extension: over the remote driver (libvirt has no procedure for it) every
history call is VIR_ERR_NO_SUPPORT with a message saying so, and changes still work (nothing recorded)."""

from __future__ import annotations

import guiapp.backend as libvirt

DOM = """<domain type='test'><name>remote-hist</name><memory>65536</memory>
<os><type>hvm</type></os></domain>"""


def test_history_is_not_supported_over_remote(libvirtd) -> None:
    conn = libvirt.open(libvirtd.uri("test:///default"))
    try:
        dom = conn.defineXML(DOM)  # the hook records nothing and does not get in the way
        dom.setMemoryFlags(32768, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        calls = [dom.guiappConfigVersions, lambda: dom.guiappConfigRevert(1), conn.guiappDeletedDomains,
                 lambda: conn.guiappRestoreDeleted("remote-hist")]
        for call in calls:
            try:
                call()
            except libvirt.libvirtError as e:
                assert e.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
                assert "guiapp extension" in e.get_error_message()
                assert "libvirt has no such procedure" in e.get_error_message()
            else:
                raise AssertionError("a history call succeeded over remote")
        dom.undefine()
    finally:
        conn.close()
