"""The domain XML model: the lxml tree is the source of truth, typed accessors sit on top.

:func:`parse_domain` parses (safely), validates and normalizes a ``<domain>``
document the way libvirt does and returns a :class:`DomainDef`.  Every element
and attribute the model does not know is kept, so a document round-trips.

Normalization done once at parse time (libvirt does the same):

* ``<domain type>`` defaults to ``'xen'`` (the seed's rule);
* a missing ``<uuid>`` is generated; a UUID without dashes is rewritten dashed;
* ``<memory>``/``<currentMemory>`` are converted to KiB (``unit='KiB'``);
  a missing ``<currentMemory>`` is added, one larger than ``<memory>`` clamped;
* a missing ``<vcpu>`` and missing lifecycle actions are added with their defaults;
* a missing interface ``<mac>`` is generated (52:54:00 for QEMU/KVM/test,
  00:16:3e for Xen); MACs are written lowercase;
* the document is re-indented with two spaces (leaf text is never touched).

The formatted text is cached per (inactive, secure) variant and dropped on any
change made through the setters.  After editing :attr:`DomainDef.root` directly,
call :meth:`DomainDef.refresh` so the accessors and the cache follow.

Note on ``to_xml(secure=...)``: as specified for this project, ``secure=True``
(the default) *drops* the VNC password, i.e. it is the opposite of libvirt's
``VIR_DOMAIN_XML_SECURE`` flag.  Drivers should call :meth:`DomainDef.xml_for_flags`
with libvirt's flags to avoid getting that backwards.
"""

from __future__ import annotations

import ipaddress
import random
import re
from copy import deepcopy
from typing import Any, Optional, Union

from lxml import etree

from .. import constants as C
from .. import validate
from ..errors import DriverError
from ..uuids import format_uuid, new_uuid
from .domain_checks import check_domain
from .domain_defaults import fill_defaults
from .safe import check_root, parse_xml
from .serialize import to_text

# ---------------------------------------------------------------------------
# vocabularies (libvirt's enums)

DOMAIN_TYPES = frozenset({
    "none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware", "hyperv",
    "vbox", "phyp", "parallels", "bhyve", "vz", "hvf",
})
OS_TYPES = frozenset({"hvm", "xen", "linux", "exe", "uml", "xenpvh"})
LIFECYCLE_ACTIONS = ("destroy", "restart", "rename-restart", "preserve")
CRASH_ACTIONS = LIFECYCLE_ACTIONS + ("coredump-destroy", "coredump-restart")
LIFECYCLE_DEFAULTS = {"on_poweroff": "destroy", "on_reboot": "restart", "on_crash": "destroy"}
BOOT_DEVS = frozenset({"fd", "hd", "cdrom", "network"})
DISK_TYPES = frozenset({"file", "block", "dir", "network", "volume", "nvme", "vhostuser"})
DISK_DEVICES = frozenset({"disk", "cdrom", "floppy", "lun"})
NET_TYPES = frozenset({
    "user", "network", "bridge", "ethernet", "mcast", "server", "client", "udp",
    "direct", "hostdev", "vhostuser", "internal", "vdpa", "null", "vds",
})
SOCKET_NET_TYPES = frozenset({"mcast", "server", "client", "udp"})
GRAPHICS_TYPES = frozenset({"vnc", "sdl", "rdp", "desktop", "spice", "egl-headless", "dbus"})
CHAR_TYPES = frozenset({
    "pty", "null", "vc", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix", "spicevmc",
    "spiceport", "nmdm", "qemu-vdagent", "dbus",
})

MAC_PREFIX_QEMU = "52:54:00"
MAC_PREFIX_XEN = "00:16:3e"

#: Largest memory size accepted, in KiB (libvirt's limit: what fits in a signed 64-bit byte count).
MAX_MEMORY_KIB = (2 ** 63 - 1) // 1024

_UNITS = {
    "": 1024, "b": 1, "bytes": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024 ** 2, "mib": 1024 ** 2, "mb": 1000 ** 2,
    "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3,
    "t": 1024 ** 4, "tib": 1024 ** 4, "tb": 1000 ** 4,
    "p": 1024 ** 5, "pib": 1024 ** 5, "pb": 1000 ** 5,
    "e": 1024 ** 6, "eib": 1024 ** 6, "eb": 1000 ** 6,
}

_HEX = frozenset("0123456789abcdefABCDEF")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DISK_SOURCE_ATTR = {"block": "dev", "dir": "dir", "network": "name", "volume": "volume"}
#: ``<interface>`` children libvirt formats before ``<target>``.
_IFACE_BEFORE_TARGET = frozenset({"mac", "source", "virtualport", "ip", "route", "script", "downscript",
                                  "backenddomain", "bandwidth", "vlan", "port"})
_CHAR_DEVICE_TAGS = ("console", "serial", "parallel", "channel")
_FROM = C.VIR_FROM_DOMAIN


def _xml_error(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_XML_ERROR, detail, _FROM)


# ---------------------------------------------------------------------------
# value helpers (public: drivers use them too)

def parse_memory(value: Optional[str], unit: Optional[str], what: str = "memory") -> int:
    """``<memory unit=...>value</memory>`` -> KiB, rounding bytes up like libvirt."""
    if value is None or not value.strip():
        raise _xml_error(f"{what} size must be specified via <{what}> (e.g. <{what} unit='MiB'>512</{what}>)")
    if not (value.isascii() and value.isdigit()):
        raise DriverError(C.VIR_ERR_XML_ERROR, f"Invalid value '{value}' for element <{what}>: {what} size must "
                          f"be a whole non-negative number (with an optional unit attribute such as unit='MiB')",
                          C.VIR_FROM_XML)
    scale = _UNITS.get((unit or "").strip().lower())
    if scale is None:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"unknown unit '{unit}' for <{what}>: use b, KiB, MiB, GiB, TiB "
                          f"(or k, M, G, T, KB, MB, GB for powers of 1000)", C.VIR_FROM_NONE)
    nbytes = int(value) * scale
    if nbytes > 2 ** 64 - 1:
        raise _xml_error(f"{what} size {value} {unit or 'KiB'} is too large: numerical overflow")
    kib = -(-nbytes // 1024)
    if kib > MAX_MEMORY_KIB:
        raise _xml_error(f"{what} size {value} {unit or 'KiB'} is too large (at most {MAX_MEMORY_KIB} KiB)")
    return kib


def parse_uuid(text: Optional[str]) -> bytes:
    """libvirt's ``virUUIDParse``: 32 hex digits, dashes and spaces between them allowed."""
    hexs = (text or "").strip().replace("-", "").replace(" ", "")
    if len(hexs) != 32 or not _HEX.issuperset(hexs):
        raise DriverError(C.VIR_ERR_INTERNAL_ERROR,
                          f"malformed uuid element: '{text}' (expected 32 hex digits, dashes optional, "
                          f"e.g. 4dea24b3-1d52-d8f3-2516-782e98a23fa0)", _FROM)
    return bytes.fromhex(hexs)


def parse_mac(text: Optional[str]) -> str:
    """Validate a MAC address (1-2 hex digits per octet, ':' separated) -> lowercase canonical form."""
    return validate.parse_mac(text, domain=_FROM)


def generate_mac(prefix: str = MAC_PREFIX_QEMU) -> str:
    n = random.getrandbits(24)
    if prefix == MAC_PREFIX_XEN:
        n &= 0x7FFFFF  # keep Xen's locally used half of its OUI
    return f"{prefix}:{n >> 16:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"


def mac_prefix_for(hypervisor: Optional[str]) -> str:
    return MAC_PREFIX_XEN if hypervisor in ("xen", "libxl") else MAC_PREFIX_QEMU


def _int(value: Optional[str], what: str, lo: int, hi: int) -> Optional[int]:
    if value is None:
        return None
    v = value.strip()
    try:
        n = int(v, 10)
    except ValueError:
        raise _xml_error(f"cannot parse {what} '{value}': expected an integer in {lo}-{hi}") from None
    if not lo <= n <= hi:
        raise _xml_error(f"{what} {n} out of range (expected {lo}-{hi})")
    return n


def _yes_no(value: Optional[str], what: str) -> Optional[bool]:
    if value is None:
        return None
    if value == "yes":
        return True
    if value == "no":
        return False
    raise _xml_error(f"invalid value '{value}' for {what}: expected 'yes' or 'no'")


def _remove(el: etree._Element) -> None:
    """Remove ``el`` keeping the indentation of its neighbours (lxml drops the tail with it)."""
    parent = el.getparent()
    if parent is None:
        return
    prev = el.getprevious()
    if prev is not None:
        prev.tail = el.tail
    else:
        parent.text = el.tail
    parent.remove(el)


# ---------------------------------------------------------------------------
# devices

class _Device:
    __slots__ = ("element", "_owner")

    def __init__(self, element: etree._Element, owner: DomainDef) -> None:
        self.element = element
        self._owner = owner

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._repr_fields)
        return f"{type(self).__name__}({fields})"

    _repr_fields: tuple[str, ...] = ()


class Disk(_Device):
    """``<disk type device>`` with ``<driver name type>``, ``<source>``, ``<target dev bus>``, ..."""

    __slots__ = ("type", "device", "_source", "target", "bus", "format", "driver_name", "readonly",
                 "boot_order", "_source_attr")
    _repr_fields = ("type", "device", "source", "target", "bus", "format", "readonly")

    def __init__(self, element: etree._Element, owner: DomainDef) -> None:
        super().__init__(element, owner)
        get = element.get
        self.type = get("type") or "file"
        if self.type not in DISK_TYPES:
            raise _xml_error(f"Invalid value for attribute 'type' in element 'disk': '{self.type}' "
                             f"(expected one of {', '.join(sorted(DISK_TYPES))})")
        self.device = get("device") or "disk"
        if self.device not in DISK_DEVICES:
            raise _xml_error(f"Invalid value for attribute 'device' in element 'disk': '{self.device}' "
                             f"(expected one of {', '.join(sorted(DISK_DEVICES))})")
        self._source: Optional[str] = None
        self._source_attr = _DISK_SOURCE_ATTR.get(self.type, "file")
        self.target: Optional[str] = None
        self.bus: Optional[str] = None
        self.format: Optional[str] = None
        self.driver_name: Optional[str] = None
        self.readonly = False
        self.boot_order: Optional[int] = None
        for child in element:
            tag = child.tag
            if tag == "source":
                self._source = child.get(self._source_attr) or child.get("file") or child.get("dev")
            elif tag == "target":
                self.target = child.get("dev")
                self.bus = child.get("bus")
            elif tag == "driver":
                self.driver_name = child.get("name")
                self.format = child.get("type")
            elif tag == "readonly":
                self.readonly = True
            elif tag == "boot":
                self.boot_order = _int(child.get("order"), "disk boot order", 1, 2 ** 31 - 1)
        if not self.target:
            raise DriverError(C.VIR_ERR_NO_TARGET,
                              f"{self._source or '(no source)'}: each <disk> needs <target dev='...'/> "
                              f"(e.g. <target dev='hda'/>)", _FROM)
        if self._source is None and self.device in ("disk", "lun") and self.type in ("file", "block"):
            raise DriverError(C.VIR_ERR_NO_SOURCE,
                              f"{self.target}: a <disk device='{self.device}'> needs <source "
                              f"{self._source_attr}='...'/> (only cdrom and floppy drives may be empty)", _FROM)

    @property
    def source(self) -> Optional[str]:
        return self._source

    @source.setter
    def source(self, path: Optional[str]) -> None:
        """Change the medium (``None`` ejects); writes ``<source file|dev=...>``."""
        el = self.element.find("source")
        if path is None:
            if el is not None:
                _remove(el)
        else:
            if el is None:
                el = etree.Element("source")
                el.tail = self.element.text
                self.element.insert(0, el)
            el.set(self._source_attr, path)
        self._source = path
        self._owner._changed()


def _ifname(name: Optional[str], what: str, *, optional: bool = False) -> Optional[str]:
    """An interface name read from the XML, checked (None passes when ``optional``)."""
    if name is None and optional:
        return None
    return validate.check_ifname(name, what, domain=_FROM)


class Interface(_Device):
    """``<interface type>`` with ``<mac>``, ``<source>``, ``<target>``, ``<script>``, ``<model>``."""

    __slots__ = ("type", "_mac", "network", "bridge", "source_address", "source_port", "_target_dev",
                 "script", "model", "local_address", "local_port")
    _repr_fields = ("type", "mac", "network", "bridge", "source_address", "source_port", "target_dev", "model")

    def __init__(self, element: etree._Element, owner: DomainDef, mac_prefix: str) -> None:
        super().__init__(element, owner)
        t = element.get("type")
        if t is None:
            t = "user"  # libvirt's parser default
            element.set("type", t)
        if t not in NET_TYPES:
            raise _xml_error(f"Invalid value for attribute 'type' in element 'interface': '{t}' "
                             f"(expected one of user, network, bridge, ethernet, mcast, server, client, udp)")
        self.type = t
        self._mac: Optional[str] = None
        self.network = self.bridge = self.source_address = None
        self.source_port: Optional[int] = None
        self.local_address: Optional[str] = None
        self.local_port: Optional[int] = None
        self._target_dev = self.script = self.model = None
        mac_el = source = None
        for child in element:
            tag = child.tag
            if tag == "mac":
                mac_el = child
            elif tag == "source":
                source = child
            elif tag == "target":
                self._target_dev = _ifname(child.get("dev"), "interface target dev", optional=True)
            elif tag == "script":
                self.script = child.get("path")
            elif tag == "model":
                self.model = child.get("type")
        if mac_el is None or mac_el.get("address") is None:
            if mac_el is None:
                mac_el = etree.Element("mac")
                element.insert(0, mac_el)
            self._mac = generate_mac(mac_prefix)
            mac_el.set("address", self._mac)
        else:
            raw = mac_el.get("address")
            self._mac = parse_mac(raw)
            if raw != self._mac:
                mac_el.set("address", self._mac)
        if t == "network":
            if source is None:
                raise _xml_error("interface type='network' requires a 'source' element "
                                 "(e.g. <source network='default'/>)")
            self.network = source.get("network") or source.get("name")
            if not self.network:
                raise _xml_error("Missing required attribute 'network' in element 'source' of "
                                 "interface type='network' (e.g. <source network='default'/>)")
        elif t == "bridge":
            if source is None:
                raise _xml_error("interface type='bridge' requires a 'source' element "
                                 "(e.g. <source bridge='br0'/>)")
            self.bridge = source.get("bridge") or source.get("dev")
            if not self.bridge:
                raise _xml_error("Missing required attribute 'bridge' in element 'source' of "
                                 "interface type='bridge' (e.g. <source bridge='br0'/>)")
            _ifname(self.bridge, "interface source bridge")
        elif t in SOCKET_NET_TYPES:
            self._parse_socket(source)
        elif t == "direct" and source is not None:
            self.bridge = _ifname(source.get("dev"), "interface source dev", optional=True)

    def _parse_socket(self, source: Optional[etree._Element]) -> None:
        t = self.type
        if source is None:
            raise _xml_error(f"interface type='{t}' requires a 'source' element "
                             f"(e.g. <source address='{'230.0.0.1' if t == 'mcast' else '192.168.0.1'}' "
                             f"port='5558'/>)")
        addr = source.get("address")
        if addr is None and t != "server":
            raise _xml_error(f"Missing required attribute 'address' in element 'source' of interface type='{t}'")
        port = source.get("port")
        if port is None:
            raise _xml_error(f"Missing required attribute 'port' in element 'source' of interface type='{t}'")
        self.source_port = _int(port, f"port of interface type='{t}'", 1, 65535)
        if addr is not None:
            try:
                ipaddress.ip_address(addr)
            except ValueError:
                if t == "mcast":
                    raise _xml_error(f"invalid multicast address '{addr}' for interface type='mcast' "
                                     f"(use an address in 224.0.0.0/4, e.g. 230.0.0.1)") from None
            # libvirt's parser takes any IP address for mcast (net-mcast.xml uses 192.0.0.1); the QEMU
            # command line (drivers/qemu/optcheck.inet_host) is where a non-multicast address is refused
        self.source_address = addr
        if t == "udp":
            local = source.find("local")
            if local is not None:
                self.local_address = local.get("address")
                self.local_port = _int(local.get("port"), "local port of interface type='udp'", 1, 65535)

    @property
    def mac(self) -> str:
        return self._mac  # type: ignore[return-value]

    @mac.setter
    def mac(self, value: str) -> None:
        mac = parse_mac(value)
        el = self.element.find("mac")
        if el is None:
            el = etree.Element("mac")
            self.element.insert(0, el)
        el.set("address", mac)
        self._mac = mac
        self._owner._changed()

    @property
    def target_dev(self) -> Optional[str]:
        return self._target_dev

    @target_dev.setter
    def target_dev(self, dev: Optional[str]) -> None:
        _ifname(dev, "interface target dev", optional=True)
        el = self.element.find("target")
        if dev is None:
            if el is not None:
                _remove(el)
        else:
            if el is None:
                el = etree.Element("target")
                before = [c for c in self.element if c.tag in _IFACE_BEFORE_TARGET]
                if before:
                    before[-1].addnext(el)
                else:
                    self.element.insert(0, el)
                etree.indent(self._owner.root, space="  ")
            el.set("dev", dev)
        self._target_dev = dev
        self._owner._changed()


class Graphics(_Device):
    """``<graphics type port autoport listen passwd socket>`` (+ ``<listen type='address'>``)."""

    __slots__ = ("type", "_port", "autoport", "listen", "passwd", "socket")
    _repr_fields = ("type", "port", "autoport", "listen", "socket")

    def __init__(self, element: etree._Element, owner: DomainDef) -> None:
        super().__init__(element, owner)
        get = element.get
        t = get("type")
        if t not in GRAPHICS_TYPES:
            raise DriverError(C.VIR_ERR_XML_ERROR, f"Invalid value for attribute 'type' in element 'graphics': "
                              f"'{t}' (expected one of {', '.join(sorted(GRAPHICS_TYPES))})", C.VIR_FROM_XML)
        self.type = t
        port = get("port")
        self._port: Optional[int] = None
        if port is not None:
            try:
                self._port = int(port.strip(), 10)
            except ValueError:
                raise _xml_error(f"cannot parse {t} port '{port}': expected -1 (automatic) or 0-65535") from None
            if not -1 <= self._port <= 65535:
                raise _xml_error(f"{t} port {self._port} out of range: expected -1 (automatic) or 0-65535")
        autoport = _yes_no(get("autoport"), "graphics autoport")
        if autoport is None:
            autoport = t in ("vnc", "spice") and (self._port is None or self._port == -1) and get("socket") is None
        self.autoport = bool(autoport) or self._port == -1
        self.passwd = get("passwd")
        self.socket = get("socket")
        self.listen = get("listen")
        for child in element:
            if child.tag == "listen":
                lt = child.get("type") or "address"
                if lt == "address" and self.listen is None:
                    self.listen = child.get("address")
                elif lt == "socket" and self.socket is None:
                    self.socket = child.get("socket")

    @property
    def port(self) -> Optional[int]:
        return self._port

    @port.setter
    def port(self, value: Optional[int]) -> None:
        """Set the (allocated) port; ``None`` removes the attribute."""
        if value is None:
            self.element.attrib.pop("port", None)
        else:
            if not -1 <= int(value) <= 65535:
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"graphics port {value} out of range (-1 or 0-65535)")
            self.element.set("port", str(int(value)))
            if self.autoport and int(value) != -1:
                self.element.set("autoport", "yes")  # so that the inactive form knows the port is allocated
        self._port = None if value is None else int(value)
        self._owner._changed()


class CharDev(_Device):
    """``<console>``/``<serial>``: ``type`` ('pty' default), ``tty``/``<source path>``, ``<target port>``."""

    __slots__ = ("kind", "type", "_path", "target_port", "target_type")
    _repr_fields = ("kind", "type", "path", "target_port")

    def __init__(self, element: etree._Element, owner: DomainDef) -> None:
        super().__init__(element, owner)
        self.kind = element.tag
        t = element.get("type") or "pty"
        if t not in CHAR_TYPES:
            raise _xml_error(f"Invalid value for attribute 'type' in element '{self.kind}': '{t}' "
                             f"(expected one of {', '.join(sorted(CHAR_TYPES))})")
        self.type = t
        self._path = element.get("tty")
        self.target_port: Optional[int] = None
        self.target_type: Optional[str] = None
        for child in element:
            tag = child.tag
            if tag == "source":
                self._path = child.get("path") or self._path
            elif tag == "target":
                self.target_port = _int(child.get("port"), f"{self.kind} target port", 0, 65535)
                self.target_type = child.get("type")

    @property
    def path(self) -> Optional[str]:
        """The host side: the pty path (``tty`` attribute or ``<source path>``), a file, a socket..."""
        return self._path

    @path.setter
    def path(self, value: Optional[str]) -> None:
        el = self.element
        src = el.find("source")
        if value is None:
            el.attrib.pop("tty", None)
            if src is not None:
                src.attrib.pop("path", None)
                if not len(src.attrib) and not len(src):
                    _remove(src)
        else:
            if el.get("tty") is not None or (src is None and el.get("type") is None):
                el.set("tty", value)  # the seed's <console tty='...'/> form
            else:
                if src is None:
                    src = etree.Element("source")
                    el.insert(0, src)
                    etree.indent(self._owner.root, space="  ")
                src.set("path", value)
                if el.get("type") == "pty":
                    el.set("tty", value)  # libvirt writes both for a running pty
        self._path = value
        self._owner._changed()

    # the seed calls it tty
    tty = path


# ---------------------------------------------------------------------------
# the domain

class DomainDef:
    """A parsed, validated domain definition.  See the module docstring."""

    __slots__ = (
        "root", "hypervisor", "_type", "_id", "_name", "_uuid", "_memory", "_current_memory", "_vcpus",
        "_vcpus_current", "os_type", "_arch", "_machine", "_os_type_el", "loader", "kernel", "initrd", "cmdline",
        "root_dev",
        "boot_devs", "features", "_lifecycle", "emulator", "disks", "interfaces", "graphics", "consoles",
        "serials", "_els", "_cache", "__weakref__",
    )

    def __init__(self, root: etree._Element, *, hypervisor: Optional[str] = None) -> None:
        """Wrap ``root`` (validated and normalized in place).  Prefer :func:`parse_domain`."""
        self.root = root
        self.hypervisor = hypervisor
        self._load()

    # -- loading -------------------------------------------------------------

    def _load(self) -> None:
        root = self.root
        check_root(root, "domain", domain=C.VIR_FROM_XML)
        self._cache: dict = {}
        els: dict[str, etree._Element] = {}
        self._els = els

        t = root.get("type")
        if not t:  # issue 15: as libvirt, no default type (the seed's 'xen' default is gone)
            raise DriverError(C.VIR_ERR_INTERNAL_ERROR, "missing domain type attribute: add e.g. "
                              "<domain type='kvm'> (or qemu, xen, test)", _FROM)
        if t not in DOMAIN_TYPES:
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"invalid domain type {t} (expected one of kvm, qemu, xen, test, ...)", _FROM)
        self._type = t
        rid = root.get("id")
        self._id: Optional[int] = None
        if rid is not None:
            try:
                self._id = int(rid)
            except ValueError:
                raise _xml_error(f"invalid domain id '{rid}': expected an integer") from None
            if self._id < 0:  # libvirt writes no id for inactive domains
                self._id = None
                del root.attrib["id"]

        lifecycle: dict[str, str] = {}
        self._lifecycle = lifecycle
        os_el = devices = None
        for child in root:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # comments, processing instructions
            if tag in ("name", "uuid", "memory", "currentMemory", "vcpu", "features", "os", "devices"):
                if tag in els:
                    raise _xml_error(f"element <{tag}> appears more than once in <domain>; keep only one")
                els[tag] = child
            elif tag in LIFECYCLE_DEFAULTS:
                action = (child.text or "").strip()
                allowed = CRASH_ACTIONS if tag == "on_crash" else LIFECYCLE_ACTIONS
                if action not in allowed:
                    if action in CRASH_ACTIONS:
                        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                          f"Lifecycle event '{tag[3:]}' doesn't support '{action}' action "
                                          f"(coredump-* is only valid in <on_crash>)", _FROM)
                    raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"unknown {tag} action: {action or '(empty)'} "
                                      f"(expected one of {', '.join(allowed)})", _FROM)
                lifecycle[tag] = action
                els[tag] = child
            elif tag == "cpu" or tag == "clock":
                els[tag] = child
        os_el = els.get("os")
        devices = els.get("devices")

        # name
        name_el = els.get("name")
        name = name_el.text if name_el is not None else None
        self._check_name(name)
        self._name: str = name  # type: ignore[assignment]

        # uuid
        uuid_el = els.get("uuid")
        if uuid_el is None:
            raw = new_uuid()
            uuid_el = etree.Element("uuid")
            uuid_el.text = format_uuid(raw)
            name_el.addnext(uuid_el)  # type: ignore[union-attr]
            els["uuid"] = uuid_el
        else:
            raw = parse_uuid(uuid_el.text)
            text = format_uuid(raw)
            if uuid_el.text != text:
                uuid_el.text = text
        self._uuid = raw

        # memory
        mem_el = els.get("memory")
        if mem_el is None and self._numa_memory() is not None:
            mem_el = etree.Element("memory")  # libvirt sums the NUMA cells when <memory> is absent
            mem_el.text, mem_el.attrib["unit"] = str(self._numa_memory()), "KiB"
            (els.get("uuid") if els.get("uuid") is not None else name_el).addnext(mem_el)  # type: ignore[union-attr]
            els["memory"] = mem_el
        if mem_el is None:
            raise _xml_error("memory size must be specified via <memory> (e.g. <memory unit='MiB'>512</memory>)")
        mem = parse_memory(mem_el.text, mem_el.get("unit"))
        if mem == 0:
            raise _xml_error("memory size must be greater than 0: set <memory> to the guest's RAM "
                             "(e.g. <memory unit='MiB'>512</memory>)")
        self._set_mem_el(mem_el, mem)
        self._memory = mem
        cur_el = els.get("currentMemory")
        if cur_el is None:
            cur_el = etree.Element("currentMemory")
            mem_el.addnext(cur_el)
            els["currentMemory"] = cur_el
            cur = mem
        else:
            cur = parse_memory(cur_el.text, cur_el.get("unit"), "currentMemory")
            if cur == 0 or cur > mem:
                cur = mem  # libvirt clamps the balloon to the maximum
        self._set_mem_el(cur_el, cur)
        self._current_memory = cur

        # vcpus
        vcpu_el = els.get("vcpu")
        if vcpu_el is None:
            vcpu_el = etree.Element("vcpu")
            vcpu_el.text = "1"
            cur_el.addnext(vcpu_el)
            els["vcpu"] = vcpu_el
            self._vcpus = self._vcpus_current = 1
        else:
            text = (vcpu_el.text or "").strip()
            if not (text.isascii() and text.isdigit()):
                raise _xml_error(f"maximum vcpus count must be an integer, not '{vcpu_el.text or ''}' "
                                 f"(e.g. <vcpu>2</vcpu>)")
            n = int(text)
            if n < 1:
                raise _xml_error(f"vcpu count must be at least 1, not {n}")
            if n > 16384:
                raise _xml_error(f"vcpu count {n} is too large (at most 16384)")
            self._vcpus = n
            cur_attr = vcpu_el.get("current")
            if cur_attr is None:
                self._vcpus_current = n
            else:
                c = cur_attr.strip()
                if not (c.isascii() and c.isdigit()):
                    raise _xml_error(f"current vcpus count must be an integer, not '{cur_attr}'")
                c = int(c)
                if c < 1:
                    raise _xml_error(f"current vcpus count must be at least 1, not {c}")
                if c > n:
                    raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                      f"maximum vCPU count must not be less than current vCPU count "
                                      f"({n} < {c} in <vcpu current='{c}'>{n}</vcpu>)", _FROM)
                self._vcpus_current = c

        # os
        self._load_os(os_el)

        # lifecycle defaults, in libvirt's order, before <devices> (or at the end)
        anchor = None
        for tag in ("on_poweroff", "on_reboot", "on_crash"):
            el = els.get(tag)
            if el is None:
                el = etree.Element(tag)
                el.text = LIFECYCLE_DEFAULTS[tag]
                if anchor is not None:
                    anchor.addnext(el)
                elif devices is not None:
                    devices.addprevious(el)
                else:
                    root.append(el)
                lifecycle[tag] = el.text
                els[tag] = el
                anchor = el

        self.features = set()
        feats = els.get("features")
        if feats is not None:
            self.features = {c.tag for c in feats if isinstance(c.tag, str)}

        self._load_devices(devices)
        check_domain(root)
        fill_defaults(root)
        # one pass re-indents everything, inserted elements included (leaf text is left alone)
        etree.indent(root, space="  ")

    def _numa_memory(self) -> Optional[int]:
        """The sum of ``<cpu><numa><cell memory>`` in KiB, or None without cells."""
        cells = self.root.findall("cpu/numa/cell")
        if not cells:
            return None
        return sum(parse_memory(c.get("memory"), c.get("unit"), "cell memory") for c in cells)

    @staticmethod
    def _check_name(name: Optional[str]) -> None:
        if name is None or name == "":
            raise DriverError(C.VIR_ERR_NO_NAME, "the domain needs a non-empty <name> (e.g. <name>demo</name>)",
                              _FROM)
        if "/" in name:
            raise _xml_error(f"name {name} cannot contain '/': choose a name without slashes")
        if _CONTROL.search(name):
            raise _xml_error(f"name {name!r} cannot contain control characters (tabs, newlines, ...)")

    @staticmethod
    def _set_mem_el(el: etree._Element, kib: int) -> None:
        text = str(kib)
        if el.text != text:
            el.text = text
        if el.get("unit") != "KiB":
            el.set("unit", "KiB")

    def _load_os(self, os_el: Optional[etree._Element]) -> None:
        self.loader = self.kernel = self.initrd = self.cmdline = None
        self.root_dev = None
        self.boot_devs = []
        type_el = None
        if os_el is not None:
            for child in os_el:
                tag = child.tag
                if tag == "type":
                    type_el = child
                elif tag == "boot":
                    dev = child.get("dev")
                    if dev not in BOOT_DEVS:
                        raise _xml_error(f"unknown boot device '{dev}' in <os><boot dev=...>: "
                                         f"expected one of fd, hd, cdrom, network")
                    self.boot_devs.append(dev)
                elif tag == "loader":
                    self.loader = child.text
                elif tag == "kernel":
                    self.kernel = child.text
                elif tag == "initrd":
                    self.initrd = child.text
                elif tag == "cmdline":
                    self.cmdline = child.text
                elif tag == "root":
                    self.root_dev = child.text
        if type_el is None or not (type_el.text or "").strip():
            raise DriverError(C.VIR_ERR_XML_ERROR,
                              "an os <type> must be specified, e.g. <os><type>hvm</type></os> "
                              "(hvm for full virtualization, linux/xen for Xen paravirtualization)", _FROM)
        ostype = type_el.text.strip()
        if ostype not in OS_TYPES:
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"unknown OS type '{ostype}' in <os><type> "
                              f"(expected hvm, xen, linux or exe)",
                              _FROM)
        self.os_type = ostype
        self._os_type_el = type_el
        self._arch = type_el.get("arch")
        self._machine = type_el.get("machine")

    def _load_devices(self, devices: Optional[etree._Element]) -> None:
        self.emulator = None
        self.disks: list[Disk] = []
        self.interfaces: list[Interface] = []
        self.graphics: list[Graphics] = []
        self.consoles: list[CharDev] = []
        self.serials: list[CharDev] = []
        if devices is None:
            return
        prefix = mac_prefix_for(self.hypervisor or self._type)
        targets: dict[str, Optional[str]] = {}
        for el in devices:
            tag = el.tag
            if tag == "disk":
                disk = Disk(el, self)
                if disk.target in targets:
                    raise _xml_error(f"target '{disk.target}' duplicated for disk sources "
                                     f"'{targets[disk.target]}' and '{disk.source}': give each disk its own "
                                     f"<target dev>")
                targets[disk.target] = disk.source  # type: ignore[index]
                self.disks.append(disk)
            elif tag == "interface":
                self.interfaces.append(Interface(el, self, prefix))
            elif tag == "graphics":
                self.graphics.append(Graphics(el, self))
            elif tag == "console":
                self.consoles.append(CharDev(el, self))
            elif tag == "serial":
                self.serials.append(CharDev(el, self))
            elif tag == "emulator":
                self.emulator = el.text

    def refresh(self) -> None:
        """Re-read (and re-validate) the tree after it was edited directly; drops the cached text."""
        self._load()

    def _changed(self) -> None:
        self._cache = {}

    # -- scalar accessors ---------------------------------------------------

    @property
    def type(self) -> str:
        return self._type

    @property
    def id(self) -> Optional[int]:
        return self._id

    @id.setter
    def id(self, value: Optional[int]) -> None:
        if value is None or value < 0:
            self.root.attrib.pop("id", None)
            self._id = None
        else:
            self.root.set("id", str(int(value)))
            self._id = int(value)
        self._cache = {}

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._check_name(value)
        self._els["name"].text = value
        self._name = value
        self._cache = {}

    @property
    def uuid(self) -> bytes:
        return self._uuid

    @uuid.setter
    def uuid(self, value: Union[bytes, str]) -> None:
        raw = value if isinstance(value, bytes) and len(value) == 16 else parse_uuid(str(value))
        self._els["uuid"].text = format_uuid(raw)
        self._uuid = raw
        self._cache = {}

    @property
    def uuid_str(self) -> str:
        return self._els["uuid"].text  # normalized dashed lowercase at parse time

    @property
    def memory_kib(self) -> int:
        return self._memory

    @memory_kib.setter
    def memory_kib(self, kib: int) -> None:
        """Set the maximum; the current balloon is clamped to it (like virDomainSetMaxMemory)."""
        kib = int(kib)
        if not 0 < kib <= MAX_MEMORY_KIB:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"memory size must be between 1 and {MAX_MEMORY_KIB} KiB")
        self._set_mem_el(self._els["memory"], kib)
        self._memory = kib
        if self._current_memory > kib:
            self._set_mem_el(self._els["currentMemory"], kib)
            self._current_memory = kib
        self._cache = {}

    @property
    def current_memory_kib(self) -> int:
        return self._current_memory

    @current_memory_kib.setter
    def current_memory_kib(self, kib: int) -> None:
        kib = int(kib)
        if not 0 < kib <= self._memory:
            raise DriverError(C.VIR_ERR_INVALID_ARG,
                              f"cannot set memory higher than max memory ({kib} > {self._memory} KiB)"
                              if kib > 0 else "memory size must be greater than 0")
        self._set_mem_el(self._els["currentMemory"], kib)
        self._current_memory = kib
        self._cache = {}

    @property
    def vcpus(self) -> int:
        return self._vcpus

    @vcpus.setter
    def vcpus(self, n: int) -> None:
        """Set the maximum vCPU count; the current count is clamped to it."""
        n = int(n)
        if n < 1:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"vcpu count must be at least 1, not {n}")
        current = self._vcpus_current  # read first: loads a lazy copy before anything is written
        self._vcpus = n
        self._vcpus_current = min(current, n)
        self._write_vcpus()

    @property
    def vcpus_current(self) -> int:
        return self._vcpus_current

    @vcpus_current.setter
    def vcpus_current(self, n: int) -> None:
        n = int(n)
        if not 1 <= n <= self._vcpus:
            raise DriverError(C.VIR_ERR_INVALID_ARG,
                              f"requested cpu amount exceeds maximum ({n} > {self._vcpus})" if n > 1
                              else f"vcpu count must be at least 1, not {n}")
        self._vcpus_current = n
        self._write_vcpus()

    def _write_vcpus(self) -> None:
        el = self._els["vcpu"]
        el.text = str(self._vcpus)
        if self._vcpus_current == self._vcpus:
            el.attrib.pop("current", None)
        else:
            el.set("current", str(self._vcpus_current))
        self._cache = {}

    @property
    def arch(self) -> Optional[str]:
        """``<os><type arch=...>``; settable (drivers fill in the host's default)."""
        return self._arch

    @arch.setter
    def arch(self, value: Optional[str]) -> None:
        self._set_type_attr("arch", value)
        self._arch = value

    @property
    def machine(self) -> Optional[str]:
        """``<os><type machine=...>``; settable."""
        return self._machine

    @machine.setter
    def machine(self, value: Optional[str]) -> None:
        self._set_type_attr("machine", value)
        self._machine = value

    def _set_type_attr(self, attr: str, value: Optional[str]) -> None:
        if value is None:
            self._os_type_el.attrib.pop(attr, None)
        else:
            self._os_type_el.set(attr, value)
        self._cache = {}

    def _lifecycle_set(self, tag: str, action: str) -> None:
        allowed = CRASH_ACTIONS if tag == "on_crash" else LIFECYCLE_ACTIONS
        if action not in allowed:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"unknown {tag} action: {action} "
                                                     f"(expected one of {', '.join(allowed)})")
        self._els[tag].text = action
        self._lifecycle[tag] = action
        self._cache = {}

    on_poweroff = property(lambda self: self._lifecycle["on_poweroff"],
                           lambda self, v: self._lifecycle_set("on_poweroff", v))
    on_reboot = property(lambda self: self._lifecycle["on_reboot"],
                         lambda self, v: self._lifecycle_set("on_reboot", v))
    on_crash = property(lambda self: self._lifecycle["on_crash"],
                        lambda self, v: self._lifecycle_set("on_crash", v))

    # -- formatting ---------------------------------------------------------

    def _runtime_bits(self) -> bool:
        if self._id is not None:
            return True
        for g in self.graphics:
            if g.autoport and g.port not in (None, -1):
                return True
        for c in self.consoles:
            if c.type == "pty" and c.path is not None:
                return True
        for c in self.serials:
            if c.type == "pty" and c.path is not None:
                return True
        return False

    def to_xml(self, *, inactive: bool = False, secure: bool = True) -> str:
        """The document as text.

        ``inactive`` drops what only exists while running (the id attribute, pty
        paths of consoles/serials, ports allocated for autoport graphics).
        ``secure=True`` (default) drops graphics passwords; ``secure=False`` keeps them.
        """
        key = (inactive, secure)
        text = self._cache.get(key)
        if text is not None:
            return text
        strip_runtime = inactive and self._runtime_bits()
        strip_passwd = secure and any(g.passwd is not None for g in self.graphics)
        root = self.root
        if strip_runtime or strip_passwd:
            root = deepcopy(root)
            if strip_runtime:
                _strip_runtime(root)
            if strip_passwd:
                for g in root.iterfind("devices/graphics[@passwd]"):
                    del g.attrib["passwd"]
        text = to_text(root) + "\n"
        self._cache[key] = text
        return text

    def xml_for_flags(self, flags: int = 0) -> str:
        """``to_xml`` driven by libvirt's ``VIR_DOMAIN_XML_*`` flags (SECURE keeps passwords)."""
        return self.to_xml(inactive=bool(flags & C.VIR_DOMAIN_XML_INACTIVE),
                           secure=not (flags & C.VIR_DOMAIN_XML_SECURE))

    def copy(self) -> DomainDef:
        """An independent deep copy (tree and accessors); its accessors are built on first use."""
        new = DomainDef.__new__(DomainDef)
        new.root = self.root.__deepcopy__(None)  # already validated and normalized: loading it later cannot fail
        new.hypervisor = self.hypervisor
        return new

    def __getattr__(self, name: str) -> Any:
        """Only reached for an unset slot: a lazy copy builds its accessors now (once)."""
        if name.startswith("__") or name in ("root", "hypervisor"):
            raise AttributeError(name)
        try:
            object.__getattribute__(self, "_els")
        except AttributeError:
            self._load()  # sets _els first, so a slot _load leaves unset cannot recurse here
            return object.__getattribute__(self, name)
        raise AttributeError(f"'DomainDef' object has no attribute '{name}'")

    def __repr__(self) -> str:
        return f"<DomainDef {self._type} {self._name!r} {self.uuid_str}>"


def _strip_runtime(root: etree._Element) -> None:
    root.attrib.pop("id", None)
    devices = root.find("devices")
    if devices is None:
        return
    for el in devices:
        tag = el.tag
        if tag in _CHAR_DEVICE_TAGS:
            if (el.get("type") or "pty") != "pty":
                continue
            el.attrib.pop("tty", None)
            src = el.find("source")
            if src is not None:
                src.attrib.pop("path", None)
                if not len(src.attrib) and not len(src):
                    _remove(src)
        elif tag == "graphics":
            port = el.get("port")
            if port is not None and port.strip() != "-1" and el.get("autoport") == "yes":
                el.set("port", "-1")  # an allocated port is runtime state


def parse_domain(xml: Union[str, bytes], *, hypervisor: Optional[str] = None) -> DomainDef:
    """Parse, validate and normalize a ``<domain>`` document.  Raises DriverError.

    ``hypervisor`` is the driver's name ('qemu', 'kvm', 'xen', 'test'); it picks
    the prefix of generated MAC addresses (the domain type is used when None).
    """
    root = parse_xml(xml, "domain_definition")
    return DomainDef(root, hypervisor=hypervisor)


def domain_from_element(element: etree._Element, *, hypervisor: Optional[str] = None) -> DomainDef:
    """Build a DomainDef from an element of another document (copied, e.g. a node file's ``<domain>``)."""
    return DomainDef(deepcopy(element), hypervisor=hypervisor)


__all__ = [
    "DomainDef", "Disk", "Interface", "Graphics", "CharDev", "parse_domain", "domain_from_element",
    "parse_memory", "parse_uuid", "format_uuid", "parse_mac", "generate_mac", "mac_prefix_for",
    "MAC_PREFIX_QEMU", "MAC_PREFIX_XEN", "LIFECYCLE_ACTIONS", "CRASH_ACTIONS", "OS_TYPES", "DOMAIN_TYPES",
    "NET_TYPES",
]
