"""openConsole through the remote driver: libvirt's stream procedure DOMAIN_OPEN_CONSOLE against Debian's
libvirtd running the tiny guest, compared with python3-libvirt's own console stream."""

from __future__ import annotations

import time

import pytest
from test_remote_qemu import GUEST, guest_files, libvirt, qemu_daemon  # noqa: F401 - fixtures

import guiapp.backend as lib

pytestmark = [pytest.mark.qemu, pytest.mark.slow]


def _shell(st, marker: bytes, command: bytes, timeout: float = 60) -> bytes:  # type: ignore[no-untyped-def]
    """Type ``command`` until ``marker`` comes back; the stream is read on this thread (non-blocking peer)."""
    import threading
    got = bytearray()
    done = threading.Event()

    def pump() -> None:
        try:
            while not done.is_set():
                data = st.recv(4096)
                if not data:
                    break
                got.extend(data if isinstance(data, bytes) else b"")
        except Exception:
            pass
    t = threading.Thread(target=pump, daemon=True)
    t.start()
    deadline = time.monotonic() + timeout
    while marker not in got:
        assert time.monotonic() < deadline, bytes(got[-400:])
        st.send(command + b"\r")
        end = time.monotonic() + 2
        while marker not in got and time.monotonic() < end:
            time.sleep(0.05)
    done.set()
    return bytes(got)


def test_console_over_the_remote_driver(qemu_daemon, guest_files) -> None:  # noqa: F811
    uri = qemu_daemon.uri("qemu:///system")
    kernel, initrd = guest_files
    theirs = libvirt.open(uri)
    theirs.defineXML(GUEST.format(kernel=kernel, initrd=initrd)).create()
    c = lib.open(uri)
    try:
        dom = c.lookupByName("remote-tiny")
        st = c.newStream(0)
        dom.openConsole(None, st, 0)
        assert b"R42" in _shell(st, b"R42", b"echo R$((6*7))")
        # libvirt's own client sees the session and is refused, as libvirtd enforces one per console
        with pytest.raises(libvirt.libvirtError) as e:
            theirs.lookupByName("remote-tiny").openConsole(None, theirs.newStream(0), 0)
        assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
        # and guiapp's remote errors are libvirtd's: same code for a device that does not exist
        with pytest.raises(lib.libvirtError) as mine:
            dom.openConsole("serial9", c.newStream(0), lib.VIR_DOMAIN_CONSOLE_FORCE)
        with pytest.raises(libvirt.libvirtError) as ref:
            theirs.lookupByName("remote-tiny").openConsole("serial9", theirs.newStream(0),
                                                           libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        assert mine.value.get_error_code() == ref.value.get_error_code()
        assert mine.value.get_error_message() == ref.value.get_error_message()
        st.finish()
    finally:
        c.close()
        theirs.close()
