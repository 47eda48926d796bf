"""Which URIs go to a daemon, and that hostile URI parts never become ssh options or shell syntax."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

import guiapp.backend as lib
from guiapp.backend.drivers import driver_for_uri
from guiapp.backend.drivers.remote import RemoteDriver, route
from guiapp.backend.errors import DriverError
from guiapp.backend.uri import parse_uri


def target(text: str, read_only: bool = False):
    return route.target_for(parse_uri(text), read_only)


def test_local_uris_stay_local_without_a_daemon(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GUIAPP_URI_ROUTE", "auto")
    monkeypatch.setattr(route, "SYSTEM_SOCKET_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    for uri in ("qemu:///system", "qemu:///session", "test:///default", "xen:///"):
        assert target(uri) is None
    assert driver_for_uri(parse_uri("test:///default"), False).__module__.startswith("guiapp.backend.drivers.test")


def test_qemu_system_goes_to_a_running_daemon(libvirtd, monkeypatch) -> None:
    monkeypatch.setattr(route, "SYSTEM_SOCKET_DIR", str(libvirtd.sock_dir))
    monkeypatch.setenv("GUIAPP_URI_ROUTE", "auto")
    t = target("qemu:///system")
    assert t is not None and t.auto and t.socket == libvirtd.sock and t.name == "qemu:///system"
    assert target("qemu:///system", read_only=True).socket == libvirtd.ro_sock
    assert driver_for_uri(parse_uri("qemu:///system"), False) is RemoteDriver
    c = lib.open("qemu:///system")
    try:
        assert c.getType() == "QEMU" and c.getURI() == "qemu:///system"
        assert c.listAllDomains() == []
    finally:
        c.close()
    monkeypatch.setenv("GUIAPP_URI_ROUTE", "local")
    assert target("qemu:///system") is None
    assert target("qemu:///system?route=remote") is not None


def test_forcing_remote_without_a_daemon_says_what_is_missing(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(route, "SYSTEM_SOCKET_DIR", str(tmp_path))
    monkeypatch.setenv("GUIAPP_URI_ROUTE", "remote")
    with pytest.raises(lib.libvirtError) as e:
        lib.open("qemu:///system")
    assert e.value.get_error_code() == lib.VIR_ERR_NO_CONNECT and str(tmp_path) in str(e.value)
    monkeypatch.setenv("GUIAPP_URI_ROUTE", "sideways")
    with pytest.raises(lib.libvirtError) as e:
        lib.open("qemu:///system")
    assert e.value.get_error_code() == lib.VIR_ERR_INVALID_ARG


def test_daemon_name_drops_transport_and_client_parameters() -> None:
    t = target("qemu+ssh://alice@host.example:2200/system?keyfile=/k&no_verify=1&socket=/s&foo=bar")
    assert (t.transport, t.name, t.user, t.host, t.port, t.keyfile, t.no_verify, t.socket) == (
        "ssh", "qemu:///system?foo=bar", "alice", "host.example", 2200, "/k", True, "/s")
    assert target("test+tcp://127.0.0.1/tmp/node.xml").port == route.DEFAULT_TCP_PORT
    assert target("test+unix:///default?socket=/x/y").socket == "/x/y"


@pytest.mark.parametrize("uri,code", [
    ("qemu+tls://host/system", lib.VIR_ERR_NO_CONNECT),
    ("qemu://host/system", lib.VIR_ERR_NO_CONNECT),  # the QEMU driver's own refusal (libvirt: TLS)
    ("qemu+ssh://-oProxyCommand=touch%20/tmp/pwned/system", lib.VIR_ERR_INVALID_ARG),
    ("qemu+ssh://-oProxyCommand=x@h/system", lib.VIR_ERR_INVALID_ARG),
    ("qemu+ssh://h/system?keyfile=-oProxyCommand=x", lib.VIR_ERR_INVALID_ARG),
    ("qemu+ssh://h/system?command=ssh%20-oProxyCommand=x", lib.VIR_ERR_INVALID_ARG),
    ("qemu+ssh://h/system?command=-oProxyCommand=x", lib.VIR_ERR_INVALID_ARG),
    ("qemu+ssh://h/system?netcat=nc;reboot", lib.VIR_ERR_INVALID_ARG),
    ("qemu+ssh://h/system?socket=relative", lib.VIR_ERR_INVALID_ARG),
    ("qemu+ssh://h/system?no_verify=maybe", lib.VIR_ERR_INVALID_ARG),
    ("qemu+ssh://h/system?proxy=native&netcat=nc", lib.VIR_ERR_INVALID_ARG),
    ("qemu+ssh://h;reboot/system", lib.VIR_ERR_INVALID_ARG),
])
def test_hostile_uris_are_refused_before_anything_runs(uri: str, code: int, tmp_path: Path) -> None:
    with pytest.raises(lib.libvirtError) as e:
        lib.open(uri)
    assert e.value.get_error_code() == code, str(e.value)
    assert not Path("/tmp/pwned").exists()


def test_remote_command_quotes_every_value() -> None:
    hostile = "/run/x'; touch /tmp/pwned; echo '"
    t = route.Target("ssh", "qemu:///system?x=$(reboot)", socket=hostile, host="h")
    argv = route.ssh_argv(t)
    assert argv[-3:-1] == ["--", "h"]
    # the remote command, as the far side's shell parses it: sh -c SCRIPT, the socket one word
    words = shlex.split(argv[-1])
    assert words[:2] == ["sh", "-c"] and len(words) == 3
    assert shlex.split(words[2].split("; exec ")[-1])[-1] == hostile
    t2 = route.Target("ssh", "qemu:///system?x=$(reboot)'", host="h")
    script = shlex.split(route.ssh_argv(t2)[-1])[2]
    assert "virt-ssh-helper 'qemu:///system?x=$(reboot)'\"'\"''" in script
    # run the script's quoting through a real shell: the hostile URI arrives as one argument
    out = subprocess.run(["sh", "-c", script.replace("exec virt-ssh-helper", "printf %s")
                          .replace("command -v virt-ssh-helper", "true")], capture_output=True, text=True)
    assert out.stdout == "qemu:///system?x=$(reboot)'"


def test_ssh_argv_layout() -> None:
    t = target("qemu+ssh://root@127.0.0.1:2222/system?keyfile=/k&no_verify=1&no_tty=1", read_only=True)
    argv = route.ssh_argv(t)
    assert argv[1:-1] == ["-p", "2222", "-l", "root", "-i", "/k", "-T", "-e", "none", "-o", "BatchMode=yes",
                          "-o", "StrictHostKeyChecking=no", "--", "127.0.0.1"]
    assert "virt-ssh-helper -r qemu:///system" in argv[-1] and "libvirt-sock-ro" in argv[-1]


def test_missing_ssh_program() -> None:
    t = route.Target("ssh", "qemu:///system", host="h", ssh_binary="no-such-ssh-here")
    with pytest.raises(DriverError) as e:
        route.ssh_argv(t)
    assert e.value.code == lib.VIR_ERR_NO_CONNECT and "no-such-ssh-here" in e.value.detail


def test_routing_makes_no_connection(monkeypatch, tmp_path: Path) -> None:
    """A socket file nobody listens on: the decision only looks at the file (connecting is open()'s job)."""
    import socket as s
    sock = s.socket(s.AF_UNIX)
    sock.bind(str(tmp_path / "libvirt-sock"))  # bound, not listening
    monkeypatch.setattr(route, "SYSTEM_SOCKET_DIR", str(tmp_path))
    monkeypatch.setenv("GUIAPP_URI_ROUTE", "auto")
    assert target("qemu:///system") is not None
    with pytest.raises(lib.libvirtError) as e:
        lib.open("qemu:///system")
    assert e.value.get_error_code() == lib.VIR_ERR_SYSTEM_ERROR and "Failed to connect socket" in str(e.value)
    sock.close()
    os.unlink(tmp_path / "libvirt-sock")
