"""Issue 17: no value of a hot-plugged device's XML adds a key to a QMP command or a protocol to a path.

Each field of a disk, a NIC and a CD-ROM medium is fed hostile values; the QMP commands the QEMU driver's
hotplug code would send (recorded instead of sent) must have exactly the keys of the same device with a
harmless value, the hostile value only as one whole JSON string, or the change is refused with a libvirt
error code naming the bad value (never INTERNAL_ERROR).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guiapp.backend import constants as C
from guiapp.backend.drivers.qemu.hotplug import QemuHotplugOps, parse_qemu_opts
from guiapp.backend.drivers.qemu.optcheck import qemu_escape
from guiapp.backend.drivers.qemu.record import RuntimeRecord
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain import parse_domain

HOSTILE = ["a,b=c", "x,id=evil", "json:{\"driver\":\"nbd\"}", "nbd:127.0.0.1:1", "../../etc/passwd",
           "$(reboot)", "a b", "-device", "x\ny", "ü,,=", "/ok/path,format=qcow2"]
REFUSALS = {C.VIR_ERR_CONFIG_UNSUPPORTED, C.VIR_ERR_XML_ERROR, C.VIR_ERR_XML_DETAIL, C.VIR_ERR_INVALID_ARG,
            C.VIR_ERR_NO_SOURCE, C.VIR_ERR_NO_TARGET, C.VIR_ERR_NO_NETWORK, C.VIR_ERR_OPERATION_INVALID,
            C.VIR_ERR_INVALID_MAC}


class Recorder(QemuHotplugOps):
    """The hotplug code with QMP recorded instead of sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self._net_run = None

    def _qmp(self, dom: Any, cmd: str, args: Optional[dict[str, Any]] = None, **_: Any) -> Any:
        self.sent.append((cmd, dict(args or {})))
        return []

    def _device_present(self, dom: Any, dev_id: str) -> bool:
        return True

    def _bridge_for_network(self, network: str) -> str:
        if "/" in network:
            raise DriverError(C.VIR_ERR_NO_NETWORK, f"network {network!r} is not known")
        return "virbr0"

    def _enslave_tap(self, ifname: str, bridge: str, mac: str) -> None:
        self.sent.append(("(ip link set master)", {"ifname": ifname, "bridge": bridge}))

    def _bridge_helper(self) -> Any:
        return None

    def _free_tap_names(self) -> Any:
        return lambda i: f"vnet{i}"


class FakeDom:
    name = "inj"

    def __init__(self) -> None:
        self.record = RuntimeRecord("inj", "00" * 16)  # the driver's typed runtime record (h-split)


def domain(devices: str) -> Any:
    return parse_domain(f"<domain type='qemu'><name>inj</name><memory>65536</memory><os><type arch='x86_64'>hvm"
                        f"</type></os><devices>{devices}</devices></domain>", hypervisor="qemu")


def shape(sent: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, tuple]]:
    def keys(v: Any) -> Any:
        return tuple(sorted((k, keys(x)) for k, x in v.items())) if isinstance(v, dict) else type(v).__name__
    return [(cmd, keys(args)) for cmd, args in sent]


def plug_disk(tmp_path: Path, source: str, fmt: str = "raw", target: str = "vdb", bus: str = "virtio") -> Any:
    d = domain(f"<disk type='file' device='disk'><driver name='qemu' type='{fmt}'/><source file='{source}'/>"
               f"<target dev='{target}' bus='{bus}'/></disk>")
    rec = Recorder()
    rec._hotplug_disk(FakeDom(), d, d.disks[0])
    return rec.sent


def outcome(fn: Any) -> Any:
    try:
        return fn()
    except DriverError as exc:
        assert exc.code in REFUSALS, f"refused with code {exc.code}: {exc.detail}"
        return None


@pytest.mark.parametrize("value", HOSTILE)
def test_disk_source_is_one_json_string_or_refused(tmp_path: Path, value: str) -> None:
    base = tmp_path / "base.img"
    base.write_bytes(b"\0" * 512)
    good = plug_disk(tmp_path, str(base))
    path = tmp_path / value.replace("\n", "_") if not value.startswith("/") else Path(value)
    if path.parent.exists() and "\n" not in value:
        try:
            path.write_bytes(b"")
        except OSError:
            pass
    for src in (value, str(path)):
        sent = outcome(lambda src=src: plug_disk(tmp_path, src.replace("'", "&apos;")))
        if sent is None:
            continue
        assert shape(sent) == shape(good)
        assert sent[0][1]["file"]["filename"] == src and src.startswith("/")


@pytest.mark.parametrize("value", HOSTILE + ["qcow2,file.driver=nbd"])
def test_disk_format_and_target_are_checked(tmp_path: Path, value: str) -> None:
    img = tmp_path / "d.img"
    img.write_bytes(b"")
    assert outcome(lambda: plug_disk(tmp_path, str(img), fmt=value.replace("'", "&apos;"))) is None
    assert outcome(lambda: plug_disk(tmp_path, str(img), target=value.replace("'", "&apos;"))) is None


def plug_nic(xml: str) -> list[tuple[str, dict[str, Any]]]:
    d = domain(xml)
    rec = Recorder()
    rec._hotplug_nic(FakeDom(), domain(""), d, d.interfaces[0])
    return rec.sent


NICS = {
    "bridge": "<interface type='bridge'><source bridge='{}'/><model type='virtio'/></interface>",
    "network": "<interface type='network'><source network='{}'/></interface>",
    "tapname": "<interface type='bridge'><source bridge='br0'/><target dev='{}'/></interface>",
    "model": "<interface type='user'><model type='{}'/></interface>",
    "mac": "<interface type='user'><mac address='{}'/></interface>",
    "mcast": "<interface type='mcast'><source address='{}' port='5558'/></interface>",
    "client": "<interface type='client'><source address='127.0.0.1' port='{}'/></interface>",
    "script": "<interface type='ethernet'><script path='{}'/></interface>",
}
HARMLESS = {"bridge": "br0", "network": "default", "tapname": "tap0", "model": "virtio", "mac": "52:54:00:00:00:09",
            "mcast": "230.0.0.1", "client": "5000", "script": "/bin/true"}


@pytest.mark.parametrize("field", sorted(NICS))
@pytest.mark.parametrize("value", HOSTILE)
def test_nic_values_never_add_keys(field: str, value: str) -> None:
    template = NICS[field]
    good = plug_nic(template.format(HARMLESS[field]))
    sent = outcome(lambda: plug_nic(template.format(value.replace("'", "&apos;").replace("\n", "&#10;"))))
    if sent is None:
        return
    assert shape(sent) == shape(good), f"{field}={value!r}"
    if field != "network":  # a network name only picks the bridge; it never reaches QEMU
        flat = [v for _, args in sent for v in args.values() if isinstance(v, str)]
        assert any(value in v for v in flat)  # kept whole, as a JSON string value


def test_medium_change_checks_path_and_format(tmp_path: Path) -> None:
    rec = Recorder()
    iso = tmp_path / "a.iso"
    iso.write_bytes(b"")
    for value in HOSTILE:
        d = domain(f"<disk type='file' device='cdrom'><source file='{value.replace(chr(39), '&apos;')}'/>"
                   f"<target dev='hdc'/></disk>") if "\n" not in value else None
        if d is not None:
            assert outcome(lambda d=d: rec._change_medium(FakeDom(), d.disks[0])) is None
    d = domain(f"<disk type='file' device='cdrom'><driver type='raw,x=y'/><source file='{iso}'/>"
               f"<target dev='hdc'/></disk>")
    assert outcome(lambda: rec._change_medium(FakeDom(), d.disks[0])) is None
    assert rec.sent == []


@given(st.text(min_size=1, max_size=40))
def test_qemu_option_parse_round_trips(value: str) -> None:
    opts = parse_qemu_opts(f"tap,id=x,ifname={qemu_escape(value)},script=no", "type")
    assert opts == {"type": "tap", "id": "x", "ifname": value, "script": "no"}
