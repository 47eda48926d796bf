"""The create form's checks and XML, the action rules and the row description (no Qt, no driver)."""

from __future__ import annotations

import ipaddress

import pytest

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.network import TEST_DEFAULT_NETWORK_XML, parse_network
from guiapp.views.networks.actions import disabled_reason
from guiapp.views.networks.create_dialog import suggest_subnet
from guiapp.views.networks.form import FormValues, build_xml, check_form
from guiapp.views.networks.rows import describe


def good(**kw: object) -> FormValues:
    base = dict(name="lab", address="10.0.5.1", prefix=24, dhcp_start="10.0.5.2", dhcp_end="10.0.5.99")
    base.update(kw)
    return FormValues(**base)  # type: ignore[arg-type]


def test_valid_form_gives_xml_the_model_accepts() -> None:
    check = check_form(good(forward="route", device="eth0", bridge="br-lab", domain="lab.example"))
    assert check.ok, check.errors
    d = parse_network(check.xml)
    assert (d.name, d.forward_mode, d.forward_dev, d.bridge, d.domain_name) == ("lab", "route", "eth0", "br-lab",
                                                                               "lab.example")
    ip = d.ipv4
    assert ip is not None and str(ip.network) == "10.0.5.0/24"
    assert [(str(a), str(b)) for a, b in ip.ranges] == [("10.0.5.2", "10.0.5.99")]


def test_isolated_without_address_and_dhcp_is_fine() -> None:
    check = check_form(FormValues(name="iso", forward="isolated", address=""))
    assert check.ok and "<forward" not in check.xml and "<ip" not in check.xml


@pytest.mark.parametrize(("values", "field", "words"), [
    (good(name=""), "name", "Give the network a name"),
    (good(name="a/b"), "name", "letters, digits"),
    (good(name="x" * 65), "name", "up to 64"),
    (good(address=""), "address", "needs an IPv4 address"),
    (good(address="fe80::1"), "address", "not an IPv4 address"),
    (good(address="10.0.5.0"), "address", "network or broadcast"),
    (good(prefix=31), "prefix", "8-30"),
    (good(dhcp_start="10.0.6.2"), "dhcp_start", "not entirely within"),
    (good(dhcp_start="10.0.5.50", dhcp_end="10.0.5.10"), "dhcp_start", "reversed"),
    (good(dhcp_start="10.0.5.1"), "dhcp_start", "own address"),
    (good(dhcp_end=""), "dhcp_end", "last address"),
    (good(dhcp_start="", ), "dhcp_start", "first address"),
    (good(forward="isolated", address="", dhcp_start="10.0.0.2"), "dhcp_start", "Address first"),
    (good(forward="isolated", device="eth0"), "device", "leave the device empty"),
    (good(device="eth 0"), "device", "interface name"),
    (good(bridge="x" * 16), "bridge", "at most 15"),
    (good(bridge="gxc,eth0"), "bridge", "interface name"),
    (good(domain="-bad.lan"), "domain", "DNS labels"),
    (good(forward="bridge"), "forward", "Unknown forward mode"),
])
def test_bad_input_is_refused_with_the_reason(values: FormValues, field: str, words: str) -> None:
    check = check_form(values)
    assert not check.ok and check.xml is None
    assert words in check.errors.get(field, ""), check.errors


def test_taken_name_is_refused() -> None:
    assert "already exists" in check_form(good(name="default"), ["default"]).errors["name"]
    assert check_form(good(name="default"), ["other"]).ok


def test_values_are_escaped() -> None:
    xml = build_xml(good(bridge="a'b&c"))
    assert "name='a&apos;b&amp;c'" in xml
    # well-formed (the escaping works), then refused by the interface-name rule, not by the XML parser
    with pytest.raises(DriverError) as exc:
        parse_network(xml)
    assert exc.value.code == C.VIR_ERR_XML_ERROR and "a'b&c" in exc.value.detail


def test_suggested_subnet_avoids_used_ones() -> None:
    assert suggest_subnet([]) == ipaddress.IPv4Network("192.168.100.0/24")
    assert suggest_subnet(["192.168.100.0/24", "192.168.96.0/20"]) == ipaddress.IPv4Network("192.168.112.0/24")
    assert suggest_subnet(["garbage", "fd00::/64"]) == ipaddress.IPv4Network("192.168.100.0/24")


def test_rows_and_action_rules() -> None:
    row = describe("test:///default", "default", "u", True, True, False, TEST_DEFAULT_NETWORK_XML)
    assert (row.forward, row.bridge, row.ipv4, row.subnets) == ("NAT", "virbr0", "192.168.122.1/24",
                                                                ("192.168.122.0/24",))
    broken = describe("u", "n", "id", False, True, False, "<network>")
    assert broken.name == "n" and broken.forward == "" and broken.xml == "<network>"
    assert disabled_reason("start", row) == "'default' is already running"
    assert disabled_reason("stop", row) == ""
    assert "read-only" in disabled_reason("delete", row, read_only=True)
    assert "still running" in disabled_reason("stop", row, busy=True)
    assert disabled_reason("stop", None) == "Select a network first"
    transient = describe("u", "t", "id", True, False, False, TEST_DEFAULT_NETWORK_XML)
    assert "transient" in disabled_reason("autostart", transient)


def test_model_errors_are_reported_next_to_form_errors() -> None:
    errors = check_form(good(name="bad name", dhcp_start="10.0.9.2")).errors
    assert "letters, digits" in errors["name"] and "not entirely within" in errors["dhcp_start"]
