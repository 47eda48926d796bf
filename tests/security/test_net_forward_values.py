"""Issue 15 item 8: values of the new forward modes that reach ``ip`` (forward devices, pf devices) or are
written back (PCI addresses, driver names) are checked at define: hostile strings are refused with
libvirt's codes, never passed on or stored."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

import pytest

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.network import parse_network

HOSTILE = ["eth0;reboot", "$(id)", "-f", "a b", "x" * 16, "eth0\nx", "../../x", "", "'q'"]


def _refused(xml: str) -> DriverError:
    with pytest.raises(DriverError) as exc:
        parse_network(xml)
    return exc.value


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("where", ["dev", "interface", "pf"])
def test_forward_device_names_are_interface_names(where, value):
    q = quoteattr(value)
    body = {"dev": f"<forward mode='private' dev={q}/>",
            "interface": f"<forward mode='vepa'><interface dev={q}/></forward>",
            "pf": f"<forward mode='passthrough'><pf dev={q}/></forward>"}[where]
    err = _refused(f"<network><name>n</name>{body}</network>")
    assert err.code in (C.VIR_ERR_XML_ERROR, C.VIR_ERR_XML_DETAIL, C.VIR_ERR_INVALID_ARG)
    assert "Traceback" not in err.detail


@pytest.mark.parametrize("attr,value", [("bus", "0x100"), ("slot", "0x20"), ("function", "8"), ("domain", "zz"),
                                        ("bus", "1;reboot"), ("slot", "-1")])
def test_hostdev_pci_addresses_are_range_checked(attr, value):
    addr = {"domain": "0x0000", "bus": "0x03", "slot": "0x00", "function": "0x1", attr: value}
    attrs = " ".join(f"{k}='{v}'" for k, v in addr.items())
    err = _refused(f"<network><name>n</name><forward mode='hostdev'><address type='pci' {attrs}/></forward>"
                   f"</network>")
    assert err.code == C.VIR_ERR_XML_ERROR and attr in err.detail


def test_unknown_driver_and_address_types_are_refused():
    err = _refused("<network><name>n</name><forward mode='hostdev'><driver name='x;y'/><pf dev='eth0'/></forward>"
                   "</network>")
    assert err.code == C.VIR_ERR_CONFIG_UNSUPPORTED
    err = _refused("<network><name>n</name><forward mode='hostdev'><address type='usb' bus='1'/></forward>"
                   "</network>")
    assert err.code == C.VIR_ERR_CONFIG_UNSUPPORTED


def test_pci_address_values_are_rewritten_canonically():
    d = parse_network("<network><name>n</name><forward mode='hostdev' managed='yes'><address type='pci' "
                      "domain='0' bus='3' slot='0x1' function='2'/></forward></network>")
    assert "<address type='pci' domain='0x0000' bus='0x03' slot='0x01' function='0x2'/>" in d.to_xml()
