"""openConsole on Xen: the pty XenStore names in console/tty (real oxenstored, fake xl, a real pty)."""

from __future__ import annotations

import os
import pty
import select

import pytest
from xen_seed import FC4

import guiapp.backend as libvirt
from guiapp.backend.drivers.xen.xsclient import XenStoreClient


def test_console_is_the_pty_from_xenstore(xen_env) -> None:  # type: ignore[no-untyped-def]
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    conn = libvirt.open("xen:///")
    master, slave = pty.openpty()  # stands in for xenconsoled's pty of the guest
    tty = os.ttyname(slave)
    os.close(slave)
    try:
        dom = conn.defineXML(FC4)
        with pytest.raises(libvirt.libvirtError) as e:
            dom.openConsole(None, conn.newStream(0), 0)
        assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID  # not running
        dom.create()
        with XenStoreClient(xen_env.socket, timeout=2) as xs:
            xs.write(f"/local/domain/{dom.ID()}/console/tty", tty)
        st = conn.newStream(0)
        dom.openConsole(None, st, 0)
        os.write(master, b"xen guest output\n")
        assert st.recv(100) == b"xen guest output\n"
        st.send(b"xl keys\r")
        assert select.select([master], [], [], 5)[0] and os.read(master, 100) == b"xl keys\r"
        with pytest.raises(libvirt.libvirtError) as e:
            dom.openConsole("serial3", conn.newStream(0), 0)
        assert e.value.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR
        st.finish()
        with XenStoreClient(xen_env.socket, timeout=2) as xs:  # a hostile value in XenStore is not opened
            xs.write(f"/local/domain/{dom.ID()}/console/tty", "/etc/shadow")
        with pytest.raises(libvirt.libvirtError) as e:
            dom.openConsole(None, conn.newStream(0), 0)
        assert "not a pty" in str(e.value)
        dom.destroy()
    finally:
        os.close(master)
        conn.close()
        libvirt.registerErrorHandler(None, None)

