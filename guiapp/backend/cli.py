"""guiapp-virsh: a virsh-style command line over ``guiapp.backend``, laid out like virsh 9.0.

``guiapp-virsh [-c URI] [-r] [-q] COMMAND [ARGS]``.  Commands, options, messages and
exit status follow virsh: output on stdout followed by one blank line per command,
``error: ...`` lines on stderr and status 1 on failure.  :func:`run` takes the
libvirt-compatible module to use, so the same front-end also runs over Debian's
libvirt-python (which is how its layout is checked against the real virsh).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import re
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, NoReturn, Optional, TextIO

from .cli_table import format_table

# virsh's limit on XML files it reads (VSH_MAX_XML_FILE).
MAX_XML_FILE = 10 * 1024 * 1024

# VIR_* values used here (the same in libvirt-python and guiapp.backend).
_LIST_ACTIVE, _LIST_INACTIVE = 1, 2
_XML_SECURE, _XML_INACTIVE, _XML_UPDATE_CPU, _XML_MIGRATABLE = 1, 2, 4, 8
_START_PAUSED = 1
_DEFINE_VALIDATE = 1
_CREATE_VALIDATE = 16
_SAVE_RUNNING, _SAVE_PAUSED = 2, 4
_AFFECT_LIVE, _AFFECT_CONFIG = 1, 2
_MEM_MAXIMUM = 4
_VCPU_MAXIMUM, _VCPU_GUEST, _VCPU_HOTPLUGGABLE = 4, 8, 16
_DESTROY_GRACEFUL = 1
_SHUTDOWN_MODES = {"acpi": 1, "agent": 2, "initctl": 4, "signal": 8, "paravirt": 16}
_ULONG_MAX = 2**64 - 1

# virsh's strings for states and per-state reasons (virshDomainStateToString & co).
STATE_NAMES = {0: "no state", 1: "running", 2: "idle", 3: "paused", 4: "in shutdown",
               5: "shut off", 6: "crashed", 7: "pmsuspended"}
REASON_NAMES: dict[int, tuple[str, ...]] = {
    0: ("unknown",),
    1: ("unknown", "booted", "migrated", "restored", "from snapshot", "unpaused", "migration canceled",
        "save canceled", "event wakeup", "crashed", "post-copy", "post-copy failed"),
    2: ("unknown",),
    3: ("unknown", "user", "migrating", "saving", "dumping", "I/O error", "watchdog", "from snapshot",
        "shutting down", "creating snapshot", "crashed", "starting up", "post-copy", "post-copy failed",
        "api error"),
    4: ("unknown", "user"),
    5: ("unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from snapshot",
        "daemon"),
    6: ("unknown", "panicked"),
    7: ("unknown",),
}

# Which ways a command may name a domain (virsh's VIRSH_BYID/BYUUID/BYNAME).
BY_ID, BY_UUID, BY_NAME = 1, 2, 4
BY_ANY = BY_ID | BY_UUID | BY_NAME


class CommandError(Exception):
    """A failed command: each line is printed as ``error: <line>`` on stderr."""

    def __init__(self, *lines: str, cause: Any = None) -> None:
        super().__init__(lines[0] if lines else "")
        self.lines = [line for line in lines if line]
        #: the libvirtError behind it, for its ``hint:`` line (guiapp.backend.hints)
        self.cause = cause


class UsageError(Exception):
    """Bad command line: printed as ``error: <message>``, exit status 1, nothing run."""


# --------------------------------------------------------------------------- command specs
@dataclass(frozen=True)
class Opt:
    """One option of a command; ``positional`` ones may also be given without ``--name``."""

    name: str
    kind: str  # "bool", "string", "number" or "argv" (positional: all remaining words, a list)
    help: str
    positional: bool = False
    required: bool = False
    req_opt: bool = False  # virsh's VSH_OFLAG_REQ_OPT: reported missing as "--name" rather than "<name>"


@dataclass(frozen=True)
class Command:
    """A command: its help texts, options and handler ``run(session, args) -> bool``."""

    name: str
    group: str
    summary: str
    description: str
    opts: tuple[Opt, ...]
    run: Callable[[Session, dict[str, Any]], bool]
    aliases: tuple[str, ...] = ()
    needs_conn: bool = True
    #: only reads: opens a read-only connection (a read-only command never opens read-write)
    reads_only: bool = False

    def synopsis(self) -> str:
        parts = [self.name]
        for o in self.opts:
            if o.positional:
                parts.append(f"<{o.name}>" if o.required else f"[<{o.name}>]")
            elif o.kind == "bool":
                parts.append(f"[--{o.name}]")
            else:
                parts.append(f"[--{o.name} <{o.kind}>]")
        return " ".join(parts)


GROUPS = (("domain", "Domain Management"), ("monitor", "Domain Monitoring"),
          ("host", "Host and Hypervisor"), ("network", "Networking"), ("storage", "Storage Pool and Volume"),
          ("snapshot", "Snapshot"), ("history", "Config history and cloning (guiapp extensions)"),
          ("virsh", "Virsh itself"))


def _dom_opt(help_text: str = "domain name, id or uuid") -> Opt:
    return Opt("domain", "string", help_text, positional=True, required=True)


def _file_opt(help_text: str) -> Opt:
    return Opt("file", "string", help_text, positional=True, required=True)


_AFFECT_OPTS = (Opt("config", "bool", "affect next boot"), Opt("live", "bool", "affect running domain"),
                Opt("current", "bool", "affect current domain"))


# --------------------------------------------------------------------------- output helpers
def format_version(version: int) -> str:
    """libvirt's encoded version (major * 1e6 + minor * 1e3 + release) as ``major.minor.release``."""
    return f"{version // 1_000_000}.{version // 1000 % 1000}.{version % 1000}"


def state_name(state: int) -> str:
    return STATE_NAMES.get(state, "no state")


def reason_name(state: int, reason: int) -> str:
    names = REASON_NAMES.get(state, ("unknown",))
    return names[reason] if 0 <= reason < len(names) else "unknown"


_INT_RE = re.compile(r"\s*[+-]?[0-9]+")
_UINT_RE = re.compile(r"\s*\+?[0-9]+")


def parse_scaled(text: str, option: str, *, scale: int = 1024, limit: int = _ULONG_MAX) -> int:
    """A virsh scaled integer (``512M``, ``1G``, ``100KB``, ``4096`` in ``scale`` units) in bytes."""
    bad = f"Scaled numeric value '{text}' for <{option}> option is malformed or out of range"
    m = re.match(r"\s*\+?([0-9]+)", text)
    if not m or text.lstrip().startswith("-"):
        raise CommandError(bad)
    value, suffix = int(m.group(1)), text[m.end():]
    if value > _ULONG_MAX:
        raise CommandError(bad)
    if not suffix:
        factor = scale
    elif suffix.lower() in ("b", "byte", "bytes"):
        factor = 1
    else:
        if len(suffix) == 1 or suffix[1:].lower() == "ib":
            base = 1024
        elif len(suffix) == 2 and suffix[1] in "bB":
            base = 1000
        else:
            raise CommandError(bad, f"invalid argument: unknown suffix '{suffix}'")
        power = "kmgtpe".find(suffix[0].lower()) + 1
        if power == 0:
            raise CommandError(bad, f"invalid argument: unknown suffix '{suffix}'")
        factor = base ** power
    if value and value > limit // factor:
        raise CommandError(bad, f"numerical overflow: value too large: {value}{suffix}")
    return value * factor


def parse_count(text: str, option: str) -> int:
    """A virsh unsigned int option (``Numeric value 'x' for <count> option is malformed``)."""
    if not _UINT_RE.fullmatch(text) or int(text) > 2**32 - 1:
        raise CommandError(f"Numeric value '{text}' for <{option}> option is malformed or out of range")
    return int(text)


def read_xml_file(path: str) -> str:
    """Read an XML file as virsh does (virFileReadAll, 10 MiB limit), with virsh's messages."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_XML_FILE + 1)
    except OSError as exc:
        raise CommandError(f"Failed to open file '{path}': {exc.strerror or exc}") from None
    if len(data) > MAX_XML_FILE:
        raise CommandError(f"Failed to read file '{path}': larger than the {MAX_XML_FILE // 1048576} MiB limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(f"File '{path}' is not valid UTF-8 (byte {exc.start}): save it as UTF-8") from None


# --------------------------------------------------------------------------- session
@dataclass
class Session:
    """One invocation: the libvirt module, connection settings, lazily opened connection, streams."""

    lib: ModuleType
    uri: Optional[str]
    readonly: bool
    quiet: bool
    out: TextIO
    err: TextIO
    conn: Any = None
    commands: dict[str, Command] = field(default_factory=dict)

    @property
    def libvirtError(self) -> type[Exception]:
        return self.lib.libvirtError

    def print(self, text: str) -> None:
        self.out.write(text)

    def extra(self, text: str) -> None:
        """virsh's vshPrintExtra: informational output that -q suppresses."""
        if not self.quiet:
            self.out.write(text)

    def connect(self) -> None:
        opener = self.lib.openReadOnly if self.readonly else self.lib.open
        try:
            self.conn = opener(self.uri)
        except self.lib.libvirtError as exc:
            raise CommandError("failed to connect to the hypervisor", lib_message(exc), cause=exc) from None
        if self.conn is None:
            raise CommandError("failed to connect to the hypervisor")

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # closing at exit must never change the exit status
                pass
            self.conn = None

    def call(self, fn: Callable[..., Any], *args: Any, fail: str = "") -> Any:
        """Run one API call; a libvirtError becomes ``fail`` (if any) plus libvirt's own message."""
        try:
            return fn(*args)
        except self.lib.libvirtError as exc:
            raise CommandError(fail, lib_message(exc), cause=exc) from None

    def domain(self, name: str, by: int = BY_ANY) -> Any:
        """Find a domain as virsh does: by id if numeric, then by UUID, then by name."""
        conn, dom = self.conn, None
        if by & BY_ID and _INT_RE.fullmatch(name) and 0 <= int(name) < 2**31:
            dom = self._try(conn.lookupByID, int(name))
        if dom is None and by & BY_UUID and len(name) == 36:
            dom = self._try(conn.lookupByUUIDString, name)
        if dom is None and by & BY_NAME:
            dom = self._try(conn.lookupByName, name)
        if dom is None:
            raise CommandError(f"failed to get domain '{name}'")
        return dom

    def _try(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        try:
            return fn(arg)
        except self.lib.libvirtError:
            return None


def lib_message(exc: BaseException) -> str:
    """The libvirt message of an error (what virsh prints after ``error:``)."""
    getter = getattr(exc, "get_error_message", None)
    msg = getter() if getter is not None else None
    return msg or str(exc) or "unknown error"


# --------------------------------------------------------------------------- handlers
def _flags_affect(a: dict[str, Any]) -> int:
    if a.get("current") and (a.get("live") or a.get("config")):
        raise CommandError("Options --current and --live are mutually exclusive" if a.get("live")
                           else "Options --current and --config are mutually exclusive")
    return (_AFFECT_CONFIG if a.get("config") else 0) | (_AFFECT_LIVE if a.get("live") else 0)


def cmd_list(s: Session, a: dict[str, Any]) -> bool:
    for other in ("name", "uuid", "id"):
        if a["table"] and a[other]:
            raise CommandError(f"Options --table and --{other} are mutually exclusive")
    if a["all"]:
        flags = 0
    elif a["inactive"]:
        flags = _LIST_INACTIVE
    else:
        flags = _LIST_ACTIVE
    doms = list_domains(s, flags)
    if not (a["name"] or a["uuid"] or a["id"]):
        rows = []
        for d in doms:
            ident = d.ID()
            rows.append(["-" if ident == -1 else str(ident), d.name(), state_name(domain_state(s, d))])
        s.print(format_table(None if s.quiet else ["Id", "Name", "State"], rows))
        return True
    for d in doms:
        ident = d.ID()
        if a["id"] and ident == -1 and not a["uuid"] and not a["name"]:
            continue
        parts = []
        if a["uuid"]:
            parts.append(d.UUIDString())
        if a["id"]:
            parts.append("-" if ident == -1 else str(ident))
        if a["name"]:
            parts.append(d.name())
        s.print(" ".join(parts) + "\n")
    return True


def list_domains(s: Session, flags: int) -> list[Any]:
    """Domains sorted as virsh sorts them: running by id, then inactive by name (case-insensitive)."""
    conn = s.conn
    try:
        doms = list(conn.listAllDomains(flags))
    except s.libvirtError as exc:
        # virsh's fallback for drivers without virConnectListAllDomains.
        doms = []
        try:
            if flags != _LIST_INACTIVE:
                doms += [conn.lookupByID(i) for i in conn.listDomainsID()]
            if flags != _LIST_ACTIVE:
                doms += [conn.lookupByName(n) for n in conn.listDefinedDomains()]
        except s.libvirtError:
            raise CommandError("Failed to list domains", lib_message(exc), cause=exc) from None
    active = sorted((d for d in doms if d.ID() != -1), key=lambda d: d.ID())
    inactive = sorted((d for d in doms if d.ID() == -1), key=lambda d: d.name().lower())
    return active + inactive


def domain_state(s: Session, dom: Any) -> int:
    try:
        return dom.state()[0]
    except s.libvirtError:
        try:
            return dom.info()[0]
        except s.libvirtError:
            return 0


def cmd_dominfo(s: Session, a: dict[str, Any]) -> bool:
    dom = s.domain(a["domain"])
    failure = None
    row = "{:<15} {}\n".format
    ident = dom.ID()
    s.print(row("Id:", "-" if ident == -1 else ident))
    s.print(row("Name:", dom.name()))
    s.print(row("UUID:", dom.UUIDString()))
    try:
        s.print(row("OS Type:", dom.OSType()))
    except s.libvirtError:
        pass
    try:
        state, maxmem, mem, ncpu, cputime = dom.info()
    except s.libvirtError as exc:
        failure = exc  # virsh goes on with the other lines, then fails
    else:
        s.print(row("State:", state_name(state)))
        s.print(row("CPU(s):", ncpu))
        if cputime:
            s.print(row("CPU time:", f"{cputime / 1e9:.1f}s"))
        s.print(row("Max memory:", "no limit" if maxmem == 2**32 - 1 else f"{maxmem} KiB"))
        s.print(row("Used memory:", f"{mem} KiB"))
    s.print(row("Persistent:", _yes_no(s, dom, "isPersistent", "yes", "no")))
    try:
        s.print(row("Autostart:", "enable" if dom.autostart() else "disable"))
    except s.libvirtError:
        pass
    s.print(row("Managed save:", _yes_no(s, dom, "hasManagedSaveImage", "yes", "no")))
    _print_security(s, dom, row)
    if failure is not None:
        raise CommandError(lib_message(failure))
    return True


def _yes_no(s: Session, obj: Any, method: str, yes: str, no: str) -> str:
    fn = getattr(obj, method, None)
    if fn is None:
        return "unknown"
    try:
        value = fn()
    except s.libvirtError:
        return "unknown"
    return yes if value else no


def _print_security(s: Session, dom: Any, row: Callable[..., str]) -> None:
    """Security model/DOI/label lines, only when the driver has a security model (as virsh)."""
    get_model = getattr(s.conn, "getSecurityModel", None)
    if get_model is None:
        return
    try:
        model, doi = get_model()
    except s.libvirtError:
        return
    if not model:
        return
    s.print(row("Security model:", model))
    s.print(row("Security DOI:", doi))
    if dom.ID() == -1 or getattr(dom, "securityLabel", None) is None:
        return
    try:
        label, enforcing = dom.securityLabel()
    except s.libvirtError:
        return
    if label:
        s.print(row("Security label:", f"{label} ({'enforcing' if enforcing else 'permissive'})"))


def cmd_domstate(s: Session, a: dict[str, Any]) -> bool:
    dom = s.domain(a["domain"])
    state, reason = s.call(dom.state)
    if a["reason"]:
        s.print(f"{state_name(state)} ({reason_name(state, reason)})\n")
    else:
        s.print(f"{state_name(state)}\n")
    return True


def cmd_dumpxml(s: Session, a: dict[str, Any]) -> bool:
    dom = s.domain(a["domain"])
    flags = ((_XML_INACTIVE if a["inactive"] else 0) | (_XML_SECURE if a["security-info"] else 0)
             | (_XML_UPDATE_CPU if a["update-cpu"] else 0) | (_XML_MIGRATABLE if a["migratable"] else 0))
    xml = s.call(dom.XMLDesc, flags)
    s.print(xml if xml.endswith("\n") else xml + "\n")
    return True


def cmd_define(s: Session, a: dict[str, Any]) -> bool:
    path = a["file"]
    xml = read_xml_file(path)
    fail = f"Failed to define domain from {path}"
    if a["validate"]:
        dom = s.call(s.conn.defineXMLFlags, xml, _DEFINE_VALIDATE, fail=fail)
    else:
        dom = s.call(s.conn.defineXML, xml, fail=fail)
    s.extra(f"Domain '{dom.name()}' defined from {path}\n")
    return True


def cmd_create(s: Session, a: dict[str, Any]) -> bool:
    path = a["file"]
    xml = read_xml_file(path)
    flags = (_START_PAUSED if a["paused"] else 0) | (_CREATE_VALIDATE if a["validate"] else 0)
    dom = s.call(s.conn.createXML, xml, flags, fail=f"Failed to create domain from {path}")
    s.extra(f"Domain '{dom.name()}' created from {path}\n")
    return True


def cmd_undefine(s: Session, a: dict[str, Any]) -> bool:
    name = a["domain"]
    dom = s.domain(name)
    s.call(dom.undefine, fail=f"Failed to undefine domain '{name}'")
    s.extra(f"Domain '{name}' has been undefined\n")
    return True


def cmd_start(s: Session, a: dict[str, Any]) -> bool:
    dom = s.domain(a["domain"], BY_NAME | BY_UUID)
    if dom.ID() != -1:
        raise CommandError("Domain is already active")
    name = dom.name()
    fail = f"Failed to start domain '{name}'"
    if a["paused"]:
        s.call(dom.createWithFlags, _START_PAUSED, fail=fail)
    else:
        s.call(dom.create, fail=fail)
    s.extra(f"Domain '{name}' started\n")
    return True


def _mode_flags(mode: Optional[str]) -> int:
    flags = 0
    for word in (mode or "").split(","):
        if not word and mode is None:
            continue
        if word not in _SHUTDOWN_MODES:
            raise CommandError(f"Unknown mode {word} value, expecting 'acpi', 'agent', 'initctl', "
                               "'signal' or 'paravirt'")
        flags |= _SHUTDOWN_MODES[word]
    return flags


def cmd_shutdown(s: Session, a: dict[str, Any]) -> bool:
    flags = _mode_flags(a["mode"])
    name = a["domain"]
    dom = s.domain(name)
    fail = f"Failed to shutdown domain '{name}'"
    if flags:
        s.call(dom.shutdownFlags, flags, fail=fail)
    else:
        s.call(dom.shutdown, fail=fail)
    s.extra(f"Domain '{name}' is being shutdown\n")
    return True


def cmd_reboot(s: Session, a: dict[str, Any]) -> bool:
    flags = _mode_flags(a["mode"])
    name = a["domain"]
    dom = s.domain(name)
    s.call(dom.reboot, flags, fail=f"Failed to reboot domain '{name}'")
    s.extra(f"Domain '{name}' is being rebooted\n")
    return True


def cmd_destroy(s: Session, a: dict[str, Any]) -> bool:
    name = a["domain"]
    dom = s.domain(name)
    fail = f"Failed to destroy domain '{name}'"
    if a["graceful"]:
        s.call(dom.destroyFlags, _DESTROY_GRACEFUL, fail=fail)
    else:
        s.call(dom.destroy, fail=fail)
    s.extra(f"Domain '{name}' destroyed\n")
    return True


def cmd_suspend(s: Session, a: dict[str, Any]) -> bool:
    name = a["domain"]
    dom = s.domain(name)
    s.call(dom.suspend, fail=f"Failed to suspend domain '{name}'")
    s.extra(f"Domain '{name}' suspended\n")
    return True


def cmd_resume(s: Session, a: dict[str, Any]) -> bool:
    name = a["domain"]
    dom = s.domain(name)
    s.call(dom.resume, fail=f"Failed to resume domain '{name}'")
    s.extra(f"Domain '{name}' resumed\n")
    return True


def _save_restore_flags(a: dict[str, Any]) -> int:
    if a["running"] and a["paused"]:
        raise CommandError("Options --running and --paused are mutually exclusive")
    return (_SAVE_RUNNING if a["running"] else 0) | (_SAVE_PAUSED if a["paused"] else 0)


def cmd_save(s: Session, a: dict[str, Any]) -> bool:
    flags = _save_restore_flags(a)
    name, path = a["domain"], a["file"]
    dxml = read_xml_file(a["xml"]) if a["xml"] is not None else None
    dom = s.domain(name)
    fail = f"Failed to save domain '{name}' to {path}"
    if flags or dxml is not None:
        s.call(dom.saveFlags, path, dxml, flags, fail=fail)
    else:
        s.call(dom.save, path, fail=fail)
    s.extra(f"\nDomain '{name}' saved to {path}\n")
    return True


def cmd_restore(s: Session, a: dict[str, Any]) -> bool:
    flags = _save_restore_flags(a)
    path = a["file"]
    dxml = read_xml_file(a["xml"]) if a["xml"] is not None else None
    fail = f"Failed to restore domain from {path}"
    if flags or dxml is not None:
        s.call(s.conn.restoreFlags, path, dxml, flags, fail=fail)
    else:
        s.call(s.conn.restore, path, fail=fail)
    s.extra(f"Domain restored from {path}\n")
    return True


def _kibibytes(a: dict[str, Any]) -> int:
    kib = -(-parse_scaled(a["size"], "size") // 1024)  # rounded up, as virsh's VIR_DIV_UP
    if kib > _ULONG_MAX:
        raise CommandError(f"Scaled numeric value '{a['size']}' for <size> option is malformed or out of range")
    return kib


def cmd_setmem(s: Session, a: dict[str, Any]) -> bool:
    flags = _flags_affect(a)
    dom = s.domain(a["domain"])
    kib = _kibibytes(a)
    if flags or a["current"]:
        s.call(dom.setMemoryFlags, kib, flags)
    else:
        s.call(dom.setMemory, kib)
    return True


def cmd_setmaxmem(s: Session, a: dict[str, Any]) -> bool:
    flags = _flags_affect(a)
    dom = s.domain(a["domain"])
    kib = _kibibytes(a)
    fail = "Unable to change MaxMemorySize"
    if flags or a["current"]:
        s.call(dom.setMemoryFlags, kib, flags | _MEM_MAXIMUM, fail=fail)
    else:
        s.call(dom.setMaxMemory, kib, fail=fail)
    return True


def cmd_setvcpus(s: Session, a: dict[str, Any]) -> bool:
    flags = _flags_affect(a)
    flags |= ((_VCPU_MAXIMUM if a["maximum"] else 0) | (_VCPU_GUEST if a["guest"] else 0)
              | (_VCPU_HOTPLUGGABLE if a["hotpluggable"] else 0))
    dom = s.domain(a["domain"])
    count = parse_count(a["count"], "count")
    if count == 0:
        raise CommandError("Can't set 0 processors for a VM")
    if flags or a["current"]:
        s.call(dom.setVcpusFlags, count, flags)
    else:
        s.call(dom.setVcpus, count)
    return True


def cmd_capabilities(s: Session, a: dict[str, Any]) -> bool:
    caps = s.call(s.conn.getCapabilities, fail="failed to get capabilities")
    s.print(caps + "\n")
    return True


def cmd_nodeinfo(s: Session, a: dict[str, Any]) -> bool:
    model, mem_mib, cpus, mhz, nodes, sockets, cores, threads = s.call(
        s.conn.getInfo, fail="failed to get node information")
    row = "{:<20} {}\n".format
    s.print(row("CPU model:", model))
    s.print(row("CPU(s):", cpus))
    if mhz:
        s.print(row("CPU frequency:", f"{mhz} MHz"))
    s.print(row("CPU socket(s):", sockets))
    s.print(row("Core(s) per socket:", cores))
    s.print(row("Thread(s) per core:", threads))
    s.print(row("NUMA cell(s):", nodes))
    s.print(row("Memory size:", f"{mem_mib * 1024} KiB"))
    return True


def cmd_uri(s: Session, a: dict[str, Any]) -> bool:
    s.print(s.call(s.conn.getURI, fail="failed to get URI") + "\n")
    return True


def cmd_version(s: Session, a: dict[str, Any]) -> bool:
    libname = "libvirt" if s.lib.__name__ == "libvirt" else "guiapp"
    lib_version = format_version(s.call(s.lib.getVersion, fail="failed to get the library version"))
    hv_type = s.call(s.conn.getType, fail="failed to get hypervisor type")
    s.print(f"Compiled against library: {libname} {lib_version}\n")
    s.print(f"Using library: {libname} {lib_version}\n")
    s.print(f"Using API: {hv_type} {lib_version}\n")
    hv_version = s.call(s.conn.getVersion, fail="failed to get the hypervisor version")
    if hv_version == 0:
        s.print(f"Cannot extract running {hv_type} hypervisor version\n")
    else:
        s.print(f"Running hypervisor: {hv_type} {format_version(hv_version)}\n")
    return True


def cmd_domid(s: Session, a: dict[str, Any]) -> bool:
    ident = s.domain(a["domain"], BY_NAME | BY_UUID).ID()
    s.print("-\n" if ident == -1 else f"{ident}\n")
    return True


def cmd_domname(s: Session, a: dict[str, Any]) -> bool:
    s.print(s.domain(a["domain"], BY_ID | BY_UUID).name() + "\n")
    return True


def cmd_domuuid(s: Session, a: dict[str, Any]) -> bool:
    s.print(s.domain(a["domain"], BY_ID | BY_NAME).UUIDString() + "\n")
    return True


def cmd_help(s: Session, a: dict[str, Any]) -> bool:
    topic = a["command"]
    if topic is None:
        s.print("Grouped commands:\n\n")
        for key, title in GROUPS:
            s.print(group_help(s.commands, key, title))
        return True
    for key, title in GROUPS:
        if topic == key:
            s.print(group_help(s.commands, key, title))
            return True
    cmd = s.commands.get(topic)
    if cmd is None:
        raise CommandError(f"command or command group '{topic}' doesn't exist")
    s.print(command_help(cmd))
    return True


def group_help(commands: dict[str, Command], key: str, title: str) -> str:
    lines = [f" {title} (help keyword '{key}'):\n"]
    for name in sorted({c.name for c in commands.values() if c.group == key}):
        lines.append(f"    {name:<30} {commands[name].summary}\n")
    return "".join(lines) + "\n"


def command_help(cmd: Command) -> str:
    """``help COMMAND`` in virsh's layout (NAME, SYNOPSIS, DESCRIPTION, OPTIONS)."""
    text = f"  NAME\n    {cmd.name} - {cmd.summary}\n\n  SYNOPSIS\n    {cmd.synopsis()}\n\n"
    if cmd.aliases:
        text = text.replace("\n\n  SYNOPSIS", f"\n    (alias: {', '.join(cmd.aliases)})\n\n  SYNOPSIS", 1)
    if cmd.description:
        text += "  DESCRIPTION\n" + "".join(f"    {line}\n" for line in cmd.description.splitlines()) + "\n"
    if cmd.opts:
        text += "  OPTIONS\n"
        for o in cmd.opts:
            if o.positional:
                label = f"[--{o.name}] <{o.kind}>"
            elif o.kind == "bool":
                label = f"--{o.name}"
            else:
                label = f"--{o.name} <{o.kind}>"
            text += f"    {label:<15}  {o.help}\n"
        text += "\n"
    return text


# --------------------------------------------------------------------------- command table
COMMANDS: tuple[Command, ...] = (
    Command("list", "monitor", "list domains", "Returns list of domains.", (
        Opt("inactive", "bool", "list inactive domains"),
        Opt("all", "bool", "list inactive & active domains"),
        Opt("uuid", "bool", "list uuid's only"),
        Opt("name", "bool", "list domain names only"),
        Opt("id", "bool", "list domain IDs only"),
        Opt("table", "bool", "list table (default)"),
    ), cmd_list),
    Command("dominfo", "monitor", "domain information", "Returns basic information about the domain.",
            (_dom_opt(),), cmd_dominfo),
    Command("domstate", "monitor", "domain state", "Returns state about a domain.", (
        _dom_opt(), Opt("reason", "bool", "also print reason for the state")), cmd_domstate),
    Command("dumpxml", "domain", "domain information in XML",
            "Output the domain information as an XML dump to stdout.", (
                _dom_opt(),
                Opt("inactive", "bool", "show inactive defined XML"),
                Opt("security-info", "bool", "include security sensitive information in XML dump"),
                Opt("update-cpu", "bool", "update guest CPU according to host CPU"),
                Opt("migratable", "bool", "provide XML suitable for migrations"),
            ), cmd_dumpxml, aliases=("xmldump",)),
    Command("define", "domain", "define (but don't start) a domain from an XML file", "Define a domain.", (
        _file_opt("file containing an XML domain description"),
        Opt("validate", "bool", "validate the XML against the schema")), cmd_define),
    Command("undefine", "domain", "undefine a domain",
            "Undefine an inactive domain, or convert persistent to transient.", (_dom_opt(),), cmd_undefine),
    Command("create", "domain", "create a domain from an XML file", "Create a domain.", (
        _file_opt("file containing an XML domain description"),
        Opt("paused", "bool", "leave the guest paused after creation"),
        Opt("validate", "bool", "validate the XML against the schema")), cmd_create),
    Command("start", "domain", "start a (previously defined) inactive domain",
            "Start a domain, either from the last managedsave\nstate, or via a fresh boot if no managedsave "
            "state\nis present.", (
                _dom_opt("name of the inactive domain"),
                Opt("paused", "bool", "leave the guest paused after creation")), cmd_start),
    Command("shutdown", "domain", "gracefully shutdown a domain", "Run shutdown in the target domain.", (
        _dom_opt(), Opt("mode", "string", "shutdown mode: acpi|agent|initctl|signal|paravirt")), cmd_shutdown),
    Command("destroy", "domain", "destroy (stop) a domain",
            "Forcefully stop a given domain, but leave its resources intact.", (
                _dom_opt(), Opt("graceful", "bool", "terminate gracefully")), cmd_destroy),
    Command("suspend", "domain", "suspend a domain", "Suspend a running domain.", (_dom_opt(),), cmd_suspend),
    Command("resume", "domain", "resume a domain", "Resume a previously suspended domain.", (_dom_opt(),),
            cmd_resume),
    Command("reboot", "domain", "reboot a domain", "Run a reboot command in the target domain.", (
        _dom_opt(), Opt("mode", "string", "shutdown mode: acpi|agent|initctl|signal|paravirt")), cmd_reboot),
    Command("save", "domain", "save a domain state to a file", "Save the RAM state of a running domain.", (
        _dom_opt(), _file_opt("where to save the data"),
        Opt("xml", "string", "filename containing updated XML for the target"),
        Opt("running", "bool", "set domain to be running on restore"),
        Opt("paused", "bool", "set domain to be paused on restore")), cmd_save),
    Command("restore", "domain", "restore a domain from a saved state in a file", "Restore a domain.", (
        _file_opt("the state to restore"),
        Opt("xml", "string", "filename containing updated XML for the target"),
        Opt("running", "bool", "restore domain into running state"),
        Opt("paused", "bool", "restore domain into paused state")), cmd_restore),
    Command("setmem", "domain", "change memory allocation",
            "Change the current memory allocation in the guest domain.", (
                _dom_opt(),
                Opt("size", "number", "new memory size, as scaled integer (default KiB)", True, True, True),
                *_AFFECT_OPTS), cmd_setmem),
    Command("setmaxmem", "domain", "change maximum memory limit",
            "Change the maximum memory allocation limit in the guest domain.", (
                _dom_opt(),
                Opt("size", "number", "new maximum memory size, as scaled integer (default KiB)", True, True,
                    True),
                *_AFFECT_OPTS), cmd_setmaxmem),
    Command("setvcpus", "domain", "change number of virtual CPUs",
            "Change the number of virtual CPUs in the guest domain.", (
                _dom_opt(), Opt("count", "number", "number of virtual CPUs", True, True, True),
                Opt("maximum", "bool", "set maximum limit on next boot"), *_AFFECT_OPTS,
                Opt("guest", "bool", "modify cpu state in the guest"),
                Opt("hotpluggable", "bool", "make added vcpus hot(un)pluggable")), cmd_setvcpus),
    Command("capabilities", "host", "capabilities", "Returns capabilities of hypervisor/driver.", (),
            cmd_capabilities),
    Command("nodeinfo", "host", "node information", "Returns basic information about the node.", (),
            cmd_nodeinfo),
    Command("uri", "host", "print the hypervisor canonical URI", "", (), cmd_uri),
    Command("version", "host", "show version", "Display the system version information.", (), cmd_version),
    Command("domid", "domain", "convert a domain name or UUID to domain id", "",
            (_dom_opt("domain name or uuid"),), cmd_domid),
    Command("domname", "domain", "convert a domain id or UUID to domain name", "",
            (_dom_opt("domain id or uuid"),), cmd_domname),
    Command("domuuid", "domain", "convert a domain name or id to domain UUID", "",
            (_dom_opt("domain id or name"),), cmd_domuuid),
    Command("help", "virsh", "print help", "Prints global help, command specific help, or help for a\n"
            "group of related commands", (Opt("command", "string", "Prints global help, command specific "
                                              "help, or help for a group of related commands", True),),
            cmd_help, needs_conn=False),
)


#: Commands that only read: they open a read-only connection (opening never changes the host, and a
#: read-only command cannot change it by accident either).
READ_ONLY_COMMANDS = frozenset({"list", "dominfo", "domstate", "dumpxml", "capabilities", "nodeinfo", "uri",
                                "version", "domid", "domname", "domuuid", "net-list", "net-dumpxml",
                                "net-dhcp-leases"})


def commands_from_specs(specs: dict[str, Any], group: str, *, read_only: Any = frozenset(),
                        groups: Optional[dict[str, str]] = None) -> tuple[Command, ...]:
    """Command entries from a command module's ``SPECS`` (name -> (handler, summary, description, options)); each
    handler is called as ``handler(conn, args, out=, err=, quiet=)`` and succeeds when it returns 0."""
    def adapt(handler: Callable[..., int]) -> Callable[[Any, dict[str, Any]], bool]:
        def run(session: Any, a: dict[str, Any]) -> bool:
            return bool(handler(session.conn, a, out=session.out, err=session.err, quiet=session.quiet) == 0)
        return run

    return tuple(Command(name, (groups or {}).get(name, group), summary, desc,
                         tuple(Opt(o, kind, h, positional=pos, required=req) for o, kind, h, pos, req in opts),
                         adapt(handler), reads_only=name in read_only)
                 for name, (handler, summary, desc, opts) in specs.items())


def _marked(commands: tuple[Command, ...]) -> tuple[Command, ...]:
    return tuple(dataclasses.replace(c, reads_only=c.reads_only or c.name in READ_ONLY_COMMANDS) for c in commands)


@functools.cache
def all_commands() -> tuple[Command, ...]:
    """The domain/host commands above plus the network ones of cli_net and the storage ones of cli_storage."""
    from . import cli_console, cli_hardware, cli_history, cli_net, cli_screen, cli_snapshot, cli_storage
    return _marked(COMMANDS + tuple(cli_net.cli_commands()) + tuple(cli_storage.cli_commands())
                   + tuple(cli_console.cli_commands()) + tuple(cli_screen.cli_commands())
                   + tuple(cli_snapshot.cli_commands()) + tuple(cli_hardware.cli_commands())
                   + tuple(cli_history.cli_commands()))


def command_table(word: Optional[str] = None) -> dict[str, Command]:
    """Command name (and alias) -> Command.  With ``word`` naming one of this module's own commands (not
    ``help``, which lists them all), only those: the other command modules are not imported (start-up time)."""
    if word is not None and word != "help":
        own = _table(_marked(COMMANDS))
        if word in own:
            return own
    return _table(all_commands())


def _table(commands: tuple[Command, ...]) -> dict[str, Command]:
    table: dict[str, Command] = {}
    for cmd in commands:
        table[cmd.name] = cmd
        for alias in cmd.aliases:
            table[alias] = cmd
    return table


# --------------------------------------------------------------------------- argument parsing
USAGE = """\
usage: guiapp-virsh [-c URI] [-r] [-q] COMMAND [ARGS]

  options:
    -c | --connect=URI      hypervisor connection URI
    -r | --readonly         connect readonly
    -q | --quiet            quiet mode
    -h | --help             this help
    -v | --version          program version

  commands (run 'guiapp-virsh help' for the list, 'guiapp-virsh help COMMAND' for one):
    list dominfo domstate dumpxml define undefine create start shutdown destroy suspend
    resume reboot save restore setmem setmaxmem setvcpus capabilities nodeinfo uri
    version domid domname domuuid help
"""


class _Parser(argparse.ArgumentParser):
    """argparse with virsh's error messages, raising instead of exiting."""

    command: Optional[Command] = None

    def error(self, message: str) -> NoReturn:
        m = re.match(r"argument command: invalid choice: ('[^']*')", message)
        if m:
            raise UsageError(f"unknown command: {m.group(1)}")
        m = re.match(r"argument (--[\w-]+): expected one argument", message)
        if m and self.command is not None:
            kind = next((o.kind for o in self.command.opts if f"--{o.name}" == m.group(1)), "string")
            raise UsageError(f"expected syntax: {m.group(1)} <{kind}>")
        raise UsageError(message)


class _Once(argparse.Action):
    """Store an option's value, refusing a second occurrence (``option --x already seen``)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: Optional[str] = None) -> None:
        if getattr(namespace, self.dest, None) not in (None, False):
            raise UsageError(f"option {option_string} already seen")
        setattr(namespace, self.dest, True if self.nargs == 0 else values)


def build_parser(commands: dict[str, Command], only: Optional[str] = None) -> _Parser:
    """virsh's parser; ``only``: build just that command's subparser (start-up time), when it is one."""
    parser = _Parser(prog="guiapp-virsh", add_help=False, allow_abbrev=False)
    parser.add_argument("-c", "--connect", dest="uri")
    parser.add_argument("-r", "--readonly", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("-h", "--help", dest="show_help", action="store_true")
    parser.add_argument("-v", "--version", dest="show_version", action="store_true")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for cmd in dict.fromkeys(commands.values()):  # each command once (the table also maps aliases)
        if only is not None and only != cmd.name and only not in cmd.aliases:
            continue
        p = sub.add_parser(cmd.name, aliases=list(cmd.aliases), add_help=False, allow_abbrev=False)
        p.command = cmd
        p.set_defaults(_cmd=cmd)
        p.add_argument("--help", dest="_help", nargs=0, action=_Once, default=False)
        for o in cmd.opts:
            if o.kind == "bool":
                p.add_argument(f"--{o.name}", dest=f"opt:{o.name}", nargs=0, action=_Once, default=False)
            else:  # an argv option may repeat, as in virsh (--diskspec vda --diskspec vdb)
                p.add_argument(f"--{o.name}", dest=f"opt:{o.name}", action="append" if o.kind == "argv" else _Once,
                               default=None)
            if o.positional:  # kind "argv" (virsh's VSH_OT_ARGV) takes every remaining word
                p.add_argument(f"pos:{o.name}", nargs="*" if o.kind == "argv" else "?", default=None)
    return parser


def command_args(cmd: Command, ns: argparse.Namespace, extras: list[str]) -> dict[str, Any]:
    """Merge ``--name value`` and positional forms, fill slots from leftovers, check required ones."""
    values: dict[str, Any] = {}
    loose = list(extras)
    for o in cmd.opts:
        opt_val = getattr(ns, f"opt:{o.name}")
        if o.positional:
            pos_val = getattr(ns, f"pos:{o.name}")
            if o.kind == "argv" and pos_val is not None and opt_val is not None:
                opt_val, pos_val = [*opt_val, *pos_val], None
            if pos_val is not None and opt_val is not None:
                raise UsageError(f"option --{o.name} already seen")
            values[o.name] = opt_val if opt_val is not None else pos_val
        else:
            values[o.name] = opt_val
    for o in cmd.opts:  # argparse leaves positionals that follow an option as extras
        if o.kind == "argv":
            words = ([values[o.name]] if isinstance(values[o.name], str) else list(values[o.name] or []))
            while loose and not _looks_like_option(loose[0]):
                words.append(loose.pop(0))
            values[o.name] = words or None
        elif o.positional and values[o.name] is None and loose and not _looks_like_option(loose[0]):
            values[o.name] = loose.pop(0)
    if loose:
        word = loose[0]
        if _looks_like_option(word):
            raise UsageError(f"command '{cmd.name}' doesn't support option {word.split('=', 1)[0]}")
        raise UsageError(f"unexpected data '{word}'")
    for o in cmd.opts:
        if o.required and values[o.name] is None:
            raise UsageError(f"command '{cmd.name}' requires --{o.name} option" if o.req_opt
                             else f"command '{cmd.name}' requires <{o.name}> option")
    return values


_GLOBAL_FLAGS = {"-r", "--readonly", "-q", "--quiet", "-h", "--help", "-v", "--version"}


def check_global_options(argv: list[str]) -> None:
    """Refuse unknown options before the command the way virsh does (argparse would pass them on)."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-c", "--connect"):
            i += 2
            continue
        if not word.startswith("-") or word == "-":
            return
        if word not in _GLOBAL_FLAGS and not word.startswith("--connect=") and not (
                word.startswith("-c") and not word.startswith("--")):
            raise UsageError(f"unsupported option '{word}'. See --help.")
        i += 1


def _command_word(argv: list[str], commands: Optional[dict[str, Command]] = None) -> Optional[str]:
    """The command named on the line (after the global options) when it is one of ``commands`` (any word
    when ``commands`` is None), else None."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-c", "--connect"):
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return word if commands is None or word in commands else None
    return None


def _looks_like_option(word: str) -> bool:
    return word.startswith("-") and not _INT_RE.fullmatch(word)


# --------------------------------------------------------------------------- entry points
def run(argv: list[str], lib: ModuleType, out: TextIO, err: TextIO, conn: Any = None) -> int:
    """Run one command line over the libvirt-compatible module ``lib``; returns the exit status.

    ``conn``: an open connection to use (and leave open) instead of opening ``-c URI``,
    so that several commands can work on the same in-memory state.
    """
    commands = command_table(_command_word(argv))
    try:
        check_global_options(argv)
        ns, extras = build_parser(commands, _command_word(argv, commands)).parse_known_args(argv)
        if ns.show_help:
            out.write(USAGE)
            return 0
        if ns.show_version:
            out.write(format_version(lib.getVersion()) + "\n")
            return 0
        if ns.command is None:
            raise UsageError("no command given; run 'guiapp-virsh help' for the list of commands")
        cmd: Command = ns._cmd
        if ns._help:
            out.write(command_help(cmd))
            return 0
        args = command_args(cmd, ns, extras)
    except UsageError as exc:
        err.write(f"error: {exc}\n")
        if "no command given" in str(exc):
            err.write(USAGE)
        return 1

    uri = ns.uri if ns.uri is not None else os.environ.get("VIRSH_DEFAULT_CONNECT_URI") or None
    # secrets (dumpxml --security-info) need read-write access; every other read opens read-only
    readonly = ns.readonly or (cmd.reads_only and not args.get("security-info"))
    session = Session(lib, uri, readonly, ns.quiet, out, err, conn=conn, commands=commands)
    try:
        if cmd.needs_conn and conn is None:
            try:
                session.connect()
            except CommandError as exc:
                _print_errors(err, exc.lines, exc.cause)
                return 1
        try:
            ok = cmd.run(session, args)
        except CommandError as exc:
            _print_errors(err, exc.lines, exc.cause)
            ok = False
        session.extra("\n")
        return 0 if ok else 1
    finally:
        if conn is None:
            session.close()


def _print_errors(err: TextIO, lines: list[str], cause: Any = None) -> None:
    """virsh's ``error:`` lines, then guiapp's ``hint:`` line when the hints table knows the failure."""
    for line in lines:
        err.write(f"error: {line}\n")
    if cause is not None:
        from .hints import hint_for
        hint = hint_for(cause)
        if hint is not None:
            err.write(f"hint: {hint.text}\n")


def main(argv: Optional[list[str]] = None) -> int:
    """``guiapp-virsh`` entry point over guiapp.backend."""
    import guiapp.backend as lib

    from . import errors as errors_module

    previous = getattr(errors_module, "_global_handler", None)  # restored for in-process callers
    lib.registerErrorHandler(lambda ctx, err: None, None)  # virsh prints errors itself
    try:
        return run(list(sys.argv[1:] if argv is None else argv), lib, sys.stdout, sys.stderr)
    except BrokenPipeError:  # e.g. `guiapp-virsh list | head -1`: stop quietly, as virsh does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still an error line like virsh's, never a Python traceback
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n")
        return 1
    finally:
        if previous is None:
            lib.registerErrorHandler(None, None)
        else:
            lib.registerErrorHandler(*previous)


if __name__ == "__main__":
    sys.exit(main())
