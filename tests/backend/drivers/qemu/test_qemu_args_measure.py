"""How many of libvirt 9.0's qemuxml2argv cases guiapp's QEMU command line means the same as (issue 15 item 5).

Selection rule (mechanical, over the committed copy of ``tests/qemuxml2argvdata``): every input ``NAME.xml``
that has an expected ``NAME.x86_64-latest.args``, whose name is in one of item 5's feature families
(``graphics-vnc*``, ``serial-*``, ``console-*``, ``parallel-*``, ``net-*``, ``clock-*``, ``disk-usb*``,
``disk-sd*``), whose root is ``<domain type='qemu'|'kvm'>``, and which guiapp's QEMU driver accepts
(``parse_domain`` + ``build_command`` succeed). Inputs guiapp refuses are listed with the error (they must be
``VIR_ERR_CONFIG_UNSUPPORTED`` naming the element) and are not counted as selected.

Meaning compared, per case: the multiset of ``-vnc``, ``-rtc``, ``-netdev`` values and of the ``-chardev``
values of serial/console/parallel devices, plus the multiset of ``-device`` drivers of the kinds these
features create (serial ports, parallel ports, consoles, NICs, USB disks and their controller). Values are
compared as (backend, keys) after setting aside the names libvirt makes up (see ``_NAMES`` of the per-feature
test), turning libvirt's JSON ``-netdev``/``-device`` into the same shape, and treating ``-rtc base=utc``
as QEMU's default. guiapp's own unix VNC socket for its viewer (``RunPaths.vnc_socket``), added beside a TCP
listener, is set aside too: it is where guiapp's console connects, not a difference of the guest; a VNC
socket each side generates in its own runtime directory (no path in the XML) is ``<generated>`` on both.

The figure is printed (``pytest -s``) and must not fall below the recorded floor.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from typing import Any

import pytest
from test_qemu_args_libvirt import DATA, PATHS, _meaning, _opts

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError, libvirtError

FAMILIES = re.compile(r"^(graphics-vnc|serial-|console-|parallel-|net-|clock-|disk-usb|disk-sd)")
#: -device drivers of the kinds item 5's features create
DEVICE_KINDS = {"isa-serial", "pci-serial", "usb-serial", "isa-debugcon", "isa-parallel", "virtconsole",
                "virtserialport", "virtio-serial-pci", "usb-storage", "piix3-usb-uhci", "qemu-xhci",
                "virtio-net-pci", "e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet", "vmxnet3", "spapr-vty"}
_CHAR = re.compile(r"(^|,)id=char(serial|console|parallel)")
#: floor of the figure (equal cases); raise it when command.py gets closer to libvirt
FLOOR = 33


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


def _ours(case: str) -> list[str]:
    from guiapp.backend.drivers.qemu.command import build_command
    from guiapp.backend.xml.domain import parse_domain
    defn = parse_domain((DATA / f"{case}.xml").read_text(), hypervisor="qemu")
    return build_command(defn, PATHS, kvm_usable=True, check_files=False).argv


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


def _vnc(values: list[str]) -> list[str]:
    own = f"vnc=unix:{PATHS.vnc_socket}"
    tcp = [v for v in values if not v.startswith("vnc=unix:")]
    kept = [v for v in values if not (tcp and v.split(",")[0] == own)]
    return [_GENERATED_VNC.sub("vnc=unix:<generated>", v.replace(own, "vnc=unix:<generated>", 1)
                               if v.split(",")[0] == own else v) for v in kept]


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
        "-vnc": Counter(str(_meaning(v)) for v in _vnc(_opts(argv, "-vnc"))),
        "-rtc": Counter(_rtc(_opts(argv, "-rtc"))),
        "-netdev": Counter(str(_shape(v, "type")) for v in _opts(argv, "-netdev")),
        "-chardev": Counter(str(_chardev(v)) for v in _opts(argv, "-chardev") if _CHAR.search(v)),
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
            assert "<" in str(exc) or "type '" in str(exc), (case, str(exc))  # names the element


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
    assert selected >= 40  # the selection itself must not silently shrink
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
