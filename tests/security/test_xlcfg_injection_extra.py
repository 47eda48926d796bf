"""Issue 15 item 6: the settings added to xl.cfg export (channels, cpuid, serial files, spice, acpi table, QEMU
arguments, vnuma, hostdevs, VLAN tags) take hostile strings as data or refuse them: no new setting, no new
device key, and a free string comes back whole from xl.cfg's grammar (:func:`parse_cfg`)."""

from __future__ import annotations

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.drivers.xen.xlcfg import domain_to_xl, parse_cfg
from guiapp.backend.drivers.xen.xlcfg_specs import kv
from guiapp.backend.errors import DriverError

BASE = """<domain type='xen' xmlns:xen='http://libvirt.org/schemas/domain/xen/1.0'>
  <name>hx</name>
  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa9</uuid>
  <memory>262144</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type><loader>/usr/lib/xen/boot/hvmloader</loader>
    <acpi><table type='slic'>/fw/slic</table></acpi></os>
  <features><acpi/><apic/><pae/></features>
  <cpu mode='host-passthrough'><feature policy='disable' name='tm'/>
    <numa><cell id='0' cpus='0-1' memory='262144' unit='KiB'/></numa></cpu>
  <devices>
    <serial type='file'><source path='/var/log/s.log'/><target port='0'/></serial>
    <channel type='unix'><source mode='bind' path='/run/ch.sock'/><target type='xen' name='org.a.0'/></channel>
    <interface type='bridge'><mac address='00:16:3e:00:00:09'/><source bridge='br0'/>
      <vlan><tag id='42'/></vlan><virtualport type='openvswitch'/></interface>
    <graphics type='spice' port='5910' autoport='no' listen='127.0.0.1' passwd='pw'/>
  </devices>
  <xen:commandline><xen:arg value='-debugcon'/></xen:commandline>
</domain>"""

XEN = "{http://libvirt.org/schemas/domain/xen/1.0}"
FIELDS = {  # name: (xpath, attribute or None for text, free string: must come back whole)
    "acpi table": ("os/acpi/table", None, True),
    "cpu feature": ("cpu/feature", "name", False),
    "numa cpus": ("cpu/numa/cell", "cpus", False),
    "serial file": ("devices/serial/source", "path", False),
    "channel path": ("devices/channel/source", "path", False),
    "channel name": ("devices/channel/target", "name", False),
    "vlan tag": ("devices/interface/vlan/tag", "id", False),
    "spice listen": ("devices/graphics", "listen", True),
    "spice passwd": ("devices/graphics", "passwd", True),
    "qemu arg": (f"{XEN}commandline/{XEN}arg", "value", True),
}
HOSTILE = ['a"b', 'x\nkernel = "/evil"', "a,b=c", "# c", "]", "p\\", "1,permissive=1"]
REFUSALS = {C.VIR_ERR_CONFIG_UNSUPPORTED, C.VIR_ERR_XML_ERROR, C.VIR_ERR_XML_DETAIL, C.VIR_ERR_INVALID_ARG}


def _xml(path: str, attr: str | None, value: str) -> str:
    root = etree.fromstring(BASE)
    el = root.find(path)
    assert el is not None, path
    if attr is None:
        el.text = value
    else:
        el.set(attr, value)
    return etree.tostring(root, encoding="unicode")


def _shape(cfg: dict) -> dict:
    """Setting names, and for device lists the keys of each ``k=v`` spec."""
    out = {}
    for key, value in cfg.items():
        if key in ("device_model_args", "serial"):  # lists of free strings, not k=v specs
            out[key] = len(value) if isinstance(value, list) else type(value).__name__
        elif isinstance(value, list):
            out[key] = [sorted(kv(v)) if isinstance(v, str) else len(v) for v in value]
        else:
            out[key] = type(value).__name__
    return out


def test_benign_document_exports_every_new_setting():
    cfg = parse_cfg(domain_to_xl(BASE))
    for key in ("acpi_firmware", "cpuid", "nestedhvm", "vnuma", "serial", "channel", "spice", "device_model_args"):
        assert key in cfg, key
    assert cfg["vif"][0].split(",")[1] == "bridge=br0.42"


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_are_data_or_refused(field, value):
    path, attr, free = FIELDS[field]
    benign = _shape(parse_cfg(domain_to_xl(BASE)))
    try:
        text = domain_to_xl(_xml(path, attr, value))
    except DriverError as e:
        assert e.code in REFUSALS, (e.code, e.detail)
        assert e.detail and "Traceback" not in e.detail
        return
    cfg = parse_cfg(text)
    assert _shape(cfg) == benign, f"{field}={value!r} changed the settings:\n{text}"
    if free:
        flat = [v for x in cfg.values() for v in (x if isinstance(x, list) else [x])]
        assert value in flat, f"{field}={value!r} did not come back whole:\n{text}"
