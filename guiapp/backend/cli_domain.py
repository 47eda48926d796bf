"""``guiapp-virsh``'s domain commands (virsh's Domain Management and Domain Monitoring groups): list, dominfo,
domstate, dumpxml, define/undefine/create, start/shutdown/reboot/destroy, suspend/resume, save/restore,
setmem/setmaxmem/setvcpus, domid/domname/domuuid; their handlers and :data:`COMMANDS` entries, and virsh's
state and reason names.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from .cli_command import (
    AFFECT_OPTS,
    BY_ID,
    BY_NAME,
    BY_UUID,
    Command,
    CommandError,
    Opt,
    Session,
    dom_opt,
    file_opt,
    lib_message,
    parse_count,
    parse_scaled,
    read_xml_file,
)
from .cli_table import format_table

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


def state_name(state: int) -> str:
    return STATE_NAMES.get(state, "no state")


def reason_name(state: int, reason: int) -> str:
    names = REASON_NAMES.get(state, ("unknown",))
    return names[reason] if 0 <= reason < len(names) else "unknown"


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


def _one_call(method: str, done: str) -> Callable[[Session, dict[str, Any]], bool]:
    """A handler that finds the domain, calls ``dom.<method>()`` and says ``Domain '<name>' <done>``."""
    def run(s: Session, a: dict[str, Any]) -> bool:
        name = a["domain"]
        dom = s.domain(name)
        s.call(getattr(dom, method), fail=f"Failed to {method} domain '{name}'")
        s.extra(f"Domain '{name}' {done}\n")
        return True
    run.__name__ = f"cmd_{method}"
    return run


cmd_undefine = _one_call("undefine", "has been undefined")
cmd_suspend = _one_call("suspend", "suspended")
cmd_resume = _one_call("resume", "resumed")


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


# --------------------------------------------------------------------------- command table
#: The domain commands, in virsh's order.
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
            (dom_opt(),), cmd_dominfo),
    Command("domstate", "monitor", "domain state", "Returns state about a domain.", (
        dom_opt(), Opt("reason", "bool", "also print reason for the state")), cmd_domstate),
    Command("dumpxml", "domain", "domain information in XML",
            "Output the domain information as an XML dump to stdout.", (
                dom_opt(),
                Opt("inactive", "bool", "show inactive defined XML"),
                Opt("security-info", "bool", "include security sensitive information in XML dump"),
                Opt("update-cpu", "bool", "update guest CPU according to host CPU"),
                Opt("migratable", "bool", "provide XML suitable for migrations"),
            ), cmd_dumpxml, aliases=("xmldump",)),
    Command("define", "domain", "define (but don't start) a domain from an XML file", "Define a domain.", (
        file_opt("file containing an XML domain description"),
        Opt("validate", "bool", "validate the XML against the schema")), cmd_define),
    Command("undefine", "domain", "undefine a domain",
            "Undefine an inactive domain, or convert persistent to transient.", (dom_opt(),), cmd_undefine),
    Command("create", "domain", "create a domain from an XML file", "Create a domain.", (
        file_opt("file containing an XML domain description"),
        Opt("paused", "bool", "leave the guest paused after creation"),
        Opt("validate", "bool", "validate the XML against the schema")), cmd_create),
    Command("start", "domain", "start a (previously defined) inactive domain",
            "Start a domain, either from the last managedsave\nstate, or via a fresh boot if no managedsave "
            "state\nis present.", (
                dom_opt("name of the inactive domain"),
                Opt("paused", "bool", "leave the guest paused after creation")), cmd_start),
    Command("shutdown", "domain", "gracefully shutdown a domain", "Run shutdown in the target domain.", (
        dom_opt(), Opt("mode", "string", "shutdown mode: acpi|agent|initctl|signal|paravirt")), cmd_shutdown),
    Command("destroy", "domain", "destroy (stop) a domain",
            "Forcefully stop a given domain, but leave its resources intact.", (
                dom_opt(), Opt("graceful", "bool", "terminate gracefully")), cmd_destroy),
    Command("suspend", "domain", "suspend a domain", "Suspend a running domain.", (dom_opt(),), cmd_suspend),
    Command("resume", "domain", "resume a domain", "Resume a previously suspended domain.", (dom_opt(),),
            cmd_resume),
    Command("reboot", "domain", "reboot a domain", "Run a reboot command in the target domain.", (
        dom_opt(), Opt("mode", "string", "shutdown mode: acpi|agent|initctl|signal|paravirt")), cmd_reboot),
    Command("save", "domain", "save a domain state to a file", "Save the RAM state of a running domain.", (
        dom_opt(), file_opt("where to save the data"),
        Opt("xml", "string", "filename containing updated XML for the target"),
        Opt("running", "bool", "set domain to be running on restore"),
        Opt("paused", "bool", "set domain to be paused on restore")), cmd_save),
    Command("restore", "domain", "restore a domain from a saved state in a file", "Restore a domain.", (
        file_opt("the state to restore"),
        Opt("xml", "string", "filename containing updated XML for the target"),
        Opt("running", "bool", "restore domain into running state"),
        Opt("paused", "bool", "restore domain into paused state")), cmd_restore),
    Command("setmem", "domain", "change memory allocation",
            "Change the current memory allocation in the guest domain.", (
                dom_opt(),
                Opt("size", "number", "new memory size, as scaled integer (default KiB)", True, True, True),
                *AFFECT_OPTS), cmd_setmem),
    Command("setmaxmem", "domain", "change maximum memory limit",
            "Change the maximum memory allocation limit in the guest domain.", (
                dom_opt(),
                Opt("size", "number", "new maximum memory size, as scaled integer (default KiB)", True, True,
                    True),
                *AFFECT_OPTS), cmd_setmaxmem),
    Command("setvcpus", "domain", "change number of virtual CPUs",
            "Change the number of virtual CPUs in the guest domain.", (
                dom_opt(), Opt("count", "number", "number of virtual CPUs", True, True, True),
                Opt("maximum", "bool", "set maximum limit on next boot"), *AFFECT_OPTS,
                Opt("guest", "bool", "modify cpu state in the guest"),
                Opt("hotpluggable", "bool", "make added vcpus hot(un)pluggable")), cmd_setvcpus),
    Command("domid", "domain", "convert a domain name or UUID to domain id", "",
            (dom_opt("domain name or uuid"),), cmd_domid),
    Command("domname", "domain", "convert a domain id or UUID to domain name", "",
            (dom_opt("domain id or uuid"),), cmd_domname),
    Command("domuuid", "domain", "convert a domain name or id to domain UUID", "",
            (dom_opt("domain id or name"),), cmd_domuuid),
)
