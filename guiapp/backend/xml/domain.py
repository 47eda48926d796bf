"""The domain XML model: the lxml tree is the only source of truth, typed properties sit on top.

:func:`parse_domain` parses (safely), validates and normalizes a ``<domain>``
document the way libvirt does and returns a :class:`DomainDef`.  Every element
and attribute the model does not know is kept, so a document round-trips.

Every field of :class:`DomainDef` and of its devices (:mod:`.domain_devices`) is a
declarative property (:mod:`.props`) bound to a path: reading looks at the tree,
writing changes the tree (creating elements in libvirt's order, see
:attr:`DomainDef.ORDER`); nothing is copied at load time.  Normalization done
once at parse time (:mod:`.domain_normalize`, as libvirt does):

* ``<domain type>`` is required (no default);
* a missing ``<uuid>`` is generated; a UUID without dashes is rewritten dashed;
* ``<memory>``/``<currentMemory>`` are converted to KiB (``unit='KiB'``);
  a missing ``<currentMemory>`` is added, one larger than ``<memory>`` clamped;
* a missing ``<vcpu>`` and missing lifecycle actions are added with their defaults;
* a missing interface ``<mac>`` is generated (52:54:00 for QEMU/KVM/test,
  00:16:3e for Xen); MACs are written lowercase;
* the document is re-indented with two spaces (leaf text is never touched).

Values read and the formatted text (per (inactive, secure) variant) are kept
per instance and dropped on any write through the properties (node files hold
thousands of domains whose few hot fields are read over and over).  After
editing :attr:`DomainDef.root` directly, call :meth:`DomainDef.refresh`
(re-validates, drops what was kept).  Device fields are read live.

Note on ``to_xml(secure=...)``: as specified for this project, ``secure=True``
(the default) *drops* the VNC password, i.e. it is the opposite of libvirt's
``VIR_DOMAIN_XML_SECURE`` flag.  Drivers should call :meth:`DomainDef.xml_for_flags`
with libvirt's flags to avoid getting that backwards.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any, Optional, Union

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from ..uuids import format_uuid
from .domain_devices import CharDev, Device, Disk, Graphics, Interface, any_device
from .domain_normalize import complete_domain, normalize_domain, set_mem_el
from .domain_values import (
    BOOT_DEVS,
    CHAR_TYPES,
    CRASH_ACTIONS,
    DISK_DEVICES,
    DISK_TYPES,
    DOMAIN_TYPES,
    GRAPHICS_TYPES,
    LIFECYCLE_ACTIONS,
    LIFECYCLE_DEFAULTS,
    MAC_PREFIX_QEMU,
    MAC_PREFIX_XEN,
    MAX_MEMORY_KIB,
    NET_TYPES,
    OS_TYPES,
    SOCKET_NET_TYPES,
    check_domain_name,
    check_lifecycle,
    generate_mac,
    mac_prefix_for,
    parse_mac,
    parse_memory,
    parse_uuid,
)
from .props import (
    AttrListProp,
    ChildTagsProp,
    EnumProp,
    IntProp,
    ScaledProp,
    StrProp,
    XMLChildList,
    XMLNode,
    XMLProperty,
    remove_element,
)
from .safe import parse_xml
from .serialize import to_text

_FROM = C.VIR_FROM_DOMAIN
_CHAR_DEVICE_TAGS = ("console", "serial", "parallel", "channel")

#: libvirt's order of ``<domain>`` children (virDomainDefFormatInternal), for elements a write creates
DOMAIN_ORDER = (
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory", "currentMemory",
    "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads", "iothreadids", "cputune",
    "numatune", "resource", "sysinfo", "bootloader", "bootloader_args", "os", "idmap", "features", "cpu",
    "clock", "on_poweroff", "on_reboot", "on_crash", "on_lockfailure", "pm", "perf", "devices", "seclabel",
    "keywrap", "launchSecurity",
)
#: ``<os>`` children in libvirt's order
OS_ORDER = (
    "type", "firmware", "init", "initarg", "initenv", "initdir", "inituser", "initgroup", "loader", "nvram",
    "kernel", "initrd", "cmdline", "dtb", "acpi", "root", "boot", "bootmenu", "smbios", "bios",
)
#: ``<devices>`` children in libvirt's order
DEVICES_ORDER = (
    "emulator", "disk", "controller", "lease", "filesystem", "interface", "smartcard", "serial", "parallel",
    "console", "channel", "input", "tpm", "graphics", "sound", "audio", "video", "hostdev", "redirdev",
    "redirfilter", "hub", "watchdog", "memballoon", "rng", "panic", "shmem", "memory", "iommu", "vsock",
    "crypto",
)


def _memory_kib(value: Optional[str], unit: Optional[str]) -> int:
    return parse_memory(value, unit)


# ---------------------------------------------------------------------------
# the domain

class DomainFields(XMLNode):
    """The declarative fields of a ``<domain>`` bound to its tree, without checks or normalization.

    :class:`DomainDef` adds libvirt's parse-time checks and rules; views that only need to look at
    a driver's XML (which devices it has) read it through ``DomainFields(parse_xml(text))``.
    """

    __slots__ = ()

    ORDER = {"domain": DOMAIN_ORDER, "os": OS_ORDER, "devices": DEVICES_ORDER}

    # -- declarative fields (read and written on access) ---------------------
    arch = StrProp("os/type/@arch", "the guest architecture; drivers fill in the host's default")
    machine = StrProp("os/type/@machine", "the machine type")
    loader = StrProp("os/loader")
    firmware = StrProp("os/@firmware", "bios | efi: the driver picks the firmware file (autoselection)")
    kernel = StrProp("os/kernel")
    initrd = StrProp("os/initrd")
    cmdline = StrProp("os/cmdline")
    root_dev = StrProp("os/root")
    boot_devs = AttrListProp("os/boot/@dev", "boot devices in order (fd, hd, cdrom, network)")
    features = ChildTagsProp("features", "the tags under <features> (acpi, apic, pae, ...)")
    emulator = StrProp("devices/emulator")
    disks = XMLChildList("devices/disk", Disk)
    interfaces = XMLChildList("devices/interface", Interface)
    graphics = XMLChildList("devices/graphics", Graphics)
    consoles = XMLChildList("devices/console", CharDev)
    serials = XMLChildList("devices/serial", CharDev)
    devices = XMLChildList("devices/*", any_device)
    _name = StrProp("name")
    _uuid = StrProp("uuid")
    _id = IntProp("@id")
    _memory = ScaledProp("memory", _memory_kib)
    _current_memory = ScaledProp("currentMemory", _memory_kib)
    _vcpus = IntProp("vcpu", 1, 16384)
    _vcpus_current = IntProp("vcpu/@current", 1, 16384)
    _os_type = EnumProp("os/type", OS_TYPES)
    _type = EnumProp("@type", DOMAIN_TYPES)


def top_values(root: etree._Element) -> dict[Any, Any]:
    """The hot top-level fields of a checked ``<domain>`` tree, read in one pass over its children and
    keyed like :class:`DomainDef`'s store (what the properties would read: the first element of each tag;
    test_domain_props checks they agree)."""
    cls = DomainFields
    rid = root.get("id")
    store: dict[Any, Any] = {cls._type: root.get("type"), cls._id: None if rid is None else int(rid.strip(), 10)}
    seen = set()
    for child in root:
        tag = child.tag
        if tag in seen:
            continue
        if tag == "name":
            store[cls._name] = child.text
        elif tag == "uuid":
            store[cls._uuid] = child.text
        elif tag == "memory":
            store[cls._memory] = parse_memory(child.text, child.get("unit"))
        elif tag == "currentMemory":
            store[cls._current_memory] = parse_memory(child.text, child.get("unit"))
        elif tag == "vcpu":
            store[cls._vcpus] = int(child.text.strip(), 10)
            cur = child.get("current")
            store[cls._vcpus_current] = None if cur is None else int(cur.strip(), 10)
        elif tag == "os":
            type_el = next(child.iterchildren("type"), None)
            store[cls._os_type] = None if type_el is None else type_el.text
        else:
            continue
        seen.add(tag)
    return store


class DomainDef(DomainFields):
    """A parsed, validated domain definition.  See the module docstring."""

    __slots__ = ("hypervisor", "_cache", "__weakref__")

    def __init__(self, root: etree._Element, *, hypervisor: Optional[str] = None) -> None:
        """Wrap ``root`` (validated and normalized in place).  Prefer :func:`parse_domain`."""
        super().__init__(root)
        self.hypervisor = hypervisor
        self._cache: dict[Any, Any] = {}
        normalize_domain(root, hypervisor)
        self._prime()

    @property
    def root(self) -> etree._Element:
        """The ``<domain>`` element (the document)."""
        return self.element

    def refresh(self) -> None:
        """Re-validate (and re-normalize) the tree after it was edited directly; drops the cached text."""
        normalize_domain(self.element, self.hypervisor)
        self._cache = {}
        self._prime()

    @classmethod
    def from_checked(cls, root: etree._Element, *, hypervisor: Optional[str] = None) -> DomainDef:
        """Wrap a tree :func:`~.domain_normalize.check_domain_tree` accepted: completes it (libvirt's
        defaults, no check again).  For a document loaded in two steps (a node file checks every domain
        at open and builds each definition on first use)."""
        complete_domain(root)
        new = cls.__new__(cls)
        XMLNode.__init__(new, root)
        new.hypervisor = hypervisor
        new._cache = {}
        new._prime()
        return new

    def _prime(self) -> None:
        """Keep the hot top-level fields, read in one pass over ``<domain>``'s children."""
        self._cache.update(top_values(self.element))

    def _changed(self, top: Optional[str] = None) -> None:
        """Drop the formatted text and what was read under the changed child (everything when unknown)."""
        if top is None:
            self._cache = {}
            return
        self._cache = {k: v for k, v in self._cache.items() if _survives(k, top)}

    def _values(self) -> dict[Any, Any]:
        """Fields read are kept (with the formatted text) until the next write or :meth:`refresh`."""
        return self._cache

    _check_name = staticmethod(check_domain_name)

    # -- scalar accessors with libvirt's rules --------------------------------

    @property
    def type(self) -> str:
        """``<domain type>`` (kvm, qemu, xen, test, ...)."""
        return self._type  # type: ignore[return-value]  # required at parse time

    @type.setter
    def type(self, value: str) -> None:
        self._type = value

    @property
    def os_type(self) -> str:
        """``<os><type>`` (hvm, linux, xen, ...)."""
        return (self._os_type or "").strip()

    @os_type.setter
    def os_type(self, value: str) -> None:
        self._os_type = value

    @property
    def id(self) -> Optional[int]:
        return self._id

    @id.setter
    def id(self, value: Optional[int]) -> None:
        self._id = None if value is None or value < 0 else int(value)

    @property
    def name(self) -> str:
        return self._name  # type: ignore[return-value]  # required at parse time

    @name.setter
    def name(self, value: str) -> None:
        check_domain_name(value)
        self._name = value

    @property
    def uuid(self) -> bytes:
        raw = self._cache.get("uuid-bytes")
        if raw is None:
            raw = self._cache["uuid-bytes"] = bytes.fromhex(self.uuid_str.replace("-", ""))
        return raw

    @uuid.setter
    def uuid(self, value: Union[bytes, str]) -> None:
        raw = value if isinstance(value, bytes) and len(value) == 16 else parse_uuid(str(value))
        self._uuid = format_uuid(raw)

    @property
    def uuid_str(self) -> str:
        return self._uuid  # type: ignore[return-value]  # normalized dashed lowercase at parse time

    @property
    def memory_kib(self) -> int:
        return self._memory  # type: ignore[return-value]  # present at parse time

    @memory_kib.setter
    def memory_kib(self, kib: int) -> None:
        """Set the maximum; the current balloon is clamped to it (like virDomainSetMaxMemory)."""
        kib = int(kib)
        if not 0 < kib <= MAX_MEMORY_KIB:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"memory size must be between 1 and {MAX_MEMORY_KIB} KiB")
        current = self.current_memory_kib
        self._memory = kib
        if current > kib:
            self._current_memory = kib

    @property
    def current_memory_kib(self) -> int:
        return self._current_memory  # type: ignore[return-value]  # added at parse time

    @current_memory_kib.setter
    def current_memory_kib(self, kib: int) -> None:
        kib = int(kib)
        mem = self.memory_kib
        if not 0 < kib <= mem:
            raise DriverError(C.VIR_ERR_INVALID_ARG,
                              f"cannot set memory higher than max memory ({kib} > {mem} KiB)"
                              if kib > 0 else "memory size must be greater than 0")
        self._current_memory = kib

    @property
    def vcpus(self) -> int:
        return self._vcpus  # type: ignore[return-value]  # added at parse time

    @vcpus.setter
    def vcpus(self, n: int) -> None:
        """Set the maximum vCPU count; the current count is clamped to it."""
        n = int(n)
        if n < 1:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"vcpu count must be at least 1, not {n}")
        current = min(self.vcpus_current, n)
        self._write_vcpus(n, current)

    @property
    def vcpus_current(self) -> int:
        current = self._vcpus_current
        return self.vcpus if current is None else current

    @vcpus_current.setter
    def vcpus_current(self, n: int) -> None:
        n = int(n)
        vcpus = self.vcpus
        if not 1 <= n <= vcpus:
            raise DriverError(C.VIR_ERR_INVALID_ARG,
                              f"requested cpu amount exceeds maximum ({n} > {vcpus})" if n > 1
                              else f"vcpu count must be at least 1, not {n}")
        self._write_vcpus(vcpus, n)

    def _write_vcpus(self, vcpus: int, current: int) -> None:
        self._vcpus = vcpus
        self._vcpus_current = None if current == vcpus else current

    _LIFECYCLE = {tag: StrProp(tag) for tag in LIFECYCLE_DEFAULTS}

    def _lifecycle_get(self, tag: str) -> str:
        return (self._LIFECYCLE[tag].__get__(self, DomainDef) or "").strip()

    def _lifecycle_set(self, tag: str, action: str) -> None:
        check_lifecycle(tag, action, unknown_code=C.VIR_ERR_INVALID_ARG)
        self._LIFECYCLE[tag].__set__(self, action)

    on_poweroff = property(lambda self: self._lifecycle_get("on_poweroff"),
                           lambda self, v: self._lifecycle_set("on_poweroff", v))
    on_reboot = property(lambda self: self._lifecycle_get("on_reboot"),
                         lambda self, v: self._lifecycle_set("on_reboot", v))
    on_crash = property(lambda self: self._lifecycle_get("on_crash"),
                        lambda self, v: self._lifecycle_set("on_crash", v))

    # -- formatting ---------------------------------------------------------

    def _runtime_bits(self) -> bool:
        """Whether the document holds running-only state (one pass over ``<devices>``: formatting is hot)."""
        if self.element.get("id") is not None:
            return True
        devices = next(self.element.iterchildren("devices"), None)
        if devices is None:
            return False
        for el in devices.iterchildren("graphics", "console", "serial"):
            if el.tag == "graphics":
                g = Graphics(el, self)
                if g.autoport and g.port not in (None, -1):
                    return True
            else:
                c = CharDev(el, self)
                if c.type == "pty" and c.path is not None:
                    return True
        return False

    def _has_passwd(self) -> bool:
        devices = next(self.element.iterchildren("devices"), None)
        # Graphics.passwd is the @passwd attribute; read directly here (every cold XMLDesc asks)
        return devices is not None and any(el.get("passwd") is not None for el in devices.iterchildren("graphics"))

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
        strip_passwd = secure and self._has_passwd()
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
        """An independent deep copy (already validated and normalized: nothing is checked again).

        The copy starts with the values (and formatted text) this one has read: its tree is equal.
        """
        new = DomainDef.__new__(DomainDef)
        XMLNode.__init__(new, self.element.__deepcopy__(None))
        new.hypervisor = self.hypervisor
        new._cache = {k: v for k, v in self._cache.items() if not isinstance(k, XMLChildList)}
        return new

    def __repr__(self) -> str:
        return f"<DomainDef {self.type} {self.name!r} {self.uuid_str}>"


def _survives(key: Any, top: str) -> bool:
    """Whether a value kept by DomainDef stays valid after a write under ``<domain>``'s child ``top``."""
    if isinstance(key, (XMLProperty, XMLChildList)):
        return key.path.top != top
    if key == "uuid-bytes":
        return top != "uuid"
    return False  # formatted text


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
                    remove_element(src)
                    if not len(el) and el.text is not None and not el.text.strip():
                        el.text = None  # left without children: libvirt writes <console/>, as a re-parse does
        elif tag == "graphics":
            port = el.get("port")
            if el.get("type") == "spice" and el.get("autoport") == "yes":
                el.attrib.pop("port", None)  # libvirt's inactive parse zeroes both, and its format skips 0
                el.attrib.pop("tlsPort", None)
            elif port is not None and port.strip() != "-1" and el.get("autoport") == "yes":
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
    "DomainDef", "DomainFields", "Device", "Disk", "Interface", "Graphics", "CharDev", "parse_domain",
    "domain_from_element", "top_values",
    "parse_memory", "parse_uuid", "format_uuid", "parse_mac", "generate_mac", "mac_prefix_for",
    "MAC_PREFIX_QEMU", "MAC_PREFIX_XEN", "LIFECYCLE_ACTIONS", "LIFECYCLE_DEFAULTS", "CRASH_ACTIONS", "OS_TYPES",
    "DOMAIN_TYPES", "NET_TYPES", "SOCKET_NET_TYPES", "BOOT_DEVS", "DISK_TYPES", "DISK_DEVICES", "GRAPHICS_TYPES",
    "CHAR_TYPES", "MAX_MEMORY_KIB", "DOMAIN_ORDER", "OS_ORDER", "DEVICES_ORDER", "set_mem_el",
]
