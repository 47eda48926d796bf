""""What you can do" for the commonest failures: one table, matched on an error's structured fields.

A rule matches on the error *code*, the error *domain* (any when empty) and a regular expression over the
record's ``str2`` field (the detail the driver filled in from a fixed, untranslated template; libvirt's
daemons fill it the same way) — never on the formatted message with its (translatable) prefix.  The
pattern's named groups (a path, a network, a domain name) fill the hint's text.  An ``action`` names
something the GUI may offer as a button because it is safe (it changes nothing that cannot be undone):
``("start-network", NAME)``, ``("start-domain", NAME)``, ``("destroy-domain", NAME)``,
``("reconnect-rw", "")``.  The CLI prints the text as ``hint: …`` on stderr.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from . import constants as C


@dataclass(frozen=True)
class Rule:
    """One table row: when it applies and what it says."""

    key: str
    codes: tuple[int, ...]
    domains: tuple[int, ...]
    pattern: str
    text: str
    action: Optional[str] = None
    _rx: Any = field(default=None, compare=False, repr=False)

    def regex(self) -> re.Pattern[str]:
        if self._rx is None:
            object.__setattr__(self, "_rx", re.compile(self.pattern, re.S))
        return self._rx


@dataclass(frozen=True)
class Hint:
    """The advice for one error: a table key, a plain-language line, an optional safe action."""

    key: str
    text: str
    action: Optional[tuple[str, str]] = None


_Q, _D, _X, _N = C.VIR_FROM_QEMU, C.VIR_FROM_DOMAIN, C.VIR_FROM_XEN, C.VIR_FROM_NETWORK
_ANY: tuple[int, ...] = ()
_PATH = r"'(?P<path>/[^']*)'"

#: The table, first match wins (more specific rows first).
RULES: tuple[Rule, ...] = (
    Rule("missing-kernel", (C.VIR_ERR_NO_KERNEL,), _ANY, r"kernel " + _PATH,
         "The kernel file {path} does not exist. Fix the path in Details → Boot Options (direct kernel boot), "
         "or clear it to boot from a disk."),
    Rule("missing-iso", (C.VIR_ERR_NO_SOURCE,), _ANY, r"disk (?P<dev>\S+) '(?P<path>/[^']*\.(?i:iso|img\.iso))'",
         "The installation media {path} does not exist. Choose another ISO in the wizard, or eject the "
         "CD-ROM ({dev}) in Details."),
    Rule("missing-disk", (C.VIR_ERR_NO_SOURCE,), _ANY, r"disk (?P<dev>\S+) " + _PATH,
         "The disk image {path} ({dev}) does not exist. Pick an existing file in Details → {dev}, create the "
         "volume in Connection → Storage, or remove the disk."),
    Rule("permission-denied", _ANY, _ANY, r"(?:'(?P<path>/[^']+)'\s*:\s*)?Permission denied(?! \()",
         "{path} cannot be opened: permission denied. Make the file (and every folder above it) "
         "readable and writable for the user QEMU runs as, or move it into a storage pool."),
    Rule("kvm-unavailable", (C.VIR_ERR_CONFIG_UNSUPPORTED,), _ANY, r"needs a usable /dev/kvm",
         "KVM is not usable on this host (no /dev/kvm, or no VT-x/AMD-V). Change the domain type to 'qemu' "
         "(slower emulation) in Details → Overview, or enable virtualization in the firmware and load "
         "the kvm module."),
    Rule("network-inactive", _ANY, _ANY, r"network '(?P<network>[^']+)' is not active",
         "The network '{network}' is not running. Start it in Connection → Virtual Networks, or choose "
         "another network.", "start-network"),
    Rule("network-bridge-down", (C.VIR_ERR_OPERATION_FAILED,), _ANY,
         r"bridge '(?P<bridge>[^']+)' does not exist on the host: start the network",
         "The virtual network behind bridge '{bridge}' is not running. Start it in Connection → Virtual "
         "Networks, or choose another network for this NIC."),
    Rule("bridge-missing", (C.VIR_ERR_CONFIG_UNSUPPORTED, C.VIR_ERR_OPERATION_FAILED), _ANY,
         r"bridge '(?P<bridge>[^']+)' does not exist",
         "The host has no bridge '{bridge}'. Create it (ip link add {bridge} type bridge), or connect the NIC "
         "to a virtual network instead."),
    Rule("bridge-helper", _ANY, _ANY, r"(?:bridge helper|qemu-bridge-helper|access denied by acl file)",
         "qemu-bridge-helper may not use this bridge. Add 'allow BRIDGE' to /etc/qemu/bridge.conf (as root), "
         "or use a virtual network with NAT instead."),
    Rule("port-in-use", _ANY, _ANY, r"(?:Address already in use|port (?P<port>\d+) is in use)",
         "The display port is already taken by another program or guest. Set the port to Auto in "
         "Details → Display, or choose a free port."),
    Rule("out-of-memory", _ANY, _ANY, r"Cannot allocate memory|[Oo]ut of memory",
         "The host does not have enough free memory for this guest. Lower its memory in Details → Memory, or "
         "shut down other guests first."),
    Rule("disk-full", _ANY, _ANY, r"No space left on device",
         "The disk that holds this file is full. Free space on it, or store the image in another storage pool."),
    Rule("xml-invalid", (C.VIR_ERR_XML_DETAIL, C.VIR_ERR_XML_ERROR, C.VIR_ERR_XML_INVALID_SCHEMA, C.VIR_ERR_NO_NAME),
         _ANY, r"",
         "The XML is not valid. Fix it at the place the message shows (Details → XML), or undo the edit."),
    Rule("name-in-use", (C.VIR_ERR_OPERATION_FAILED, C.VIR_ERR_DOM_EXIST), _ANY,
         r"domain '(?P<name>[^']+)' already exists",
         "A domain named '{name}' already exists. Choose another name, or delete the existing one first."),
    Rule("ssh-host-key", _ANY, (C.VIR_FROM_RPC, C.VIR_FROM_REMOTE), r"[Hh]ost key verification failed",
         "ssh does not trust this host's key. Connect once with 'ssh HOST' in a terminal to check and accept "
         "the key (or fix ~/.ssh/known_hosts), then try again."),
    Rule("ssh-auth", _ANY, (C.VIR_FROM_RPC, C.VIR_FROM_REMOTE), r"Permission denied \((?:publickey|password)",
         "ssh could not log in. Put your public key in the remote ~/.ssh/authorized_keys (ssh-copy-id), or set "
         "the key file in the connection's URI (?keyfile=PATH)."),
    Rule("daemon-unreachable", (C.VIR_ERR_SYSTEM_ERROR, C.VIR_ERR_NO_CONNECT), _ANY,
         r"(?:Failed to connect socket to " + _PATH + r"|[Cc]onnection refused)",
         "No libvirt daemon answers there. Start it on that host (systemctl start libvirtd, or virtqemud), "
         "or check the connection's URI."),
    Rule("read-only", (C.VIR_ERR_OPERATION_DENIED,), _ANY, r"read only access prevents (?P<api>\w+)",
         "This connection is read-only. Reconnect read-write (File → Add Connection, without 'read-only') to "
         "make changes.", "reconnect-rw"),
    Rule("no-acpi", (C.VIR_ERR_OPERATION_INVALID,), _ANY,
         r"domain '(?P<name>[^']+)' has no ACPI|guest agent is not responding|not responding to ACPI",
         "The guest does not react to a shutdown request. Force it off with Destroy (like pulling the plug), "
         "or enable ACPI in Details → Overview (next boot) and run acpid in the guest.", "destroy-domain"),
    Rule("not-running", (C.VIR_ERR_OPERATION_INVALID, C.VIR_ERR_INTERNAL_ERROR), _ANY,
         r"domain (?:'(?P<name>[^']+)' )?(?:is )?not running",
         "The domain is not running. Start it first, then try again.", "start-domain"),
    Rule("no-support", (C.VIR_ERR_NO_SUPPORT,), _ANY, r"(?P<api>vir\w+)",
         "This connection's driver cannot do {api}. Use a connection whose hypervisor supports it "
         "(for example qemu:///system), or do it another way."),
    Rule("xen-toolstack", (C.VIR_ERR_NO_XENSTORE, C.VIR_ERR_NO_XEN), _ANY, r"",
         "The Xen toolstack is not available here. Run guiapp in Domain-0 of a Xen host with xenstored "
         "running (apt install xen-utils), or connect to another hypervisor."),
    Rule("qemu-missing", (C.VIR_ERR_CONFIG_UNSUPPORTED, C.VIR_ERR_NO_SUPPORT, C.VIR_ERR_OPERATION_FAILED), _ANY,
         r"emulator " + _PATH + r".* is not an executable file|cannot find (?:a )?qemu-system",
         "QEMU is not installed where the domain expects it. Install it (apt install qemu-system-x86), or fix "
         "the emulator path in Details → Overview."),
)


class _Defaults(dict):
    """Named groups of a match; a group the detail did not carry reads as a plain noun."""

    def __missing__(self, key: str) -> str:
        return {"path": "the file", "name": "the domain", "api": "this operation", "dev": "the disk",
                "network": "the network", "bridge": "the bridge"}.get(key, key)


def _fields(err: Any) -> Optional[tuple[int, int, str]]:
    """(code, domain, str2) of a libvirtError or a nine-field error tuple."""
    rec = getattr(err, "err", err)
    if not isinstance(rec, tuple) or len(rec) < 6:
        return None
    code, domain, detail = rec[0], rec[1], rec[5]
    if not isinstance(code, int) or not isinstance(domain, int):
        return None
    return code, domain, detail if isinstance(detail, str) else ""


def hint_for(err: Any) -> Optional[Hint]:
    """The hint for a libvirtError (or its error tuple), or None when the table has none."""
    fields = _fields(err)
    if fields is None:
        return None
    code, domain, detail = fields
    for rule in RULES:
        if rule.codes and code not in rule.codes:
            continue
        if rule.domains and domain not in rule.domains:
            continue
        m = rule.regex().search(detail)
        if m is None:
            continue
        groups = {k: v for k, v in m.groupdict().items() if v is not None}
        try:
            text = rule.text.format_map(_Defaults(groups))
        except (KeyError, IndexError, ValueError):
            text = rule.text
        text = text[:1].upper() + text[1:]
        action = None
        if rule.action is not None:
            arg = groups.get("network") or groups.get("name") or ""
            action = (rule.action, arg)
        return Hint(rule.key, text, action)
    return None
