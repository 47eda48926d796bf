"""Device changes as the hardware pages make them (runs on the job pool; no Qt).

A running persistent domain gets the change live and in its definition; when the driver refuses the
live part (the hypervisor cannot hotplug it), the definition alone is changed and the result says so.
Results: ``NOW`` (running, changed live and saved), ``NEXT_BOOT`` (saved, takes effect at the next
start), ``SAVED`` (the domain is off: saved), ``LIVE_ONLY`` (a transient domain: until it stops).
"""

from __future__ import annotations

from typing import Any

from ...backend.xml.device_build import with_device
from ...backend.xml.devices_edit import ATTACHABLE, UPDATABLE
from ...backend.xml.safe import parse_xml
from ...models.api import error_code, libvirt

NOW, NEXT_BOOT, SAVED, LIVE_ONLY = "now", "next boot", "saved", "live only"
MESSAGES = {
    NOW: "Applied now (and saved in the definition).",
    NEXT_BOOT: "Saved in the definition: applies at next boot (this change cannot be made while the domain runs).",
    SAVED: "Saved in the definition: applies at next boot.",
    LIVE_ONLY: "Applied now; this domain is transient, so the change ends when it stops.",
}

_LIVE = getattr(libvirt, "VIR_DOMAIN_AFFECT_LIVE", 1)
_CONFIG = getattr(libvirt, "VIR_DOMAIN_AFFECT_CONFIG", 2)
_FALLBACK_NAMES = ("VIR_ERR_NO_SUPPORT", "VIR_ERR_OPERATION_INVALID", "VIR_ERR_ARGUMENT_UNSUPPORTED",
                   "VIR_ERR_OPERATION_UNSUPPORTED", "VIR_ERR_CONFIG_UNSUPPORTED", "VIR_ERR_OPERATION_FAILED")
FALLBACK = frozenset(getattr(libvirt, n) for n in _FALLBACK_NAMES if hasattr(libvirt, n))


def refusal(message: str) -> BaseException:
    """A ``libvirtError`` (``VIR_ERR_OPERATION_INVALID``) for a change guiapp itself refuses, with this
    message (not the thread's last driver error, which a bare ``libvirtError(msg)`` would report)."""
    err = (libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_FROM_DOMAIN, message, libvirt.VIR_ERR_ERROR,
           None, None, None, 0, 0)
    return libvirt.libvirtError(message, err)


def _call(dom: Any, op: str, xml: str, flags: int) -> None:
    {"attach": dom.attachDeviceFlags, "detach": dom.detachDeviceFlags,
     "update": dom.updateDeviceFlags}[op](xml, flags)


def change_device(dom: Any, op: str, xml: str, old_xml: str = "") -> str:
    """Attach, detach or update (``op``) device ``xml`` on ``dom``, live where possible; returns how it applied.

    An update of a device libvirt cannot update in place (video, sound) replaces ``old_xml`` by ``xml``
    in the definition (detach + attach).
    """
    active, persistent = bool(dom.isActive()), bool(dom.isPersistent())
    if op == "attach" and parse_xml(xml).tag not in ATTACHABLE:  # a display: define the definition with it
        if not persistent:
            raise refusal("this device can only be added to a persistent definition")
        secure = getattr(libvirt, "VIR_DOMAIN_XML_SECURE", 1) | getattr(libvirt, "VIR_DOMAIN_XML_INACTIVE", 2)
        dom.connect().defineXML(with_device(dom.XMLDesc(secure), xml))
        return NEXT_BOOT if active else SAVED
    if op == "update" and parse_xml(xml).tag not in UPDATABLE:
        if not persistent:
            raise refusal("this device can only be replaced in a persistent definition")
        dom.detachDeviceFlags(old_xml, _CONFIG)
        try:
            dom.attachDeviceFlags(xml, _CONFIG)
        except libvirt.libvirtError:
            dom.attachDeviceFlags(old_xml, _CONFIG)  # put the old one back: nothing is lost
            raise
        return NEXT_BOOT if active else SAVED
    if not active:
        _call(dom, op, xml, _CONFIG)
        return SAVED
    if not persistent:
        _call(dom, op, xml, _LIVE)
        return LIVE_ONLY
    try:
        _call(dom, op, xml, _LIVE | _CONFIG)
        return NOW
    except libvirt.libvirtError as exc:
        if error_code(exc) not in FALLBACK:
            raise
    _call(dom, op, xml, _CONFIG)
    return NEXT_BOOT


def set_identity(dom: Any, *, name: str, title: str, description: str) -> list[str]:
    """Rename (shut-off domains) and set title/description; returns what changed, for the note."""
    done = []
    if name and name != dom.name():
        dom.rename(name, 0)
        done.append("name")
    flags = _CONFIG | (_LIVE if dom.isActive() else 0) if dom.isPersistent() else _LIVE
    for kind, value, what in ((libvirt.VIR_DOMAIN_METADATA_TITLE, title, "title"),
                              (libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, description, "description")):
        try:
            old = dom.metadata(kind, None, 0)
        except libvirt.libvirtError:
            old = ""
        if old != value:
            dom.setMetadata(kind, value or None, None, None, flags)
            done.append(what)
    return done


def read_identity(dom: Any) -> tuple[str, str]:
    """(title, description) of the persistent definition ('' when unset)."""
    out = []
    for kind in (libvirt.VIR_DOMAIN_METADATA_TITLE, libvirt.VIR_DOMAIN_METADATA_DESCRIPTION):
        try:
            out.append(dom.metadata(kind, None, 0))
        except libvirt.libvirtError:
            out.append("")
    return out[0], out[1]
