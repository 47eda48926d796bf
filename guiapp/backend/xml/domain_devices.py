"""Devices of the domain model: ``<disk>``, ``<interface>``, ``<graphics>``, ``<console>``/``<serial>``.

Each class wraps its element (:class:`~.props.XMLNode`): fields read and write the
tree through declarative properties, nothing is copied.  ``check(element, ...)``
is the parse-time validation (and, for interfaces, normalization: default type,
generated or lowercased MAC) that :mod:`.domain_normalize` runs on every device.

Slightly over the ~500-line mark on purpose: the four device classes share their property declarations and
check helpers, and each reads as one screenful; a further device class goes in a module of its own.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar, Optional

from lxml import etree

from .. import constants as C
from .. import validate
from ..errors import DriverError
from .domain_values import (
    CHAR_TYPES,
    DISK_DEVICES,
    DISK_TYPES,
    GRAPHICS_TYPES,
    NET_TYPES,
    SOCKET_NET_TYPES,
    generate_mac,
    parse_int,
    parse_mac,
    parse_yes_no,
    xml_error,
)
from .props import BoolProp, FlagProp, IntProp, StrProp, XMLNode, XPath, remove_element

_FROM = C.VIR_FROM_DOMAIN


def _child(el: etree._Element, tag: str) -> Optional[etree._Element]:
    """The first child ``tag`` (faster than ElementPath's find)."""
    return next(el.iterchildren(tag), None)


_DISK_SOURCE_ATTR = {"block": "dev", "dir": "dir", "network": "name", "volume": "volume"}
_SOURCE = {a: StrProp(f"source/@{a}") for a in ("file", "dev", "dir", "name", "volume")}
_SOURCE_EL = XPath("source")


class Device(XMLNode):
    """A device element of a domain; writes notify the domain (its cached text is dropped)."""

    __slots__ = ()
    _repr_fields: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._repr_fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.element is self.element

    def __hash__(self) -> int:
        return hash(self.element)


# ---------------------------------------------------------------------------
# <disk>

class Disk(Device):
    """``<disk type device>`` with ``<driver name type>``, ``<source>``, ``<target dev bus>``, ..."""

    __slots__ = ()
    _repr_fields = ("type", "device", "source", "target", "bus", "format", "readonly")
    ORDER = {"disk": ("driver", "source", "backingStore", "target", "iotune", "boot", "readonly")}

    target = StrProp("target/@dev")
    bus = StrProp("target/@bus")
    format = StrProp("driver/@type")
    driver_name = StrProp("driver/@name")
    readonly = FlagProp("readonly")

    @property
    def type(self) -> str:
        return self.element.get("type") or "file"

    @property
    def device(self) -> str:
        return self.element.get("device") or "disk"

    @property
    def _source_attr(self) -> str:
        return _DISK_SOURCE_ATTR.get(self.type, "file")

    @property
    def source(self) -> Optional[str]:
        """The medium: ``<source file|dev|dir|name|volume=...>`` by disk type."""
        return _disk_source(self.element, self._source_attr)

    @source.setter
    def source(self, path: Optional[str]) -> None:
        """Change the medium (``None`` ejects: the whole ``<source>`` goes)."""
        if path is None:
            el = _SOURCE_EL.find(self.element)
            if el is not None:
                remove_element(el)
                self._changed("source")
            return
        _SOURCE[self._source_attr].__set__(self, path)

    @property
    def boot_order(self) -> Optional[int]:
        boot = _child(self.element, "boot")
        return None if boot is None else parse_int(boot.get("order"), "disk boot order", 1, 2 ** 31 - 1)

    @staticmethod
    def check(element: etree._Element) -> tuple[str, Optional[str]]:
        """Validate a ``<disk>`` at parse time; returns (target, source)."""
        dtype = element.get("type") or "file"
        if dtype not in DISK_TYPES:
            raise xml_error(f"Invalid value for attribute 'type' in element 'disk': '{dtype}' "
                            f"(expected one of {', '.join(sorted(DISK_TYPES))})")
        device = element.get("device") or "disk"
        if device not in DISK_DEVICES:
            raise xml_error(f"Invalid value for attribute 'device' in element 'disk': '{device}' "
                            f"(expected one of {', '.join(sorted(DISK_DEVICES))})")
        attr = _DISK_SOURCE_ATTR.get(dtype, "file")
        source = target = None
        for child in element:
            tag = child.tag
            if tag == "source":
                source = child.get(attr) or child.get("file") or child.get("dev")
            elif tag == "target":
                target = child.get("dev")
            elif tag == "boot":
                parse_int(child.get("order"), "disk boot order", 1, 2 ** 31 - 1)
        if not target:
            raise DriverError(C.VIR_ERR_NO_TARGET,
                              f"{source or '(no source)'}: each <disk> needs <target dev='...'/> "
                              f"(e.g. <target dev='hda'/>)", _FROM)
        if source is None and device in ("disk", "lun") and dtype in ("file", "block"):
            raise DriverError(C.VIR_ERR_NO_SOURCE,
                              f"{target}: a <disk device='{device}'> needs <source "
                              f"{attr}='...'/> (only cdrom and floppy drives may be empty)", _FROM)
        return target, source


def _disk_source(element: etree._Element, attr: str) -> Optional[str]:
    src = _child(element, "source")
    if src is None:
        return None
    return src.get(attr) or src.get("file") or src.get("dev")


# ---------------------------------------------------------------------------
# <interface>

def _ifname(name: Optional[str], what: str, *, optional: bool = False) -> Optional[str]:
    """An interface name read from the XML, checked (None passes when ``optional``)."""
    if name is None and optional:
        return None
    return validate.check_ifname(name, what, domain=_FROM)


class Interface(Device):
    """``<interface type>`` with ``<mac>``, ``<source>``, ``<target>``, ``<script>``, ``<model>``."""

    __slots__ = ()
    _repr_fields = ("type", "mac", "network", "bridge", "source_address", "source_port", "target_dev", "model")
    #: libvirt's order of ``<interface>`` children (``<target>`` after these, then the rest)
    ORDER = {"interface": ("mac", "source", "virtualport", "ip", "route", "script", "downscript",
                           "backenddomain", "bandwidth", "vlan", "port", "target", "guest", "model",
                           "driver", "backend", "tune", "teaming", "link", "mtu", "coalesce", "filterref",
                           "alias", "address", "rom", "boot")}

    _mac = StrProp("mac/@address")
    _target = StrProp("target/@dev")
    script = StrProp("script/@path")
    model = StrProp("model/@type")

    @property
    def type(self) -> str:
        return self.element.get("type") or "user"

    def _source(self, attr: str) -> Optional[str]:
        src = _child(self.element, "source")
        return None if src is None else src.get(attr)

    _src_network = StrProp("source/@network")
    _src_bridge = StrProp("source/@bridge")
    _src_dev = StrProp("source/@dev")
    _src_address = StrProp("source/@address")
    _src_port = IntProp("source/@port", 1, 65535)

    @property
    def network(self) -> Optional[str]:
        if self.type != "network":
            return None
        return self._source("network") or self._source("name")

    @network.setter
    def network(self, value: Optional[str]) -> None:
        self._src_network = value

    @property
    def bridge(self) -> Optional[str]:
        """The host side: the bridge of type 'bridge', the device of type 'direct'."""
        t = self.type
        if t == "bridge":
            return self._source("bridge") or self._source("dev")
        if t == "direct":
            return self._source("dev")
        return None

    @bridge.setter
    def bridge(self, value: Optional[str]) -> None:
        if self.type == "direct":
            self._src_dev = value
        else:
            self._src_bridge = value

    @property
    def source_address(self) -> Optional[str]:
        return self._source("address") if self.type in SOCKET_NET_TYPES else None

    @source_address.setter
    def source_address(self, value: Optional[str]) -> None:
        self._src_address = value

    @property
    def source_port(self) -> Optional[int]:
        if self.type not in SOCKET_NET_TYPES:
            return None
        return parse_int(self._source("port"), f"port of interface type='{self.type}'", 1, 65535)

    @source_port.setter
    def source_port(self, value: Optional[int]) -> None:
        self._src_port = value

    def _local(self, attr: str) -> Optional[str]:
        if self.type != "udp":
            return None
        local = self.element.find("source/local")
        return None if local is None else local.get(attr)

    @property
    def local_address(self) -> Optional[str]:
        return self._local("address")

    @property
    def local_port(self) -> Optional[int]:
        return parse_int(self._local("port"), "local port of interface type='udp'", 1, 65535)

    @property
    def mac(self) -> str:
        return self._mac  # type: ignore[return-value]  # normalized (present) at parse time

    @mac.setter
    def mac(self, value: str) -> None:
        self._mac = parse_mac(value)

    @property
    def target_dev(self) -> Optional[str]:
        return self._target

    @target_dev.setter
    def target_dev(self, dev: Optional[str]) -> None:
        _ifname(dev, "interface target dev", optional=True)
        self._target = dev

    @staticmethod
    def check(element: etree._Element, mac_prefix: str) -> None:
        """Validate an ``<interface>`` at parse time; fills in the default type and the MAC."""
        t = element.get("type")
        if t is None:
            t = "user"  # libvirt's parser default
            element.set("type", t)
        if t not in NET_TYPES:
            raise xml_error(f"Invalid value for attribute 'type' in element 'interface': '{t}' "
                            f"(expected one of user, network, bridge, ethernet, mcast, server, client, udp)")
        mac_el = source = None
        for child in element:
            tag = child.tag
            if tag == "mac":
                mac_el = child
            elif tag == "source":
                source = child
            elif tag == "target":
                _ifname(child.get("dev"), "interface target dev", optional=True)
        if mac_el is None or mac_el.get("address") is None:
            if mac_el is None:
                mac_el = etree.Element("mac")
                element.insert(0, mac_el)
            mac_el.set("address", generate_mac(mac_prefix))
        else:
            raw = mac_el.get("address")
            mac = parse_mac(raw)
            if raw != mac:
                mac_el.set("address", mac)
        if t == "network":
            if source is None:
                raise xml_error("interface type='network' requires a 'source' element "
                                "(e.g. <source network='default'/>)")
            if not (source.get("network") or source.get("name")):
                raise xml_error("Missing required attribute 'network' in element 'source' of "
                                "interface type='network' (e.g. <source network='default'/>)")
        elif t == "bridge":
            if source is None:
                raise xml_error("interface type='bridge' requires a 'source' element "
                                "(e.g. <source bridge='br0'/>)")
            bridge = source.get("bridge") or source.get("dev")
            if not bridge:
                raise xml_error("Missing required attribute 'bridge' in element 'source' of "
                                "interface type='bridge' (e.g. <source bridge='br0'/>)")
            _ifname(bridge, "interface source bridge")
        elif t in SOCKET_NET_TYPES:
            _check_socket(t, source)
        elif t == "direct" and source is not None:
            _ifname(source.get("dev"), "interface source dev", optional=True)


def _check_socket(t: str, source: Optional[etree._Element]) -> None:
    if source is None:
        raise xml_error(f"interface type='{t}' requires a 'source' element "
                        f"(e.g. <source address='{'230.0.0.1' if t == 'mcast' else '192.168.0.1'}' "
                        f"port='5558'/>)")
    addr = source.get("address")
    if addr is None and t != "server":
        raise xml_error(f"Missing required attribute 'address' in element 'source' of interface type='{t}'")
    port = source.get("port")
    if port is None:
        raise xml_error(f"Missing required attribute 'port' in element 'source' of interface type='{t}'")
    parse_int(port, f"port of interface type='{t}'", 1, 65535)
    if addr is not None:
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            if t == "mcast":
                raise xml_error(f"invalid multicast address '{addr}' for interface type='mcast' "
                                f"(use an address in 224.0.0.0/4, e.g. 230.0.0.1)") from None
        # libvirt's parser takes any IP address for mcast (net-mcast.xml uses 192.0.0.1); the QEMU
        # command line (drivers/qemu/optcheck.inet_host) is where a non-multicast address is refused
    if t == "udp":
        local = source.find("local")
        if local is not None:
            parse_int(local.get("port"), "local port of interface type='udp'", 1, 65535)


# ---------------------------------------------------------------------------
# <graphics>

class Graphics(Device):
    """``<graphics type port autoport listen passwd socket>`` (+ ``<listen type='address'>``)."""

    __slots__ = ()
    _repr_fields = ("type", "port", "autoport", "listen", "socket")

    passwd = StrProp("@passwd")
    autoport_attr = BoolProp("@autoport", doc="the autoport attribute as written (autoport: what it means)")
    listen_attr = StrProp("@listen")
    listen_address = StrProp("listen[@type='address']/@address")
    _port_attr = IntProp("@port", -1, 65535)

    @staticmethod
    def new(owner: Any, gtype: str, port: int, autoport: bool) -> Graphics:
        """A detached ``<graphics type port autoport>`` (append it to ``DomainDef.graphics``)."""
        g = Graphics(etree.Element("graphics", type=gtype), owner)
        g._port_attr = port
        g.autoport_attr = autoport
        return g

    @property
    def type(self) -> str:
        return self.element.get("type")  # checked at parse time

    @property
    def port(self) -> Optional[int]:
        port = self.element.get("port")
        return None if port is None else int(port.strip(), 10)

    @port.setter
    def port(self, value: Optional[int]) -> None:
        """Set the (allocated) port; ``None`` removes the attribute."""
        if value is None:
            self.element.attrib.pop("port", None)
        else:
            if not -1 <= int(value) <= 65535:
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"graphics port {value} out of range (-1 or 0-65535)")
            autoport = self.autoport
            self.element.set("port", str(int(value)))
            if autoport and int(value) != -1:
                self.element.set("autoport", "yes")  # so that the inactive form knows the port is allocated
        self._changed("")

    @property
    def autoport(self) -> bool:
        """``autoport='yes'``, or implied (VNC/SPICE without a port or socket), or ``port='-1'``."""
        get = self.element.get
        port = self.port
        autoport = parse_yes_no(get("autoport"), "graphics autoport")
        if autoport is None:
            autoport = self.type in ("vnc", "spice") and (port is None or port == -1) and get("socket") is None
        return bool(autoport) or port == -1

    def _listen_child(self, kind: str, attr: str) -> Optional[str]:
        value = None
        for child in self.element.iterfind("listen"):
            if (child.get("type") or "address") == kind and value is None:
                value = child.get(attr)
        return value

    @property
    def listen(self) -> Optional[str]:
        return self.element.get("listen") or self._listen_child("address", "address")

    @property
    def socket(self) -> Optional[str]:
        return self.element.get("socket") or self._listen_child("socket", "socket")

    @staticmethod
    def check(element: etree._Element) -> None:
        """Validate a ``<graphics>`` at parse time."""
        get = element.get
        t = get("type")
        if t not in GRAPHICS_TYPES:
            raise DriverError(C.VIR_ERR_XML_ERROR, f"Invalid value for attribute 'type' in element 'graphics': "
                              f"'{t}' (expected one of {', '.join(sorted(GRAPHICS_TYPES))})", C.VIR_FROM_XML)
        port = get("port")
        if port is not None:
            try:
                n = int(port.strip(), 10)
            except ValueError:
                raise xml_error(f"cannot parse {t} port '{port}': expected -1 (automatic) or 0-65535") from None
            if not -1 <= n <= 65535:
                raise xml_error(f"{t} port {n} out of range: expected -1 (automatic) or 0-65535")
        parse_yes_no(get("autoport"), "graphics autoport")


# ---------------------------------------------------------------------------
# <console>, <serial>

class CharDev(Device):
    """``<console>``/``<serial>``: ``type`` ('pty' default), ``tty``/``<source path>``, ``<target port>``."""

    __slots__ = ()
    _repr_fields = ("kind", "type", "path", "target_port")
    ORDER = {tag: ("source", "protocol", "log", "target", "alias", "address")
             for tag in ("console", "serial", "parallel", "channel")}

    target_type = StrProp("target/@type")
    _target_port = IntProp("target/@port", 0, 65535)

    @property
    def kind(self) -> str:
        return self.element.tag

    @property
    def type(self) -> str:
        return self.element.get("type") or "pty"

    @property
    def target_port(self) -> Optional[int]:
        target = _child(self.element, "target")
        return None if target is None else parse_int(target.get("port"), f"{self.kind} target port", 0, 65535)

    @target_port.setter
    def target_port(self, value: Optional[int]) -> None:
        self._target_port = value

    @property
    def path(self) -> Optional[str]:
        """The host side: the pty path (``tty`` attribute or ``<source path>``), a file, a socket..."""
        path = self.element.get("tty")
        for src in self.element.iterfind("source"):
            path = src.get("path") or path
        return path

    @path.setter
    def path(self, value: Optional[str]) -> None:
        el = self.element
        src = el.find("source")
        if value is None:
            el.attrib.pop("tty", None)
            if src is not None:
                src.attrib.pop("path", None)
                if not len(src.attrib) and not len(src):
                    remove_element(src)
        elif el.get("tty") is not None or (src is None and el.get("type") is None):
            el.set("tty", value)  # the seed's <console tty='...'/> form
        else:
            _PATH.__set__(self, value)
            if el.get("type") == "pty":
                el.set("tty", value)  # libvirt writes both for a running pty
        self._changed(None)

    # the seed calls it tty
    tty = path

    @staticmethod
    def check(element: etree._Element) -> None:
        """Validate a ``<console>``/``<serial>`` at parse time."""
        kind = element.tag
        t = element.get("type") or "pty"
        if t not in CHAR_TYPES:
            raise xml_error(f"Invalid value for attribute 'type' in element '{kind}': '{t}' "
                            f"(expected one of {', '.join(sorted(CHAR_TYPES))})")
        for child in element.iterfind("target"):
            parse_int(child.get("port"), f"{kind} target port", 0, 65535)


_PATH = StrProp("source/@path")


def any_device(element: etree._Element, owner: Any) -> Device:
    """The model class for a device element (a plain :class:`Device` for kinds without one)."""
    cls = {"disk": Disk, "interface": Interface, "graphics": Graphics, "console": CharDev,
           "serial": CharDev}.get(element.tag, Device)
    return cls(element, owner)


__all__ = ["Device", "Disk", "Interface", "Graphics", "CharDev", "any_device"]
