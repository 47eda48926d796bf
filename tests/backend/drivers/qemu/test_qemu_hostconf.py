"""The QEMU driver's host settings (hostconf.py, libvirt's qemu.conf subset) and what they add to the argv:
VNC TLS/SASL, chardev TLS, the VNC listener defaults; plus ``-rtc base=<time>``, ``-chardev vc`` and the stale
generated VNC socket rule. Hostile values of the file and of the XML never add a key to QEMU's options."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from lxml import etree
from test_qemu_args_libvirt import _split
from test_qemu_command import PATHS, argv_of, dom, opt_values

import guiapp.backend as libvirt
from guiapp.backend import constants as C
from guiapp.backend.drivers.qemu import hostconf
from guiapp.backend.drivers.qemu.command import build_command
from guiapp.backend.drivers.qemu.hostconf import DEFAULT, QemuHostConfig
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain import parse_domain

TCP_VNC = "<graphics type='vnc' port='5903' autoport='no' listen='127.0.0.1'/>"
TLS = DEFAULT.with_(vnc_tls=True, vnc_tls_x509_cert_dir="/etc/pki/v", vnc_sasl=True)


def _refused(call, code: int = C.VIR_ERR_CONFIG_UNSUPPORTED) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DriverError) as exc:
        call()
    assert exc.value.code == code, exc.value.detail
    return exc.value.detail


def test_parse_reads_libvirt_syntax_and_keeps_defaults() -> None:
    text = """# qemu.conf
vnc_tls = 1   # on
vnc_tls_x509_cert_dir = "/etc/pki/libvirt-vnc"
vnc_sasl=1
chardev_tls = 0
vnc_auth_unix_socket_foo = "ignored"
cgroup_controllers = [ "cpu", "devices" ]
cgroup_device_acl = [
    "/dev/null", "/dev/full",   # a list over several lines
    "/dev/kvm"
]
chardev_tls_x509_verify = 0
"""
    cfg = hostconf.parse(text)
    assert (cfg.vnc_tls, cfg.vnc_sasl, cfg.chardev_tls) == (True, True, False)
    assert cfg.vnc_dir == "/etc/pki/libvirt-vnc"
    assert cfg.chardev_dir == "/etc/pki/qemu" and cfg.vnc_verify  # libvirt's defaults
    assert cfg.chardev_verify is False  # read after the list
    assert hostconf.parse("default_tls_x509_verify = 0\nvnc_tls_x509_verify = 1").chardev_verify is False
    assert hostconf.parse("") == DEFAULT and DEFAULT.vnc_auto_unix_socket


def test_load_reads_the_file_beside_the_config_dir(tmp_path: Path) -> None:
    assert hostconf.load(tmp_path / "qemu") == DEFAULT  # no file: the defaults
    hostconf.config_path(tmp_path / "qemu").write_text("chardev_tls = 1\n")
    assert hostconf.load(tmp_path / "qemu").chardev_tls is True


@pytest.mark.parametrize("text", [
    'vnc_tls_x509_cert_dir = "relative/dir"',        # not absolute
    'vnc_tls_x509_cert_dir = "/etc/pki/\tx"',        # a control character
    'chardev_tls_x509_cert_dir = "/a" "/b"',         # junk after the string
    'default_tls_x509_cert_dir = "/unterminated',
    "vnc_tls = 2", 'vnc_tls = "1"', "vnc_sasl = yes", "vnc_listen = 1",
    "just words",
])
def test_bad_settings_are_refused_naming_the_line(text: str) -> None:
    detail = _refused(lambda: hostconf.parse("# first\n" + text, "/x/qemu.conf"), C.VIR_ERR_CONF_SYNTAX)
    assert "/x/qemu.conf" in detail


@pytest.mark.parametrize("key", sorted(hostconf.UNSUPPORTED))
def test_settings_guiapp_cannot_honour_are_refused_not_ignored(key: str) -> None:
    """Ignoring a key password or SASL directory would start QEMU otherwise than asked: refused, naming it."""
    detail = _refused(lambda: hostconf.parse(f'vnc_tls = 1\n{key} = "6fd3f62d-9fe7-4a4e-a869-7acd6376d8ea"\n',
                                             "/x/qemu.conf"))
    assert f"'{key}'" in detail and "/x/qemu.conf line 2" in detail
    assert "6fd3f62d" not in detail  # the value (a secret's UUID) is not repeated


@pytest.mark.parametrize("directory", ["/etc/pki/a,dir=/evil", "/etc/pki/a,,endpoint=client", "/x=y,verify-peer=off"])
def test_hostile_certificate_directory_stays_one_value(directory: str) -> None:
    host = DEFAULT.with_(vnc_tls=True, vnc_tls_x509_cert_dir=directory)
    obj = opt_values(argv_of(dom(TCP_VNC), host=host), "-object")
    head, keys = _split(obj[0])
    assert head == "tls-creds-x509" and keys["dir"] == directory
    assert set(keys) == {"id", "dir", "endpoint", "verify-peer"} and keys["endpoint"] == "server"


def test_hostile_listen_setting_is_refused() -> None:
    host = DEFAULT.with_(vnc_listen="127.0.0.1,sasl=off", vnc_auto_unix_socket=False)
    assert "not an IP address" in _refused(lambda: argv_of(dom("<graphics type='vnc'/>"), host=host))
    _refused(lambda: DEFAULT.with_(vnc_listen="127.0.0.1\n"), C.VIR_ERR_CONF_SYNTAX)


def test_vnc_tls_and_sasl_on_the_tcp_listener_only() -> None:
    argv = argv_of(dom(TCP_VNC), host=TLS)
    assert opt_values(argv, "-object") == [
        "tls-creds-x509,id=vnc-tls-creds0,dir=/etc/pki/v,endpoint=server,verify-peer=on"]
    own, tcp = opt_values(argv, "-vnc")
    assert "tls-creds" not in own and "sasl" not in own  # guiapp's viewer socket stays plain
    assert tcp == "127.0.0.1:3,id=vnc1,tls-creds=vnc-tls-creds0,sasl=on"
    no_verify = argv_of(dom(TCP_VNC), host=TLS.with_(vnc_tls_x509_verify=False))
    assert opt_values(no_verify, "-object")[0].endswith("verify-peer=off")
    socket_only = argv_of(dom("<graphics type='vnc'><listen type='socket'/></graphics>"), host=TLS)
    assert not opt_values(socket_only, "-object") and "sasl" not in opt_values(socket_only, "-vnc")[0]


def test_missing_certificate_directory_is_refused_at_start(tmp_path: Path) -> None:
    host = TLS.with_(vnc_tls_x509_cert_dir=str(tmp_path / "none"))
    detail = _refused(lambda: argv_of(dom(TCP_VNC), host=host, check_files=True))
    assert "vnc_tls_x509_cert_dir" in detail
    argv_of(dom(TCP_VNC), host=host.with_(vnc_tls_x509_cert_dir=str(tmp_path)), check_files=True)


def test_vnc_without_listener_follows_vnc_auto_unix_socket() -> None:
    assert opt_values(argv_of(dom("<graphics type='vnc'/>")), "-vnc") == [f"vnc=unix:{PATHS.vnc_socket}"]
    off = DEFAULT.with_(vnc_auto_unix_socket=False, vnc_listen="::1")
    assert opt_values(argv_of(dom("<graphics type='vnc'/>"), host=off), "-vnc") == [
        f"vnc=unix:{PATHS.vnc_socket}", "[::1]:0,to=99,id=vnc1"]


def test_socket_inside_the_runtime_directory_is_a_stale_generated_one() -> None:
    paths = dataclasses.replace(PATHS, runtime_dir="/r")

    def argv_in_r(xml: str, host: QemuHostConfig = DEFAULT) -> list[str]:
        return build_command(parse_domain(xml, hypervisor="qemu"), paths, kvm_usable=True, check_files=False,
                             host=host).argv

    for graphics in ("<graphics type='vnc' socket='/r/sock/3-vnc'/>",
                     "<graphics type='vnc'><listen type='socket' socket='/r/sock/3-vnc'/></graphics>"):
        xml = dom(graphics)
        assert opt_values(argv_in_r(xml), "-vnc") == [f"vnc=unix:{PATHS.vnc_socket}"]
        tcp = argv_in_r(xml, DEFAULT.with_(vnc_auto_unix_socket=False))
        assert opt_values(tcp, "-vnc")[1] == "127.0.0.1:0,to=99,id=vnc1"
    kept = argv_in_r(dom("<graphics type='vnc' socket='/rx/vnc.sock'/>"))  # a sibling, not inside
    assert opt_values(kept, "-vnc") == ["vnc=unix:/rx/vnc.sock"]


def _tcp_serial(source: str) -> str:
    return dom(f"<serial type='tcp'>{source}<target port='0'/></serial>")


def test_chardev_tls_from_the_setting_or_the_source() -> None:
    connect = "<source mode='connect' host='127.0.0.1' service='5555'{}/>"
    on = DEFAULT.with_(chardev_tls=True, chardev_tls_x509_cert_dir="/etc/pki/c", chardev_tls_x509_verify=False)
    argv = argv_of(_tcp_serial(connect.format("")), host=on)
    assert opt_values(argv, "-object") == [
        "tls-creds-x509,id=objcharserial0_tls0,dir=/etc/pki/c,endpoint=client,verify-peer=on"]  # a client verifies
    assert "tls-creds=objcharserial0_tls0" in opt_values(argv, "-chardev")[0]
    off = argv_of(_tcp_serial(connect.format(" tls='no'")), host=on)
    assert not opt_values(off, "-object") and "tls" not in opt_values(off, "-chardev")[0]
    yes = argv_of(_tcp_serial(connect.format(" tls='yes'")))  # the XML asks for it: the default directory
    assert opt_values(yes, "-object")[0].startswith("tls-creds-x509,id=objcharserial0_tls0,dir=/etc/pki/qemu,")
    bind = argv_of(_tcp_serial("<source mode='bind' host='127.0.0.1' service='5555'/>"), host=on)
    assert opt_values(bind, "-object")[0].endswith("endpoint=server,verify-peer=off")
    assert "tls='maybe'" in _refused(lambda: argv_of(_tcp_serial(connect.format(" tls='maybe'"))))


@pytest.mark.parametrize(("start", "base"), [("0", "1970-01-01T00:00:00"), ("1234567890", "2009-02-13T23:31:30"),
                                             ("253402300799", "9999-12-31T23:59:59")])
def test_clock_absolute(start: str, base: str) -> None:
    xml = dom().replace("<devices>", f"<clock offset='absolute' start='{start}'/><devices>")
    assert opt_values(argv_of(xml), "-rtc") == [f"base={base}"]


@pytest.mark.parametrize("start", ["", "-1", "1,driftfix=slew", "253402300800", "1e9", "99999999999999999999"])
def test_clock_absolute_refuses_what_is_not_a_time(start: str) -> None:
    xml = dom().replace("<devices>", f"<clock offset='absolute' start='{start}'/><devices>")
    assert "offset='absolute'" in _refused(lambda: argv_of(xml))


def test_vc_chardev() -> None:
    argv = argv_of(dom("<serial type='vc'><target port='0'/></serial>"))
    assert opt_values(argv, "-chardev")[0] == f"vc,id=charserial0,logfile={PATHS.console_log},logappend=on"


def test_driver_reads_qemu_conf(conn: libvirt.virConnect, xdg: Path) -> None:
    """``domainXMLToNative`` (and a start) use the connection's qemu.conf."""
    xml = dom(TCP_VNC).replace("<emulator>/usr/bin/qemu-system-x86_64</emulator>", "")
    assert "tls-creds" not in conn.domainXMLToNative("qemu-argv", xml, 0)
    conf = xdg / "cfg" / "guiapp" / "qemu.conf"
    conf.write_text('vnc_tls = 1\nvnc_tls_x509_cert_dir = "/etc/pki/guiapp-test"\n')
    native = conn.domainXMLToNative("qemu-argv", xml, 0)
    assert "dir=/etc/pki/guiapp-test" in native and "tls-creds=vnc-tls-creds0" in native
    conf.write_text("vnc_tls = maybe\n")
    with pytest.raises(libvirt.libvirtError) as exc:
        conn.domainXMLToNative("qemu-argv", xml, 0)
    assert exc.value.get_error_code() == C.VIR_ERR_CONF_SYNTAX and "qemu.conf line 1" in str(exc.value)


def test_config_object_checks_its_directories() -> None:
    with pytest.raises(DriverError):
        QemuHostConfig(chardev_tls_x509_cert_dir="etc/pki")


@pytest.mark.qemu
def test_live_xml_saved_as_config_starts_on_a_fresh_socket(conn: libvirt.virConnect, xdg: Path) -> None:
    """A live XML shows the run's VNC socket; saved as a config (before a reboot restarted the ids, say) its
    path is another guest's socket now: the next run gets its own, shows it, and leaves the other's alone."""
    def xml(name: str, graphics: str = "<graphics type='vnc'/>") -> str:
        return (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>"
                f"hvm</type></os><devices>{graphics}</devices></domain>")

    def socket_of(d: libvirt.virDomain) -> str:
        return str(etree.fromstring(d.XMLDesc().encode()).find("devices/graphics").get("socket"))

    other = conn.defineXML(xml("other"))
    other.create()
    taken = socket_of(other)
    assert taken.startswith(str(xdg / "run")) and os.path.exists(taken)
    inode = os.stat(taken).st_ino
    stale = conn.defineXML(xml("stale", f"<graphics type='vnc' socket='{taken}'><listen type='socket' "
                                        f"socket='{taken}'/></graphics>"))
    stale.create()
    own = socket_of(stale)
    assert own != taken and os.path.exists(own)
    assert os.stat(taken).st_ino == inode and socket_of(other) == taken  # the other guest's socket untouched
