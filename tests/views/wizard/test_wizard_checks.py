"""The wizard's pure input checks (no Qt): each says what to fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from guiapp.views.wizard import checks


@pytest.mark.parametrize("name, existing, expect", [
    ("vm1", (), None),
    ("a.b_c+d-1", (), None),
    ("", (), "Enter a name"),
    ("x" * 65, (), "use at most 64"),
    ("my/vm", (), "(not '/')"),
    ("é", (), "(not 'é')"),
    (".hidden", (), "must start with a letter or a digit"),
    ("taken", ("taken",), "already exists"),
])
def test_name(name: str, existing: tuple[str, ...], expect: str | None) -> None:
    msg = checks.check_name(name, existing)
    assert msg is None if expect is None else expect in msg


def test_files(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    assert checks.check_readable_file(str(f), "kernel") is None
    assert "does not exist" in checks.check_readable_file(str(tmp_path / "nope"), "kernel")
    assert "is a directory" in checks.check_readable_file(str(tmp_path), "kernel")
    assert "must be absolute" in checks.check_readable_file("f", "kernel")
    assert "not a regular file" in checks.check_readable_file("/dev/null", "kernel")
    assert "already exists" in checks.check_new_file(str(f))
    assert checks.check_new_file(str(tmp_path / "new.img")) is None
    deep = str(tmp_path / "a" / "b" / "new.img")
    assert "does not exist" in checks.check_new_file(deep)
    assert checks.check_new_file(deep, create_parent=True) is None
    assert "is not a folder" in checks.check_new_file(str(f / "x" / "y.img"), create_parent=True)


def test_unreadable_file(tmp_path: Path) -> None:
    f = tmp_path / "secret"
    f.write_text("x")
    f.chmod(0)
    if os.access(f, os.R_OK):
        pytest.skip("running as root: every file is readable")
    assert "cannot be read" in checks.check_readable_file(str(f), "kernel")


@pytest.mark.parametrize("mac, expect", [
    ("52:54:00:12:34:56", None), ("52:54:00:AB:cd:EF", None),
    ("52:54:00:12:34", "not a MAC address"), ("52-54-00-12-34-56", "not a MAC address"),
    ("03:00:00:00:00:01", "multicast MAC"), ("00:00:00:00:00:00", "not a usable"),
    ("52:54:00:00:00:01", "used twice"),
])
def test_mac(mac: str, expect: str | None) -> None:
    msg = checks.check_mac(mac, {"52:54:00:00:00:01"})
    assert msg is None if expect is None else expect in msg


@pytest.mark.parametrize("addr, ok", [("224.0.0.1", True), ("239.255.255.255", True), ("230.0.0.1", True),
                                      ("223.255.255.255", False), ("240.0.0.1", False), ("ff02::1", False),
                                      ("nonsense", False), ("", False)])
def test_multicast(addr: str, ok: bool) -> None:
    assert (checks.check_multicast(addr) is None) == ok


def test_ports_hosts_limits() -> None:
    assert checks.check_port(1) is None and checks.check_port(65535) is None
    assert "out of range" in checks.check_port(0) and "out of range" in checks.check_port(65536)
    assert "use 5900-65535" in checks.check_port(5899, "VNC port", 5900, 65535)
    assert checks.check_host("192.168.0.1") is None and checks.check_host("host-1.example") is None
    assert checks.check_host("::1") is None
    assert "neither" in checks.check_host("a b")
    assert "more than the host's 1024 MiB" in checks.check_memory(2048, 1024)
    assert checks.check_memory(1024, 1024) is None
    assert "more than the host's 4 CPUs" in checks.check_vcpus(5, 255, 4)
    assert "allows for one guest (2)" in checks.check_vcpus(3, 2, 4)
    assert checks.check_ifname("br0", "bridge name", required=True) is None
    assert "at most 15" in checks.check_ifname("a-very-long-bridge", "bridge name", required=True)
    assert checks.check_ifname("", "target device", required=False) is None
    assert "not a UUID" in checks.check_uuid("123")
    assert checks.check_uuid("") is None and checks.check_uuid("4dea24b3-1d52-d8f3-2516-782e98a23fa0") is None
