"""qemu.conf values (hostconf.py) and ``<clock start>`` that reach QEMU's option syntax, fed random and hostile
strings: refused (``VIR_ERR_CONF_SYNTAX`` / ``VIR_ERR_CONFIG_UNSUPPORTED``), or QEMU's option parser
(:func:`test_qemu_argv_injection.qemu_opts`) reads exactly the options and keys of a harmless value, with the
value itself intact."""

from __future__ import annotations

import pytest
from helpers import load_module
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.drivers.qemu import hostconf
from guiapp.backend.drivers.qemu.command import RunPaths, build_command
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain import parse_domain

inj = load_module("security/test_qemu_argv_injection.py", "security_qemu_argv_injection")

PATHS = RunPaths("/r/q", "/r/c", "/r/p", "/r/l", "/r/v")
XML = """<domain type='qemu'><name>h</name><memory unit='MiB'>64</memory>{clock}
  <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
  <serial type='tcp'><source mode='connect' host='127.0.0.1' service='5555'/></serial>
  <graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1'/></devices></domain>"""


def _argv(host: hostconf.QemuHostConfig, clock: str = "") -> list[str]:
    return build_command(parse_domain(XML.format(clock=clock), hypervisor="qemu"), PATHS, kvm_usable=True,
                         check_files=False, host=host).argv


def _tls_setup(directory: str) -> hostconf.QemuHostConfig:
    return hostconf.DEFAULT.with_(vnc_tls=True, vnc_sasl=True, vnc_tls_x509_cert_dir=directory, chardev_tls=True,
                                  chardev_tls_x509_cert_dir=directory)


BENIGN = inj.shape(_argv(_tls_setup("/etc/pki/qemu")))


def _outcome(directory: str) -> str:
    try:
        argv = _argv(_tls_setup(directory))
    except DriverError as exc:
        assert exc.code == C.VIR_ERR_CONF_SYNTAX, exc.detail
        return "refused"
    assert inj.shape(argv) == BENIGN, (directory, argv)
    dirs = [dict(inj.qemu_opts(v))["dir"] for i, v in enumerate(argv) if argv[i - 1] == "-object"]
    assert dirs == [directory, directory]
    return "escaped"


@pytest.mark.parametrize("payload", inj.PAYLOADS)
def test_certificate_directory_payloads(payload: str) -> None:
    assert _outcome("/etc/pki/" + payload) in ("refused", "escaped")
    assert _outcome(payload) == "refused" or payload.startswith("/")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_random_certificate_directories(text: str) -> None:
    assert _outcome("/" + text) in ("refused", "escaped")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_random_strings_in_the_file_never_add_a_key(text: str) -> None:
    """The file's text as a cert directory: refused, or exactly that string in the argv."""
    try:
        cfg = hostconf.parse(f'vnc_tls = 1\nvnc_tls_x509_cert_dir = "/{text}"\n')
    except DriverError as exc:
        assert exc.code == C.VIR_ERR_CONF_SYNTAX
        return
    assert _outcome(cfg.vnc_dir) == "escaped"


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),
                 st.integers(-10, 10**13).map(str)))
def test_clock_start_is_a_time_or_refused(start: str) -> None:
    clock = "<clock offset='absolute' start=''/>"
    root = parse_domain(XML.format(clock=clock), hypervisor="qemu").root
    root.find("clock").set("start", start)
    xml = etree.tostring(root, encoding="unicode")
    try:
        argv = build_command(parse_domain(xml, hypervisor="qemu"), PATHS, kvm_usable=True, check_files=False).argv
    except DriverError as exc:
        assert exc.code == C.VIR_ERR_CONFIG_UNSUPPORTED and "offset='absolute'" in exc.detail
        return
    rtc = argv[argv.index("-rtc") + 1]
    assert inj.qemu_opts(rtc) == [("base", rtc[5:])] and len(rtc) == len("base=2000-01-01T00:00:00")
