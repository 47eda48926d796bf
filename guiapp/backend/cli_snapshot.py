"""guiapp-virsh's snapshot commands, laid out like virsh 9.0's (``tools/virsh-snapshot.c``).

``snapshot-create``, ``snapshot-create-as``, ``snapshot-list`` (``--tree``, ``--parent``, ``--name``, filters),
``snapshot-info``, ``snapshot-dumpxml``, ``snapshot-current``, ``snapshot-parent``, ``snapshot-revert``,
``snapshot-delete``.  Handlers follow :mod:`guiapp.backend.cli_net`'s convention
(``handler(conn, args, out=, err=, quiet=)``), so they also run over Debian's libvirt-python: the tests
compare both with real virsh on ``test:///default``.  Not done: ``snapshot-edit``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any, Optional

from lxml import etree

from .cli_net import _call, _FailError, _handler, _is_libvirt_error, _message, _opt, _Out, _read_file
from .xml.serialize import escape_text

# libvirt's flag values (the handlers also run over libvirt-python, so no import of our constants' names)
_CREATE = {"redefine": 1, "current": 2, "no-metadata": 4, "halt": 8, "disk-only": 16, "reuse-external": 32,
           "quiesce": 64, "atomic": 128, "live": 256, "validate": 512}
_LIST = {"roots": 1, "metadata": 2, "leaves": 4, "no-leaves": 8, "no-metadata": 16, "inactive": 32,
         "active": 64, "disk-only": 128, "internal": 256, "external": 512, "topological": 1024}
_LIST_DESCENDANTS = 1
_DELETE = {"children": 1, "metadata": 2, "children-only": 4}
_REVERT = {"running": 1, "paused": 2, "reset-nvram": 8}
_REVERT_FORCE = 4
_ERR_SNAPSHOT_REVERT_RISKY = 77
_XML_SECURE = 1
_INT = re.compile(r"[0-9]+")


def lookup_domain(conn: Any, name: Optional[str]) -> Any:
    """virsh's domain lookup: by id when numeric, then by UUID, then by name."""
    if not name:
        raise _FailError("command 'snapshot' requires <domain> option")
    tries: list[tuple[Callable[[Any], Any], Any]] = []
    if _INT.fullmatch(name) and int(name) < 2 ** 31:
        tries.append((conn.lookupByID, int(name)))
    if len(name) == 36:
        tries.append((conn.lookupByUUIDString, name))
    tries.append((conn.lookupByName, name))
    for fn, arg in tries:
        try:
            return fn(arg)
        except Exception as exc:
            if not _is_libvirt_error(exc):
                raise
    raise _FailError(f"failed to get domain '{name}'")


def _flags(a: Any, table: dict[str, int]) -> int:
    return sum(v for k, v in table.items() if _opt(a, k))


def _lookup_snapshot(dom: Any, a: Any, arg: str = "snapshotname") -> Any:
    """virshLookupSnapshot: ``--ARG name`` or ``--current`` (exclusive)."""
    name, current = _opt(a, arg), _opt(a, "current")
    if name and current:
        raise _FailError(f"--{arg} and --current are mutually exclusive")
    if name:
        return _call(dom.snapshotLookupByName, name, 0)
    if current:
        return _call(dom.snapshotCurrent, 0)
    raise _FailError(f"--{arg} or --current is required")


def _create(dom: Any, xml: str, flags: int, o: _Out, source: Optional[str] = None) -> None:
    snap = _call(dom.snapshotCreateXML, xml, flags)
    if source:
        o.extra(f"Domain snapshot {snap.getName()} created from '{source}'")
    else:
        o.extra(f"Domain snapshot {snap.getName()} created")


def _snapshot_create(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    path = _opt(a, "xmlfile")
    xml = _read_file(path) if path else "<domainsnapshot/>"
    _create(dom, xml, _flags(a, _CREATE), o, path)


def _snapshot_create_as(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    lines = ["<domainsnapshot>\n"]
    name, desc = _opt(a, "name"), _opt(a, "description")
    if name is not None:
        lines.append(f"  <name>{escape_text(name)}</name>\n")
    if desc is not None:
        lines.append(f"  <description>{escape_text(desc)}</description>\n")
    memspec = _opt(a, "memspec")
    if memspec is not None:
        lines.append(_memspec(memspec))
    diskspecs = _opt(a, "diskspec")
    if diskspecs:
        lines += ["  <disks>\n", *(_diskspec(d) for d in diskspecs), "  </disks>\n"]
    lines.append("</domainsnapshot>\n")
    xml = "".join(lines)
    if _opt(a, "print-xml"):
        o.print(xml + "\n")
        return
    _create(dom, xml, _flags(a, {k: v for k, v in _CREATE.items() if k not in ("redefine", "current")}), o)


def _esc(value: str) -> str:
    """virBufferEscapeString's escaping (also applied where virsh prints a value raw: no XML injection)."""
    return escape_text(value)


def _split_commas(text: str) -> list[str]:
    """vshStringToArray: split at ',' where ',,' stands for a literal comma."""
    parts = text.split(",")
    out, glue = [parts[0]], False
    for part in parts[1:]:
        if glue:
            out[-1] += "," + part
            glue = False
        elif part == "":
            glue = True
        else:
            out.append(part)
    if glue:
        out.append("")
    return out


def _memspec(text: str) -> str:
    """virshParseSnapshotMemspec: ``[file=]name[,snapshot=type]`` -> ``<memory .../>``."""
    snapshot: Optional[str] = None
    file: Optional[str] = None
    for word in _split_commas(text):
        if snapshot is None and word.startswith("snapshot="):
            snapshot = word[len("snapshot="):]
        elif file is None and word.startswith("file="):
            file = word[len("file="):]
        elif file is None and word.startswith("/"):
            file = word
        else:
            raise _FailError(f"unable to parse memspec: {text}")
    attrs = "".join(f" {k}='{_esc(v)}'" for k, v in (("snapshot", snapshot), ("file", file)) if v is not None)
    return f"  <memory{attrs}/>\n"


def _diskspec(text: str) -> str:
    """virshParseSnapshotDiskspec: ``disk[,snapshot=type][,driver=type][,stype=type][,file=name]``."""
    words = _split_commas(text)
    keys = ("snapshot", "driver", "stype", "file")
    got: dict[str, str] = {}
    for word in words[1:]:
        key = next((k for k in keys if k not in got and word.startswith(k + "=")), None)
        if key is None:
            raise _FailError(f"unable to parse diskspec: {text}")
        got[key] = word[len(key) + 1:]
    stype = got.get("stype")
    if stype is not None and stype not in ("file", "block"):
        raise _FailError(f"Unknown storage type: '{stype}'", f"unable to parse diskspec: {text}")
    head = f"    <disk name='{_esc(words[0])}'"
    head += "".join(f" {k}='{_esc(got[k])}'" for k in ("snapshot",) if k in got)
    head += f" type='{stype}'" if stype else ""
    inner = []
    if "driver" in got:
        inner.append(f"      <driver type='{_esc(got['driver'])}'/>\n")
    if "file" in got:
        inner.append(f"      <source {'dev' if stype == 'block' else 'file'}='{_esc(got['file'])}'/>\n")
    if not inner:
        return head + "/>\n"
    return head + ">\n" + "".join(inner) + "    </disk>\n"


def _info(snap: Any) -> tuple[str, Optional[str], int, str]:
    """(state, parent, creationTime, location) from the snapshot XML, as virsh reads them."""
    root = etree.fromstring(snap.getXMLDesc(0).encode())
    state = root.findtext("state") or ""
    parent = root.findtext("parent/name")
    ctime = int(root.findtext("creationTime") or 0)
    if root.find("memory") is not None:
        external = (root.find("memory[@snapshot='external']") is not None
                    or root.find("disks/disk[@snapshot='external']") is not None)
    else:
        external = state == "disk-snapshot"
    return state, parent, ctime, "external" if external else "internal"


def _snapshot_info(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    snap = _lookup_snapshot(dom, a)
    state, parent, _, where = _info(snap)
    rows = [("Name:", snap.getName()), ("Domain:", dom.name()), ("Current:", "yes" if snap.isCurrent() else "no"),
            ("State:", state), ("Location:", where), ("Parent:", parent or "-"),
            ("Children:", str(snap.numChildren(0))), ("Descendants:", str(snap.numChildren(_LIST_DESCENDANTS))),
            ("Metadata:", "yes" if snap.hasMetadata(0) else "no")]
    o.print("".join(f"{k:<15} {v}\n" for k, v in rows))


def _snapshot_dumpxml(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    snap = _call(dom.snapshotLookupByName, _opt(a, "snapshotname"), 0)
    o.print(_call(snap.getXMLDesc, _XML_SECURE if _opt(a, "security-info") else 0))


def _snapshot_current(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    if not _call(dom.hasCurrentSnapshot, 0):
        raise _FailError(f"domain '{dom.name()}' has no current snapshot")
    snap = _call(dom.snapshotCurrent, 0)
    if _opt(a, "name"):
        o.print(snap.getName())
    else:
        o.print(_call(snap.getXMLDesc, _XML_SECURE if _opt(a, "security-info") else 0))


def _snapshot_parent(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    snap = _lookup_snapshot(dom, a)
    parent = _info(snap)[1]
    if not parent:
        raise _FailError(f"snapshot '{snap.getName()}' has no parent")
    o.print(parent)


def _tree(names: list[str], parents: dict[str, Optional[str]]) -> str:
    """vshTreePrint over ``names`` (sorted), roots first."""
    out: list[str] = []

    def walk(dev: str, last: Optional[str], root: bool, indent: str) -> None:
        out.append(f"{indent}{'' if root else '+- '}{dev}\n")
        if not root:
            indent += (" " if dev == last else "|") + " "
        kids = [n for n in names if parents.get(n) == dev]
        if kids:
            out.append(f"{indent}  |\n")
        for k in kids:
            walk(k, kids[-1], False, indent + "  ")
        if not kids and dev == last:
            out.append(f"{indent}\n")

    for n in names:
        if not parents.get(n) or parents[n] not in names:
            walk(n, n, True, "")
    return "".join(out)


def _snapshot_list(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    flags = _flags(a, _LIST)
    tree, parent_col, names_only = _opt(a, "tree"), _opt(a, "parent"), _opt(a, "name")
    if tree and (parent_col or flags & _LIST["roots"]):
        raise _FailError("--tree and --parent or --roots are mutually exclusive")
    if _opt(a, "from") or _opt(a, "current"):
        start = _lookup_snapshot(dom, a, "from")
        cflags = flags | (_LIST_DESCENDANTS if _opt(a, "descendants") or tree else 0)
        snaps = _call(start.listAllChildren, cflags)
        if tree:
            snaps = [start, *snaps]
    else:
        snaps = _call(dom.listAllSnapshots, flags)
    if not flags & _LIST["topological"]:
        snaps.sort(key=lambda s: s.getName().lower())
    if names_only:
        o.print("".join(f"{s.getName()}\n" for s in snaps))
        return
    info = {s.getName(): _info(s) for s in snaps}
    if tree:
        o.print(_tree([s.getName() for s in snaps], {n: i[1] for n, i in info.items()}))
        return
    from .cli_table import format_table
    header = ["Name", "Creation Time", "State"] + (["Parent"] if parent_col else [])
    rows = []
    for s in snaps:
        state, parent, ctime, _ = info[s.getName()]
        when = datetime.datetime.fromtimestamp(ctime).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
        rows.append([s.getName(), when, state] + ([parent or ""] if parent_col else []))
    o.print(format_table(None if o.quiet else header, rows))


def _snapshot_revert(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    snap = _lookup_snapshot(dom, a)
    flags = _flags(a, _REVERT)
    try:
        dom.revertToSnapshot(snap, flags)
    except Exception as exc:
        if not _is_libvirt_error(exc):
            raise
        if not (_opt(a, "force") and exc.get_error_code() == _ERR_SNAPSHOT_REVERT_RISKY):  # type: ignore[attr-defined]
            raise _FailError(f"Failed to revert snapshot {snap.getName()}", _message(exc)) from None
        _call(dom.revertToSnapshot, snap, flags | _REVERT_FORCE, fail=f"Failed to revert snapshot {snap.getName()}")
    o.extra(f"Domain snapshot {snap.getName()} reverted\n")


def _snapshot_delete(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    snap = _lookup_snapshot(dom, a)
    flags = _flags(a, _DELETE)
    name = snap.getName()
    _call(snap.delete, flags, fail=f"Failed to delete snapshot {name}")
    o.extra(f"Domain snapshot {name} children deleted\n" if flags & _DELETE["children-only"]
            else f"Domain snapshot {name} deleted\n")


# ------------------------------------------------------------------------ specs
Opt = tuple[str, str, str, bool, bool]
Spec = tuple[Callable[..., int], str, str, tuple[Opt, ...]]
_DOM: Opt = ("domain", "string", "domain name, id or uuid", True, True)
_SNAP: Opt = ("snapshotname", "string", "snapshot name", True, False)
_CUR: Opt = ("current", "bool", "also the current snapshot", False, False)


def _bools(*names: str) -> tuple[Opt, ...]:
    return tuple((n, "bool", n.replace("-", " "), False, False) for n in names)


def _spec(body: Callable[[Any, Any, _Out], None], summary: str, opts: tuple[Opt, ...]) -> Spec:
    return (_handler(body), summary, summary[:1].upper() + summary[1:] + ".", opts)


_CREATE_BOOLS = ("no-metadata", "halt", "disk-only", "reuse-external", "quiesce", "atomic", "live", "validate")
SPECS: dict[str, Spec] = {
    "snapshot-create": _spec(_snapshot_create, "Create a snapshot from XML", (
        _DOM, ("xmlfile", "string", "domain snapshot XML", True, False),
        *_bools("redefine", "current", *_CREATE_BOOLS))),
    "snapshot-create-as": _spec(_snapshot_create_as, "Create a snapshot from a set of args", (
        _DOM, ("name", "string", "name of snapshot", True, False),
        ("description", "string", "description of snapshot", True, False),
        *_bools("print-xml", *_CREATE_BOOLS),
        ("memspec", "string", "memory attributes: [file=]name[,snapshot=type]", False, False),
        ("diskspec", "argv", "disk attributes: disk[,snapshot=type][,driver=type][,stype=type][,file=name]",
         True, False))),
    "snapshot-list": _spec(_snapshot_list, "List snapshots for a domain", (
        _DOM, *_bools("parent", "roots", "leaves", "no-leaves", "metadata", "no-metadata", "inactive", "active",
                      "disk-only", "internal", "external", "tree"),
        ("from", "string", "limit list to children of given snapshot", False, False),
        *_bools("current", "descendants", "name", "topological"))),
    "snapshot-info": _spec(_snapshot_info, "snapshot information", (_DOM, _SNAP, _CUR)),
    "snapshot-dumpxml": _spec(_snapshot_dumpxml, "Dump XML for a domain snapshot", (
        _DOM, ("snapshotname", "string", "snapshot name", True, True), *_bools("security-info"))),
    "snapshot-current": _spec(_snapshot_current, "Get or set the current snapshot", (
        _DOM, *_bools("name", "security-info"))),
    "snapshot-parent": _spec(_snapshot_parent, "Get the name of the parent of a snapshot", (_DOM, _SNAP, _CUR)),
    "snapshot-revert": _spec(_snapshot_revert, "Revert a domain to a snapshot", (
        _DOM, _SNAP, _CUR, *_bools("running", "paused", "force", "reset-nvram"))),
    "snapshot-delete": _spec(_snapshot_delete, "Delete a domain snapshot", (
        _DOM, _SNAP, _CUR, *_bools("children", "children-only", "metadata"))),
}

HANDLERS: dict[str, Callable[..., int]] = {name: spec[0] for name, spec in SPECS.items()}
READ_ONLY = frozenset({"snapshot-list", "snapshot-info", "snapshot-dumpxml", "snapshot-current", "snapshot-parent"})


def cli_commands() -> tuple[Any, ...]:
    """The commands as ``guiapp.backend.cli.Command`` entries (group 'snapshot'), for ``cli.all_commands``."""
    from .cli_command import commands_from_specs

    return commands_from_specs(SPECS, "snapshot", read_only=READ_ONLY)



__all__ = ["SPECS", "HANDLERS", "cli_commands", "lookup_domain"]
