"""Cross-element rules libvirt 9.0 applies when it parses or validates a domain, with its error codes.

:func:`check_domain` runs after :class:`~guiapp.backend.xml.domain.DomainDef` loaded the tree; each rule refuses
what libvirt's ``virDomainDefParse``/``virDomainDefValidate`` refuse (libvirt's own test inputs are the oracle,
``tests/backend/conformance``). Messages say what to change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Optional

from lxml import etree

from .. import constants as C
from ..errors import DriverError

_FROM = C.VIR_FROM_DOMAIN
Check = Callable[[etree._Element], None]


def _xml(msg: str) -> DriverError:
    return DriverError(C.VIR_ERR_XML_ERROR, msg, _FROM)


def _unsupported(msg: str) -> DriverError:
    return DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, msg, _FROM)


def _internal(msg: str) -> DriverError:
    return DriverError(C.VIR_ERR_INTERNAL_ERROR, msg, _FROM)


def _int(text: Optional[str]) -> Optional[int]:
    """libvirt's number parsing for address fields (decimal or 0x hex); None when absent or not a number."""
    if text is None:
        return None
    try:
        return int(text.strip(), 0)
    except ValueError:
        return None


# -- character devices ---------------------------------------------------------------------------------------

def _chardevs(devices: etree._Element) -> list[tuple[etree._Element, etree._Element, str]]:
    """(element carrying type=, the device element, device tag) for every character-device-like source."""
    out = []
    for el in devices:
        tag = el.tag
        if tag in ("serial", "console", "parallel", "channel", "redirdev"):
            out.append((el, el, tag))
        elif tag == "smartcard" and el.get("mode") == "passthrough":
            out.append((el, el, tag))
        elif tag == "rng":
            for be in el.findall("backend"):
                if be.get("model") == "egd":
                    out.append((be, el, tag))
    return out


def _check_chardevs(root: etree._Element) -> None:
    devices = root.find("devices")
    if devices is None:
        return
    for holder, dev, tag in _chardevs(devices):
        ctype = holder.get("type") or "pty"
        sources = holder.findall("source")
        if ctype == "udp":
            if len(sources) > 2:
                raise _xml("only two source elements are allowed for character device")
        elif len(sources) > 1:
            raise _xml("only one source element is allowed for character device")
        if ctype == "tcp":
            src = sources[0] if sources else None
            if src is None or not src.get("host"):
                raise _internal("Missing source host attribute for char device: add <source host='...'/>")
            if not src.get("service"):
                raise _internal("Missing source service attribute for char device: add <source service='PORT'/>")
        elif ctype == "udp":
            connect = [s for s in sources if (s.get("mode") or "connect") == "connect"]
            if not connect or not connect[0].get("service"):
                raise _internal("Missing source service attribute for char device (udp needs a connect "
                                "<source service='PORT'/>)")
        elif ctype == "unix":
            path = sources[0].get("path") if sources else None
            target = dev.find("target")
            auto = tag == "channel" and target is not None and target.get("type") in ("virtio", "xen")
            if not path and not auto:
                raise _internal("Missing source path attribute for char device: add <source path='/...'/>")
        for src in sources:
            rec = src.find("reconnect")
            if rec is not None and rec.get("enabled") == "yes":
                if src.get("mode") == "bind":
                    raise _internal("chardev reconnect is possible only for connect mode")
                if rec.get("timeout") is None:
                    raise _xml("Missing required attribute 'timeout' in element 'reconnect'")


# -- addresses and controllers ---------------------------------------------------------------------------------

_PCI_LIMITS = (("domain", 0xFFFF, "0xFFFF"), ("bus", 0xFF, "0xFF"), ("slot", 0x1F, "0x1F"), ("function", 7, "7"))


def _check_pci_addresses(root: etree._Element) -> None:
    for addr in root.iterfind("devices//address[@type='pci']"):
        for attr, hi, shown in _PCI_LIMITS:
            v = _int(addr.get(attr))
            if v is not None and v > hi:
                raise _xml(f"Invalid PCI address {attr}='{addr.get(attr)}', must be <= {shown}")


def _check_controllers(root: etree._Element) -> None:
    seen: set[tuple[str, int]] = set()
    for ctl in root.iterfind("devices/controller"):
        ctype, idx = ctl.get("type") or "", ctl.get("index")
        n = _int(idx)
        if idx is not None and (n is None or n < 0):
            raise _xml(f"Invalid value for attribute 'index' in element 'controller': '{idx}'. "
                       f"Expected non-negative integer value")
        if ctype == "pci" and n is not None:
            if (ctype, n) in seen:
                raise _xml(f"Multiple '{ctype}' controllers with index '{n}'")
            seen.add((ctype, n))
            if ctl.get("model") in ("pci-root", "pcie-root") and ctl.find("address") is not None:
                raise _unsupported("pci-root and pcie-root controllers should not have an address")


_USB_MODEL_NONE = "devices/controller[@type='usb'][@model='none']"


def _check_usb_none(root: etree._Element) -> None:
    if root.find(_USB_MODEL_NONE) is None:
        return
    if len(root.findall("devices/controller[@type='usb']")) > 1:
        raise _xml("Can't add another USB controller: USB is disabled for this domain")
    if root.find("devices/hub[@type='usb']") is not None:
        raise _unsupported("Can't add USB hub: USB is disabled for this domain")
    if root.find("devices/input[@bus='usb']") is not None:
        raise _unsupported("Can't add USB input device. USB bus is disabled")
    if root.find("devices/redirdev[@bus='usb']") is not None:
        raise _unsupported("cannot add redirected USB device: USB is disabled for this domain")


# -- disks, hostdevs, video, tpm, boot -------------------------------------------------------------------------

_DRIVE_BUSES = ("ide", "sata", "scsi", "fdc")


def disks_of(root: etree._Element) -> Iterator[etree._Element]:
    """``root.iterfind("devices/disk")`` without the path search (these rules run for every domain at open)."""
    for devices in root.iterchildren("devices"):
        yield from devices.iterchildren("disk")


def child(el: etree._Element, tag: str) -> Optional[etree._Element]:
    """``el.find(tag)`` for a plain tag name, without the path search."""
    return next(el.iterchildren(tag), None)


def _check_disks(root: etree._Element) -> None:
    drive_addrs: dict[tuple, str] = {}
    for disk in disks_of(root):
        target = child(disk, "target")
        dev = target.get("dev") if target is not None else None
        bus = None if target is None else target.get("bus") or default_disk_bus(disk, dev)  # as libvirt validates
        addr = child(disk, "address")
        if bus in _DRIVE_BUSES and addr is not None and addr.get("type") not in (None, "drive"):
            raise _unsupported(f"Invalid address type '{addr.get('type')}' for the disk '{dev}' with the bus "
                               f"type '{bus}'")
        if disk.get("device") == "lun" and disk.get("type") not in ("block", "network", "volume"):
            raise _unsupported("disk device='lun' is only valid for block type disk source")
        key = _drive_key(bus, dev, addr)
        if key is not None:
            if key in drive_addrs:
                raise _unsupported(f"Found duplicate drive address for disk with target name '{dev}' "
                                   f"(it is used by '{drive_addrs[key]}')")
            drive_addrs[key] = dev or ""


_UNITS_PER_CONTROLLER = {"sata": 6, "scsi": 7}


_DISK_NAME = re.compile(r"(?:sd|hd|vd|xvd|fd|ubd)([a-z]+)\d*")


def _disk_index(dev: Optional[str]) -> Optional[int]:
    """libvirt's virDiskNameToIndex: 'sda' -> 0, 'sdz' -> 25, 'sdaa' -> 26."""
    m = _DISK_NAME.fullmatch(dev or "")
    if not m:
        return None
    n = 0
    for ch in m.group(1):
        n = n * 26 + (ord(ch) - ord("a") + 1)
    return n - 1


_BUS_BY_PREFIX = (("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen"), ("ubd", "uml"))


def default_disk_bus(disk: etree._Element, dev: Optional[str]) -> str:
    """The bus libvirt's post-parse gives a disk target without one (floppy: fdc, else from the name)."""
    if disk.get("device") == "floppy":
        return "fdc"
    return next((b for p, b in _BUS_BY_PREFIX if (dev or "").startswith(p)), "ide")


def _drive_key(bus: Optional[str], dev: Optional[str], addr: Optional[etree._Element]) -> Optional[tuple]:
    """The drive address a disk has or that libvirt assigns it from its target name (sata, scsi, ide)."""
    if bus not in ("ide", "sata", "scsi"):
        return None
    if addr is not None:
        if addr.get("type") != "drive":
            return None
        return (bus, *(_int(addr.get(a)) or 0 for a in ("controller", "bus", "target", "unit")))
    idx = _disk_index(dev)
    if idx is None:
        return None
    if bus == "ide":
        return (bus, idx // 4, (idx % 4) // 2, 0, idx % 2)
    per = _UNITS_PER_CONTROLLER[bus]
    return (bus, idx // per, 0, 0, idx % per)


def _canon(el: Optional[etree._Element]) -> str:
    if el is None:
        return ""
    parts = [el.tag, repr(sorted((k, (v or "").lower()) for k, v in el.attrib.items()))]
    parts.extend(_canon(c) for c in el if isinstance(c.tag, str))
    return "(" + " ".join(parts) + ")"


def _check_hostdevs(root: etree._Element) -> None:
    seen: set[str] = set()
    for hd in root.iterfind("devices/hostdev"):
        key = hd.get("type", "") + _canon(hd.find("source"))
        if key in seen:
            raise _xml("Hostdev already exists in the domain configuration")
        seen.add(key)


def _check_video(root: etree._Element) -> None:
    videos = [v.find("model") for v in root.iterfind("devices/video")]
    models = [m for m in videos if m is not None]
    if sum(1 for m in models if m.get("primary") == "yes") > 1:
        raise _unsupported("Only one primary video device is supported")
    if len(videos) > 1 and any(m.get("type") == "none" for m in models):
        raise _unsupported("a 'none' video type must be the only video device defined for the domain")
    for v in root.iterfind("devices/video"):
        m = v.find("model")
        if m is not None and m.get("type") == "ramfb" and v.find("address") is not None:
            raise _unsupported("address not supported for video type ramfb")


def _check_tpm(root: etree._Element) -> None:
    for tpm in root.iterfind("devices/tpm"):
        if tpm.find("backend") is None:
            raise _xml("missing TPM device backend: add <backend type='emulator'/> or <backend type='passthrough'>")


def _check_boot(root: etree._Element) -> None:
    ordered = menu_el = False  # path searches only when a boot element has an order, or a bootmenu exists
    for b in root.iter("boot", "bootmenu"):
        if b.tag == "bootmenu":
            menu_el = True
        elif b.get("order") is not None:
            ordered = True
    if ordered and root.find("os/boot") is not None and root.find("devices//boot[@order]") is not None:
        raise _unsupported("per-device boot elements cannot be used together with os/boot elements")
    menu = root.find("os/bootmenu") if menu_el else None
    if menu is not None and menu.get("timeout") is not None:
        t = _int(menu.get("timeout"))
        if t is None or not 0 <= t <= 65535:
            raise _unsupported("invalid value for boot menu timeout, must be in range [0,65535]")


# -- firmware ---------------------------------------------------------------------------------------------------

def _check_firmware(root: etree._Element) -> None:
    os_el = root.find("os")
    if os_el is None:
        return
    fw = os_el.get("firmware")
    loader = os_el.find("loader")
    nvram = os_el.find("nvram")
    if fw == "bios":
        if nvram is not None:
            raise DriverError(C.VIR_ERR_XML_DETAIL, "firmware type 'bios' does not support nvram", _FROM)
        if loader is not None and loader.get("stateless") == "no":
            raise DriverError(C.VIR_ERR_XML_DETAIL, "Only EFI firmware permits NVRAM", _FROM)
    if fw == "efi":
        feats = {f.get("name"): f.get("enabled") for f in os_el.iterfind("firmware/feature")}
        if feats.get("enrolled-keys") == "yes" and feats.get("secure-boot") == "no":
            raise DriverError(C.VIR_ERR_XML_DETAIL, "firmware feature 'enrolled-keys' cannot be enabled when "
                              "firmware feature 'secure-boot' is disabled", _FROM)
        if loader is not None and loader.get("secure") == "no":
            raise DriverError(C.VIR_ERR_XML_DETAIL, "loader attribute 'secure' cannot be specified when firmware "
                              "autoselection is enabled", _FROM)
        if loader is not None and (loader.text or "").strip():
            raise DriverError(C.VIR_ERR_XML_DETAIL, "loader attribute 'type' cannot be specified when firmware "
                              "autoselection is enabled (drop the loader path or the firmware attribute)", _FROM)
    if fw is None and loader is not None:
        ltype = loader.get("type")
        if loader.get("stateless") == "no" and ltype != "pflash":
            raise DriverError(C.VIR_ERR_XML_DETAIL, "Only pflash loader type permits NVRAM", _FROM)
        if ltype == "pflash" and not (loader.text or "").strip():
            raise DriverError(C.VIR_ERR_XML_DETAIL, "no loader path specified and firmware auto selection "
                              "disabled", _FROM)
        if loader.get("stateless") == "yes" and nvram is not None:
            if nvram.get("template"):
                raise DriverError(C.VIR_ERR_XML_DETAIL, "NVRAM template is not permitted when loader is stateless",
                                  _FROM)
            raise DriverError(C.VIR_ERR_XML_DETAIL, "NVRAM is not permitted when loader is stateless", _FROM)


# -- sysinfo, security labels, misc values ------------------------------------------------------------------------

_BIOS_DATE = re.compile(r"^\d{2}/\d{2}/(\d{2}|\d{4})$")


def _check_sysinfo(root: etree._Element) -> None:
    for si in root.iterfind("sysinfo[@type='smbios']"):
        date = si.find("bios/entry[@name='date']")
        if date is not None and not _BIOS_DATE.match((date.text or "").strip()):
            raise DriverError(C.VIR_ERR_XML_DETAIL, "Invalid BIOS 'date' format (expected mm/dd/yy or mm/dd/yyyy)",
                              _FROM)
        uuid = si.find("system/entry[@name='uuid']")
        dom_uuid = root.findtext("uuid")
        if uuid is not None and dom_uuid is not None:
            norm = [(u or "").strip().replace("-", "").lower() for u in (uuid.text, dom_uuid)]
            if norm[0] != norm[1]:
                raise DriverError(C.VIR_ERR_XML_DETAIL, "UUID mismatch between <uuid> and <sysinfo>", _FROM)


def _check_seclabels(root: etree._Element) -> None:
    labels = root.findall("seclabel")
    models = [s.get("model") for s in labels]
    for m in models:
        if m is not None and models.count(m) > 1:
            raise DriverError(C.VIR_ERR_XML_DETAIL, f"seclabel for model {m} is already provided", _FROM)
    if len(labels) > 1 and None in models:
        raise _xml("missing security model when using multiple labels")


def _check_values(root: etree._Element) -> None:
    for drv in root.iterfind("devices/interface/driver[@queues]"):
        q = _int(drv.get("queues"))
        if q is None or q < 0:
            raise _xml(f"Invalid value for attribute 'queues' in element 'driver': '{drv.get('queues')}'. "
                       f"Expected non-negative integer value")
    gic = root.find("features/gic")
    if gic is not None and gic.get("version") == "none":
        raise _xml("Invalid value for attribute 'version' in element 'gic': 'none'.")
    for cell in root.iterfind("cpu/numa/cell"):
        acc = cell.get("memAccess")
        if acc is not None and acc not in ("shared", "private"):
            raise _xml(f"Invalid value for attribute 'memAccess' in element 'cell': '{acc}'.")
    cells = {_int(c.get("id")) for c in root.iterfind("cpu/numa/cell")}
    for page in root.iterfind("memoryBacking/hugepages/page[@nodeset]"):
        for part in (page.get("nodeset") or "").split(","):
            lo = _int(part.split("-")[0]) if part and not part.startswith("^") else None
            if lo is not None and lo not in cells:
                raise DriverError(C.VIR_ERR_XML_DETAIL, f"hugepages: node {lo} not found", _FROM)
    if root.find("numatune/memnode") is not None and not cells:
        raise _xml("Element 'memnode' is invalid without any guest NUMA cells")


def _check_loadparm(root: etree._Element) -> None:
    if all(b.get("loadparm") is None for b in root.iter("boot")):
        return  # the common case, found without a path search: no boot element has a loadparm
    ldp = root.find("os/type")
    loadparm = root.find("devices/disk/boot[@loadparm]")
    if loadparm is not None and ldp is not None:
        value = loadparm.get("loadparm") or ""
        if not 1 <= len(value) <= 8:
            raise _internal(f"loadparm value '{value}' must be between 1 and 8 characters")
        if not re.fullmatch(r"[a-zA-Z0-9. ]+", value):
            raise _internal(f"invalid loadparm value '{value}', expecting chars in set of [a-zA-Z0-9.] and blank "
                            f"spaces")


CHECKS: tuple[Check, ...] = (
    _check_firmware, _check_sysinfo, _check_seclabels, _check_values, _check_loadparm, _check_controllers,
    _check_pci_addresses,
    _check_chardevs, _check_disks, _check_hostdevs, _check_video, _check_tpm, _check_boot, _check_usb_none,
)


#: Rule -> the element tags of which one must occur in the domain for the rule to refuse anything (read off
#: each rule: every ``raise`` sits under a find of one of them).  A rule whose tags are all absent is skipped;
#: a rule not listed always runs.  Most domains have few of these elements: at open of a node file of
#: thousands of domains this skips most rules (issue 16).
TRIGGERS: dict[Check, frozenset[str]] = {
    _check_firmware: frozenset({"loader", "nvram", "feature"}),
    _check_sysinfo: frozenset({"sysinfo"}),
    _check_seclabels: frozenset({"seclabel"}),
    _check_values: frozenset({"driver", "gic", "cell", "page", "memnode"}),
    _check_loadparm: frozenset({"boot"}),
    _check_controllers: frozenset({"controller"}),
    _check_pci_addresses: frozenset({"address"}),
    _check_chardevs: frozenset({"serial", "console", "parallel", "channel", "redirdev", "smartcard", "rng"}),
    _check_disks: frozenset({"disk"}),
    _check_hostdevs: frozenset({"hostdev"}),
    _check_video: frozenset({"video"}),
    _check_tpm: frozenset({"tpm"}),
    _check_boot: frozenset({"boot", "bootmenu"}),
    _check_usb_none: frozenset({"controller"}),
}


def check_domain(root: etree._Element) -> None:
    """Apply every rule in :data:`CHECKS` to a loaded ``<domain>`` tree; raises DriverError on the first breach.

    Rules that cannot apply (none of their :data:`TRIGGERS` tags in the tree, collected in one pass) are skipped.
    """
    global _rules
    rules = _rules
    if rules is None:
        from .domain_checks2 import CHECKS2, TRIGGERS2

        rules = _rules = tuple((check, TRIGGERS.get(check) or TRIGGERS2.get(check)) for check in CHECKS + CHECKS2)
    tags = {el.tag for el in root.iter()}
    for check, need in rules:
        if need is None or not need.isdisjoint(tags):
            check(root)


_rules: Optional[tuple[tuple[Check, Optional[frozenset[str]]], ...]] = None  # (rule, its tags), made on first use
