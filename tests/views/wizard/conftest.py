"""Fixtures for the New-VM wizard tests: a job runner, connections opened and closed off the UI thread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gui_helpers import drain, off_ui
from helpers.tinyguest import (
    qemu_processes_under,
    tiny_guest,  # noqa: F401 - a fixture for the QEMU boot test
)

import guiapp.backend as libvirt
from guiapp.jobs import JobRunner


@pytest.fixture
def runner(qtbot: Any) -> Iterator[JobRunner]:
    r = JobRunner()
    yield r
    drain(r)


@pytest.fixture
def test_conn(ui_guard: None) -> Iterator[Any]:
    """A private test:///default connection (each open gets its own in-memory node)."""
    conn = off_ui(lambda: libvirt.open("test:///default"))
    yield conn
    off_ui(conn.close)


@pytest.fixture
def files(tmp_path: Any) -> dict[str, str]:
    """Real files for the install and storage pages."""
    out = {}
    for name, data in (("kernel", b"\x7fkernel"), ("initrd", b"initrd"), ("iso", b"CD001" * 100),
                       ("image", b"\0" * 4096), ("floppy", b"\0" * 1474560), ("script", b"#!/bin/sh\nexit 0\n")):
        p = tmp_path / f"{name}.bin"
        p.write_bytes(data)
        out[name] = str(p)
    import os
    os.chmod(out["script"], 0o755)
    out["dir"] = str(tmp_path)
    return out


@pytest.fixture
def qemu_conn(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, ui_guard: None) -> Iterator[Any]:
    """A qemu:///session connection in private XDG directories; guests left running are destroyed."""
    import shutil
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")
    run = tmp_path / "xdg-run"
    run.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    conn = off_ui(lambda: libvirt.open("qemu:///session"))
    yield conn

    def cleanup() -> None:
        for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                d.destroy()
            except libvirt.libvirtError:
                pass
        conn.close()
    off_ui(cleanup)
    assert not qemu_processes_under(str(tmp_path)), "the test left QEMU guests running"


