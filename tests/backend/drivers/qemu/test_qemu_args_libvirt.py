"""QEMU options guiapp builds, compared with libvirt 9.0's own expected argv (tests/qemuxml2argvdata/*.args).

For each case the options of the feature under test (``-vnc``, ``-netdev``, the NIC model, serial ``-chardev``,
``-rtc``, USB disks) must mean the same: same backend and keys, once the names libvirt makes up (``id``,
passed ``fd``, ``audiodev``, PCI placement, MACs) are set aside.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from guiapp.backend.drivers.qemu.command import RunPaths, build_command
from guiapp.backend.xml.domain import parse_domain

DATA = Path(__file__).resolve().parents[3] / "data" / "libvirt" / "domain" / "qemuxml2argvdata"
PATHS = RunPaths("/r/g.qmp", "/r/g.cmd.qmp", "/r/g.pid", "/r/g.console.log", "/r/g.vnc")
#: keys that name or place things rather than say what they are
_NAMES = {"id", "fd", "audiodev", "bus", "addr", "mac", "netdev", "logfile", "logappend", "port_", "drive"}


def _split(value: str) -> tuple[str, dict[str, str]]:
    """QEMU's ``first,key=value,...`` (``,,`` is a comma) as (first word, other keys)."""
    parts, cur, i = [], "", 0
    while i < len(value):
        if value[i] == ",":
            if value[i + 1:i + 2] == ",":
                cur += ","
                i += 2
                continue
            parts.append(cur)
            cur = ""
        else:
            cur += value[i]
        i += 1
    parts.append(cur)
    head = parts[0] if "=" not in parts[0] or parts[0].startswith("vnc=") else ""
    keys = dict(p.split("=", 1) for p in parts[1 if head else 0:] if "=" in p)
    return head, keys


def _meaning(value: str, drop: set[str] = frozenset()) -> tuple[str, dict[str, str]]:
    head, keys = _split(value)
    return head, {k: v for k, v in keys.items() if k not in _NAMES | drop}


def _libvirt_opts(case: str, opt: str) -> list[str]:
    args = next(p for p in (DATA / f"{case}.x86_64-latest.args", DATA / f"{case}.args") if p.exists())
    words = shlex.split(args.read_text().replace("\\\n", " "))
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w == opt]


def _ours(case: str) -> list[str]:
    defn = parse_domain((DATA / f"{case}.xml").read_text(), hypervisor="qemu")
    return build_command(defn, PATHS, kvm_usable=True, check_files=False).argv


def _opts(argv: list[str], opt: str) -> list[str]:
    return [argv[i + 1] for i, w in enumerate(argv[:-1]) if w == opt]


@pytest.mark.parametrize("case", ["graphics-vnc-none", "graphics-vnc-socket", "graphics-vnc-websocket"])
def test_vnc_like_libvirt(case: str) -> None:
    ours = [_meaning(v) for v in _opts(_ours(case), "-vnc")]
    for want in _libvirt_opts(case, "-vnc"):
        assert _meaning(want) in ours, (want, ours)
    if case == "graphics-vnc-none":
        assert ours == [("none", {})]  # no other listener either


@pytest.mark.parametrize("case", ["serial-dev-chardev", "serial-tcp-chardev", "serial-tcp-telnet-chardev",
                                  "serial-udp-chardev", "serial-unix-chardev"])
def test_serial_chardevs_like_libvirt(case: str) -> None:
    want = [v for v in _libvirt_opts(case, "-chardev") if "id=charserial" in v]
    got = [v for v in _opts(_ours(case), "-chardev") if "id=charserial" in v]
    assert len(got) == len(want)
    for w, g in zip(want, got, strict=True):
        drop = {"path"} if "fd=" in w else set()  # libvirt passes a bound socket's fd instead of its path
        lw, lg = _meaning(w), _meaning(g, drop)
        lw[1].pop("host", None) if lw[1].get("host") == "" else None  # 'host=,': QEMU's default
        lw[1].pop("localaddr", None) if lw[1].get("localaddr") == "" else None
        lw[1].pop("localport", None) if lw[1].get("localport") == "0" else None
        assert lg == lw


def test_udp_interface_and_default_nic_model_like_libvirt() -> None:
    want, got = _libvirt_opts("net-udp", "-netdev"), _opts(_ours("net-udp"), "-netdev")
    assert [_meaning(v) for v in got] == [_meaning(v) for v in want]
    model = [v.split(",")[0] for v in _libvirt_opts("net-udp", "-device") if "netdev=" in v]
    assert model == ["rtl8139"]  # libvirt's default model on an x86 'pc' machine
    assert [v.split(",")[0] for v in _opts(_ours("net-udp"), "-device") if "netdev=" in v] == model


def test_clock_localtime_like_libvirt() -> None:
    assert _opts(_ours("clock-localtime"), "-rtc") == _libvirt_opts("clock-localtime", "-rtc")


@pytest.mark.parametrize("case", ["disk-usb-device", "disk-usb-device-removable"])
def test_usb_disks_like_libvirt(case: str) -> None:
    devices = [json.loads(v) for v in _libvirt_opts(case, "-device") if v.startswith("{")]
    want = [(d["driver"], d.get("removable", False)) for d in devices
            if d["driver"] in ("usb-storage", "piix3-usb-uhci")]
    got = [(v.split(",")[0], "removable=on" in v) for v in _opts(_ours(case), "-device")
           if v.split(",")[0] in ("usb-storage", "piix3-usb-uhci")]
    assert got == want
