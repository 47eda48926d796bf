"""The virtual network XML model (libvirt's ``<network>`` format).

:func:`parse_network` parses (safely), validates and normalizes a document and
returns a :class:`NetworkDef`.  As for domains, the lxml tree is the source of
truth: elements and attributes the model does not know (``<dns>``, ``<mtu>``,
``<portgroup>``, ...) are kept, so a document round-trips.

Understood (and checked)::

    <network>
      <name>default</name>
      <uuid>...</uuid>                                  <!-- generated when missing -->
      <forward mode='nat|route|open' dev='eth0'/>      <!-- absent: isolated; bridge, private, vepa,
                                                            passthrough, hostdev: see network_forward -->
      <bridge name='virbr0' stp='on' delay='0'/>       <!-- name chosen by the driver when missing -->
      <mac address='52:54:00:..'/>
      <domain name='example.org' localOnly='yes'/>
      <ip address='192.168.122.1' netmask='255.255.255.0'>   <!-- or prefix='24'; family='ipv6' -->
        <dhcp>
          <range start='192.168.122.2' end='192.168.122.254'/>
          <host mac='52:54:00:00:00:01' name='g1' ip='192.168.122.5'/>
        </dhcp>
      </ip>
    </network>

Normalization (as libvirt's test driver shows it): a missing ``<uuid>`` is
generated, ``<forward/>`` without a mode means ``nat``, ``<forward dev>`` gets
its ``<interface dev>`` child, ``<bridge>`` gets ``stp='on' delay='0'``, the
top-level children are put in libvirt's order and the document is re-indented.

Errors are :class:`DriverError` in error domain ``VIR_FROM_NETWORK``:
``VIR_ERR_XML_ERROR`` for malformed values, ``VIR_ERR_NO_NAME`` for a missing
name, ``VIR_ERR_CONFIG_UNSUPPORTED`` for consistent but unusable settings
(a DHCP range outside its subnet, an unsupported forward mode).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Optional, Union

from lxml import etree

from .. import constants as C
from .. import validate
from ..errors import DriverError
from ..uuids import new_uuid
from .domain import format_uuid
from .network_dns import check_dns
from .network_forward import FORWARD_MODES, L3_MODES, check_mode_rules, is_direct, load_forward
from .network_ip import (
    DhcpHost,
    IPDef,
    IPNetwork,
    check_ips,
    load_ip,
    network_mac,
    xml_error,
)
from .props import BoolProp, IntProp, StrProp, XMLNode
from .safe import check_root, parse_xml
from .serialize import to_text

_FROM = C.VIR_FROM_NETWORK

#: Forward modes with a bridge of ours (nat, route, open) and all modes libvirt knows (network_forward).
SUPPORTED_FORWARD_MODES = L3_MODES
KNOWN_FORWARD_MODES = FORWARD_MODES

#: libvirt's order of the top-level children of ``<network>``.
_ORDER = ("name", "uuid", "metadata", "forward", "bridge", "mtu", "mac", "domain", "dns", "ip", "route")


def check_ifname(name: str, what: str) -> str:
    """A valid interface name (see :mod:`guiapp.backend.validate`), else VIR_ERR_XML_ERROR naming ``what``."""
    return validate.check_ifname(name, what, domain=_FROM)


class NetworkFields(XMLNode):
    """The fields of a ``<network>`` bound to its tree, without any checking (a draft being written).

    :class:`NetworkDef` adds libvirt's checks and normalization; forms build their document on a
    ``NetworkFields.new()`` and hand the text to :func:`parse_network`.
    """

    __slots__ = ()
    ORDER = {"network": _ORDER, "forward": ("interface", "pf", "nat"), "ip": ("dhcp", "tftp"),
             "dhcp": ("range", "host", "bootp")}

    _name = StrProp("name")
    _uuid = StrProp("uuid")
    forward_mode = StrProp("forward/@mode", "None: an isolated network (checked at parse time)")
    forward_dev = StrProp("forward/@dev")
    bridge = StrProp("bridge/@name", "the bridge device (set by the driver with set_bridge)")
    _stp = BoolProp("bridge/@stp", ("on", "off"))
    _delay = IntProp("bridge/@delay", 0, 300)
    mac = StrProp("mac/@address")
    domain_name = StrProp("domain/@name")
    #: the first ``<ip>`` (what a form edits; :attr:`NetworkDef.ips` parses them all)
    ip_address = StrProp("ip/@address")
    ip_prefix = IntProp("ip/@prefix", 0, 128)
    dhcp_start = StrProp("ip/dhcp/range/@start")
    dhcp_end = StrProp("ip/dhcp/range/@end")

    @classmethod
    def new(cls) -> NetworkFields:
        """An empty ``<network/>`` draft."""
        return cls(etree.Element("network"))

    @property
    def root(self) -> etree._Element:
        return self.element

    @property
    def name(self) -> str:
        return (self._name or "").strip()

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def stp(self) -> bool:
        return self._stp is not False

    @stp.setter
    def stp(self, value: bool) -> None:
        self._stp = bool(value)

    @property
    def delay(self) -> int:
        return self._delay or 0

    @delay.setter
    def delay(self, value: int) -> None:
        self._delay = value

    def to_xml(self) -> str:
        """The document as libvirt writes it (single-quoted attributes), ending with a newline."""
        return to_text(self.element) + "\n"


class NetworkDef(NetworkFields):
    """A parsed, validated network definition (fields read and write the tree).  See the module docstring."""

    __slots__ = ("_ips",)

    def __init__(self, root: etree._Element) -> None:
        """Wrap ``root`` (validated and normalized in place).  Prefer :func:`parse_network`."""
        XMLNode.__init__(self, root)
        self._ips: Optional[list[IPDef]] = None
        self._normalize()

    def _changed(self, top: Optional[str] = None) -> None:
        self._ips = None

    @property
    def uuid(self) -> bytes:
        return bytes.fromhex(self.uuid_str.replace("-", ""))

    @property
    def ips(self) -> list[IPDef]:
        """The ``<ip>`` elements, parsed (validated at parse time; cached until a property write)."""
        if self._ips is None:
            self._ips = [load_ip(el, self.name) for el in self.element.iterfind("ip")]
        return self._ips

    # -- parse-time validation and normalization --------------------------------

    def _normalize(self) -> None:
        root = self.element
        check_root(root, "network", domain=_FROM)
        els: dict[str, etree._Element] = {}
        for child in root:
            if isinstance(child.tag, str) and child.tag in ("name", "uuid", "forward", "bridge", "mac", "domain"):
                if child.tag in els:
                    raise xml_error(f"the network has more than one <{child.tag}> element: keep only one")
                els[child.tag] = child

        name_el = els.get("name")
        name = (name_el.text or "").strip() if name_el is not None else ""
        if not name:
            raise DriverError(C.VIR_ERR_NO_NAME, "the network needs a non-empty <name> (e.g. <name>default</name>)",
                              _FROM)
        if "/" in name:
            raise xml_error(f"name {name} cannot contain '/': choose a network name without slashes")
        problem = validate.text_problem(name, spaces=True)  # it reaches file names and dnsmasq's config
        if problem is not None:
            raise xml_error(f"invalid network name {validate.shown(name)}: {problem} (control characters and "
                             f"line breaks are not allowed)")
        if name_el is not None and name_el.text != name:  # (a non-empty name has its element)
            name_el.text = name

        uuid_el = els.get("uuid")
        if uuid_el is None:
            uuid = new_uuid()
            uuid_el = etree.SubElement(root, "uuid")
        else:
            hexs = (uuid_el.text or "").strip().replace("-", "").replace(" ", "")
            try:
                if len(hexs) != 32:
                    raise ValueError
                uuid = bytes.fromhex(hexs)
            except ValueError:
                raise xml_error(f"malformed uuid element: '{uuid_el.text}' (expected 32 hex digits, dashes "
                                 f"optional, e.g. dd8fe884-6c02-601e-7551-cca97df1c5df)") from None
        uuid_el.text = format_uuid(uuid)

        self._check_forward(els.get("forward"))
        self._check_bridge(els.get("bridge"))

        mac_el = els.get("mac")
        if mac_el is not None:
            mac_el.set("address", network_mac(mac_el.get("address")))

        dom_el = els.get("domain")
        if dom_el is not None:
            validate.check_dns_name(dom_el.get("name"), f"<domain name> of network '{name}'", domain=_FROM)
        for dns in root.iterfind("dns"):
            check_dns(dns, name)

        self._ips = [load_ip(el, self.name) for el in root.iterfind("ip")]
        check_ips(self._ips, self.name)
        check_mode_rules(root, self.forward_mode, name, len(self._ips))

        # libvirt's order for the known children; unknown ones keep their relative order at the end
        children = [c for c in root if isinstance(c.tag, str)]
        rank = {tag: i for i, tag in enumerate(_ORDER)}
        children.sort(key=lambda c: rank.get(c.tag, len(_ORDER)))
        for c in list(root):
            root.remove(c)
        root.text = None
        for c in children:
            c.tail = None
            root.append(c)
        etree.indent(root, space="  ")

    def _check_forward(self, fwd: Optional[etree._Element]) -> None:
        if fwd is not None:  # every libvirt mode, checked and normalized in place: see network_forward
            load_forward(fwd, self.name)

    def _check_bridge(self, br: Optional[etree._Element]) -> None:
        if br is None:
            return
        name = br.get("name")
        if name is not None:
            if "%d" in name:  # libvirt's template: the driver picks the number
                check_ifname(name.replace("%d", "0"), f"bridge name template of network '{self.name}'")
            else:
                check_ifname(name, f"bridge name of network '{self.name}'")
        stp = br.get("stp", "on")
        if stp not in ("on", "off"):
            raise xml_error(f"invalid stp '{stp}' in the bridge of network '{self.name}': expected 'on' or 'off'")
        delay_text = br.get("delay", "0")
        if not (delay_text.isascii() and delay_text.isdigit()) or int(delay_text) > 300:
            raise xml_error(f"invalid delay '{delay_text}' in the bridge of network '{self.name}': expected "
                             f"seconds 0-300")
        others = [(k, v) for k, v in br.attrib.items() if k not in ("name", "stp", "delay")]
        direct = is_direct(self.forward_mode)  # a host bridge: libvirt adds no stp/delay (and refuses them)
        explicit = (br.get("stp"), br.get("delay"))
        br.attrib.clear()
        if name is not None:
            br.set("name", name)
        if not direct or explicit[0] is not None:
            br.set("stp", stp)
        if not direct or explicit[1] is not None:
            br.set("delay", str(int(delay_text)))
        for k, v in others:
            br.set(k, v)

    # -- accessors -------------------------------------------------------------

    @property
    def uuid_str(self) -> str:
        return self._uuid  # type: ignore[return-value]  # normalized dashed at parse time

    @property
    def isolated(self) -> bool:
        return self.forward_mode is None

    @property
    def ipv4(self) -> Optional[IPDef]:
        """The IPv4 ``<ip>`` carrying DHCP, else the first IPv4 one."""
        v4 = [ip for ip in self.ips if ip.family == "ipv4"]
        for ip in v4:
            if ip.has_dhcp:
                return ip
        return v4[0] if v4 else None

    def subnets(self) -> list[IPNetwork]:
        return [ip.network for ip in self.ips]

    def set_bridge(self, name: str) -> None:
        """Give the network its bridge (the driver does so when the XML named none or a template)."""
        check_ifname(name, f"bridge name of network '{self.name}'")
        br = self.element.find("bridge")
        if br is not None and br.get("name") is None:
            others = dict(br.attrib)  # libvirt writes name first
            br.attrib.clear()
            br.set("name", name)
            br.attrib.update(others)
        self.bridge = name
        if br is None:
            self._stp = True
            self._delay = 0

    def copy(self) -> NetworkDef:
        new = NetworkDef.__new__(NetworkDef)
        XMLNode.__init__(new, deepcopy(self.element))
        new._ips = None
        return new

    def __repr__(self) -> str:
        return f"<NetworkDef {self.name!r} {self.uuid_str} forward={self.forward_mode} bridge={self.bridge}>"


def parse_network(xml: Union[str, bytes]) -> NetworkDef:
    """Parse, validate and normalize a ``<network>`` document.  Raises DriverError."""
    root = parse_xml(xml, "network_definition", domain=_FROM)
    return NetworkDef(root)


def network_from_element(element: etree._Element) -> NetworkDef:
    """A NetworkDef from an element of another document (copied, e.g. a node file's ``<network>``)."""
    return NetworkDef(deepcopy(element))


#: libvirt's test driver default network (``test:///default``), as it shows it.
TEST_DEFAULT_NETWORK_XML = """<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
"""

#: The ``default`` network a ``qemu:///system`` host gets out of the box: the seed's 192.168.22.0/24, NAT.
HOST_DEFAULT_NETWORK_XML = """<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.22.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.22.2' end='192.168.22.254'/>
    </dhcp>
  </ip>
</network>
"""

__all__ = ["NetworkDef", "NetworkFields", "IPDef", "DhcpHost", "parse_network", "network_from_element", "check_ifname",
           "SUPPORTED_FORWARD_MODES", "TEST_DEFAULT_NETWORK_XML", "HOST_DEFAULT_NETWORK_XML"]
