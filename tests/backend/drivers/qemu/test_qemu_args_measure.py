"""How many of libvirt 9.0's qemuxml2argv cases guiapp's QEMU command line means the same as (issue 15 item 5).

Selection rule (mechanical, over the committed copy of ``tests/qemuxml2argvdata``): every input ``NAME.xml``
that has an expected ``NAME.x86_64-latest.args``, whose name is in one of item 5's feature families
(``graphics-vnc*``, ``serial-*``, ``console-*``, ``parallel-*``, ``net-*``, ``clock-*``, ``disk-usb*``,
``disk-sd*``), whose root is ``<domain type='qemu'|'kvm'>``, and which guiapp's QEMU driver accepts
(``parse_domain`` + ``build_command`` succeed). Inputs guiapp refuses are listed with the error (they must be
``VIR_ERR_CONFIG_UNSUPPORTED`` naming the element) and are not counted as selected.

What guiapp refuses (the rule): an element whose QEMU backend needs a host facility guiapp does not manage —
``<interface type='vdpa'>`` (a vDPA device node), ``type='vhostuser'`` (a vhost-user backend process and
shared guest memory), ``<backend type='passt'>`` (libvirt starts a passt process), ``<serial
type='spiceport'>`` and ``<graphics type='egl-headless'>`` (SPICE and an OpenGL render node; guiapp's
displays are VNC). Everything QEMU runs by itself is built (``-rtc base=<time>``, ``-chardev vc``, ...).

Host settings: libvirt takes VNC/chardev TLS and SASL and the VNC listener defaults from ``qemu.conf``, and
its harness (qemuxml2argvtest.c, testutilsqemu.c) sets them per case; each case here runs with the same
settings in guiapp's ``qemu.conf`` terms (:func:`host_config`). The harness's ``vnc_tls_x509_secret_uuid`` /
``chardev_tls_x509_secret_uuid`` (a key password from libvirt's secret driver) are written as qemu.conf text,
which guiapp refuses (it has no secret store: ``hostconf.UNSUPPORTED``), so those two cases are refused.
A VNC socket under the harness's state directory (``/tmp/lib``) counts as one under guiapp's runtime directory.

Meaning compared, per case: the multiset of ``-vnc``, ``-rtc``, ``-netdev`` values, of the ``-chardev``
values of serial/console/parallel devices and of the ``tls-creds-x509`` objects (directory, endpoint,
verification, whether a key password is given), plus the multiset of ``-device`` drivers of the kinds these
features create (serial ports, parallel ports, consoles, NICs, USB disks and their controller). Values are
compared as (backend, keys) after setting aside the names libvirt makes up (see ``_NAMES`` of the per-feature
test), turning libvirt's JSON ``-netdev``/``-device`` into the same shape, and treating ``-rtc base=utc``
as QEMU's default. guiapp's own unix VNC socket for its viewer (``RunPaths.vnc_socket``), added beside a TCP
listener, is set aside too: it is where guiapp's console connects, not a difference of the guest; a VNC
socket each side generates in its own runtime directory (no path in the XML) is ``<generated>`` on both.
An automatic VNC port is ``HOST:0`` on both: libvirt allocates the first free port from 5900 itself (its
harness: 5900), guiapp lets QEMU take the first free one from 5900 (``HOST:0,to=99``).

The figure is printed (``pytest -s``) and must not fall below the recorded floor.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from collections import Counter
from typing import Any

import pytest
from test_qemu_args_libvirt import DATA, PATHS, _meaning, _opts

from guiapp.backend import constants as C
from guiapp.backend.drivers.qemu.command import RunPaths
from guiapp.backend.drivers.qemu.hostconf import DEFAULT, QemuHostConfig, parse
from guiapp.backend.errors import DriverError, libvirtError

FAMILIES = re.compile(r"^(graphics-vnc|serial-|console-|parallel-|net-|clock-|disk-usb|disk-sd)")
#: -device drivers of the kinds item 5's features create
DEVICE_KINDS = {"isa-serial", "pci-serial", "usb-serial", "isa-debugcon", "isa-parallel", "virtconsole",
                "virtserialport", "virtio-serial-pci", "usb-storage", "piix3-usb-uhci", "qemu-xhci",
                "virtio-net-pci", "e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet", "vmxnet3", "spapr-vty"}
_CHAR = re.compile(r"(^|,)id=char(serial|console|parallel)")
#: floor of the figure (equal cases); raise it when command.py gets closer to libvirt
FLOOR = 40
#: libvirt's harness keeps its domains' state in /tmp/lib (cfg->libDir): guiapp's runtime directory there
MEASURE_PATHS = dataclasses.replace(PATHS, runtime_dir="/tmp/lib")

#: qemu.conf of libvirt's test harness: certificate directories of testutilsqemu.c, vnc_auto_unix_socket off
_HARNESS = DEFAULT.with_(vnc_auto_unix_socket=False, vnc_tls_x509_cert_dir="/etc/pki/libvirt-vnc",
                         chardev_tls_x509_cert_dir="/etc/pki/libvirt-chardev")
#: what qemuxml2argvtest.c changes around a case (the secret UUIDs it also sets: _SECRETS)
_PER_CASE: dict[str, dict[str, Any]] = {
    "graphics-vnc-auto-socket-cfg": {"vnc_auto_unix_socket": True},
    "graphics-vnc-sasl": {"vnc_sasl": True},
    "graphics-vnc-tls": {"vnc_sasl": True, "vnc_tls": True, "vnc_tls_x509_verify": True},
    "graphics-vnc-tls-secret": {"vnc_sasl": True, "vnc_tls": True, "vnc_tls_x509_verify": True},
    "serial-tcp-tlsx509-chardev": {"chardev_tls": True, "chardev_tls_x509_verify": False},
    "serial-tcp-tlsx509-chardev-verify": {"chardev_tls": True, "chardev_tls_x509_verify": True},
    "serial-tcp-tlsx509-chardev-notls": {"chardev_tls": True, "chardev_tls_x509_verify": False},
    "serial-tcp-tlsx509-secret-chardev": {"chardev_tls": True, "chardev_tls_x509_verify": False},
}


#: the harness's key-password settings, as a qemu.conf would write them (guiapp refuses them)
_SECRETS = {
    "graphics-vnc-tls-secret": 'vnc_tls_x509_secret_uuid = "6fd3f62d-9fe7-4a4e-a869-7acd6376d8ea"',
    "serial-tcp-tlsx509-secret-chardev": 'chardev_tls_x509_secret_uuid = "6fd3f62d-9fe7-4a4e-a869-7acd6376d8ea"',
}


def host_config(case: str) -> QemuHostConfig:
    """The host settings libvirt's harness runs ``case`` with, as guiapp's qemu.conf settings."""
    if case in _SECRETS:
        parse(_SECRETS[case])  # refused: VIR_ERR_CONFIG_UNSUPPORTED naming the setting
    return _HARNESS.with_(**_PER_CASE.get(case, {}))


def _cases() -> list[str]:
    names = []
    for args in sorted(DATA.glob("*.x86_64-latest.args")):
        name = args.name[: -len(".x86_64-latest.args")]
        xml = DATA / f"{name}.xml"
        if FAMILIES.match(name) and xml.exists() and re.search(r"<domain type=['\"](qemu|kvm)['\"]",
                                                                  xml.read_text()):
            names.append(name)
    return names


def _libvirt_argv(case: str) -> list[str]:
    return shlex.split((DATA / f"{case}.x86_64-latest.args").read_text().replace("\\\n", " "))


def _ours(case: str, paths: RunPaths = MEASURE_PATHS, xml: str = "") -> list[str]:
    from guiapp.backend.drivers.qemu.command import build_command
    from guiapp.backend.xml.domain import parse_domain
    host = host_config(case)
    defn = parse_domain(xml or (DATA / f"{case}.xml").read_text(), hypervisor="qemu")
    return build_command(defn, paths, kvm_usable=True, check_files=False, host=host).argv


def _shape(value: str, first_key: str) -> tuple[str, dict[str, str]]:
    """A ``-netdev``/``-device`` value, QEMU key=value or libvirt's JSON, as (type or driver, meaning keys)."""
    if value.startswith("{"):
        obj: dict[str, Any] = json.loads(value)
        head = str(obj.pop(first_key))
        flat = {k: ("on" if v is True else "off" if v is False else str(v)) for k, v in obj.items()}
        return _meaning(",".join([head] + [f"{k}={v.replace(',', ',,')}" for k, v in flat.items()]))
    return _meaning(value)


def _rtc(values: list[str]) -> list[str]:
    return [v for v in values if v != "base=utc"]  # QEMU's default


#: the VNC socket each driver generates in its own runtime directory (libvirt's test harness: /tmp/lib/domain-*)
_GENERATED_VNC = re.compile(r"^vnc=unix:/tmp/lib/domain-[^/,]*/vnc\.sock(?=,|$)")


#: an automatic VNC port (see the module docstring)
_AUTO_PORT = re.compile(r"^([^,]*:0),to=99(?=,|$)")


def _vnc(values: list[str]) -> list[str]:
    own = f"vnc=unix:{PATHS.vnc_socket}"
    tcp = [v for v in values if not v.startswith("vnc=unix:")]
    kept = [v for v in values if not (tcp and v.split(",")[0] == own)]
    return [_AUTO_PORT.sub(r"\1", _GENERATED_VNC.sub("vnc=unix:<generated>", v.replace(own, "vnc=unix:<generated>", 1)
                                                   if v.split(",")[0] == own else v)) for v in kept]


def _names_set_aside(shape: tuple[str, dict[str, str]]) -> str:
    """A value's meaning with the names of TLS credentials and key secrets set aside (each side names its own)."""
    head, keys = shape
    return str((head, {k: ("<named>" if k in ("tls-creds", "passwordid") else v) for k, v in keys.items()}))


def _tls_objects(argv: list[str]) -> list[str]:
    shapes = [_shape(v, "qom-type") for v in _opts(argv, "-object")]
    return [_names_set_aside(s) for s in shapes if s[0] == "tls-creds-x509"]


#: keys whose value is QEMU's default (libvirt spells them out on udp chardevs)
_DEFAULTS = {("udp", "host", ""), ("udp", "localaddr", ""), ("udp", "localport", "0")}


def _chardev(value: str) -> tuple[str, dict[str, str]]:
    """A host side's meaning. libvirt passes an fd (``fd=``, ``/dev/fdset/N``) where guiapp passes the path of
    a listening socket or a file, so those paths are set aside on both sides."""
    head, keys = _meaning(value)
    if "fd" in value.split(",") or head == "file" or (head == "socket" and keys.get("server") == "on"):
        keys.pop("path", None)
    return head, {k: v for k, v in keys.items() if (head, k, v) not in _DEFAULTS}


def meaning(argv: list[str]) -> dict[str, Counter[str]]:
    """The compared meaning of one command line (see the module docstring)."""
    devices = [_shape(v, "driver")[0] for v in _opts(argv, "-device")]
    return {
        "-vnc": Counter(_names_set_aside(_meaning(v)) for v in _vnc(_opts(argv, "-vnc"))),
        "-rtc": Counter(_rtc(_opts(argv, "-rtc"))),
        "-netdev": Counter(str(_shape(v, "type")) for v in _opts(argv, "-netdev")),
        "-chardev": Counter(_names_set_aside(_chardev(v)) for v in _opts(argv, "-chardev") if _CHAR.search(v)),
        "-object": Counter(_tls_objects(argv)),
        "-device": Counter(d for d in devices if d in DEVICE_KINDS),
    }


def measure() -> tuple[list[str], dict[str, dict[str, tuple[Counter[str], Counter[str]]]], dict[str, str]]:
    """(equal cases, differing cases -> option -> (libvirt's, ours), refused cases -> error)."""
    equal, differ, refused = [], {}, {}
    for case in _cases():
        try:
            ours = _ours(case)
        except (DriverError, libvirtError) as exc:
            refused[case] = str(exc)
            continue
        want, got = meaning(_libvirt_argv(case)), meaning(ours)
        diff = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
        if diff:
            differ[case] = diff
        else:
            equal.append(case)
    return equal, differ, refused


def test_refused_cases_name_the_element() -> None:
    for case in _cases():
        try:
            _ours(case)
        except (DriverError, libvirtError) as exc:
            code = exc.code if isinstance(exc, DriverError) else exc.get_error_code()
            assert code == C.VIR_ERR_CONFIG_UNSUPPORTED, (case, str(exc))
            assert "<" in str(exc) or "type '" in str(exc) or "setting '" in str(exc), (case, str(exc))  # names it


def test_figure_of_cases_meaning_the_same() -> None:
    equal, differ, refused = measure()
    selected = len(equal) + len(differ)
    print(f"\nqemuxml2argv (item 5 families): {len(equal)} equal of {selected} selected "
          f"({len(refused)} refused as unsupported)")
    for case, diff in sorted(differ.items()):
        for opt, (want, got) in diff.items():
            print(f"  DIFF {case} {opt}: libvirt {sorted(want.elements())} guiapp {sorted(got.elements())}")
    for case, err in sorted(refused.items()):
        print(f"  REFUSED {case}: {err[:110]}")
    assert selected + len(refused) >= 48 and selected >= 40  # the selection itself must not silently shrink
    assert len(equal) >= FLOOR


@pytest.mark.parametrize("case", ["graphics-vnc-none", "serial-udp-chardev", "clock-localtime"])
def test_comparison_can_fail(case: str) -> None:
    """The comparison sees a changed option: a dropped ``-rtc``/``-vnc``/``-chardev`` key is a difference."""
    argv = _ours(case)
    for i, w in enumerate(argv[:-1]):
        if w in ("-vnc", "-rtc", "-chardev") and (w != "-chardev" or _CHAR.search(argv[i + 1])):
            broken = argv[:i + 1] + [argv[i + 1] + ",extra=1"] + argv[i + 2:]
            assert meaning(broken) != meaning(argv)
            return
    pytest.fail(f"{case}: no option to alter")


@pytest.mark.parametrize("case", ["graphics-vnc-tls", "serial-tcp-tlsx509-chardev-verify"])
def test_comparison_sees_tls_and_sasl(case: str) -> None:
    """A missing TLS object, ``tls-creds=`` or ``sasl=on``, or another certificate directory, is a difference."""
    argv = _ours(case)
    at = next(i for i, w in enumerate(argv[:-1]) if w == "-object" and argv[i + 1].startswith("tls-creds-x509"))
    variants = [argv[:at] + argv[at + 2:], [w.replace("dir=/etc/pki/", "dir=/etc/") for w in argv],
                [w.replace(",tls-creds=", ",x-creds=") for w in argv], [w.replace(",sasl=on", "") for w in argv]]
    changed = [v for v in variants if v != argv]
    assert len(changed) == (4 if case == "graphics-vnc-tls" else 3)
    for broken in changed:
        assert meaning(broken) != meaning(argv)
