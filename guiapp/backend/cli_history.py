"""guiapp-virsh's config history and clone commands (guiapp extensions; virsh has none of them).

``config-history DOMAIN``, ``config-show DOMAIN VERSION``, ``config-diff DOMAIN V1 [V2]``,
``config-revert DOMAIN VERSION``, ``deleted-list``, ``restore-deleted NAME|UUID [--version V]`` and
``clone DOMAIN --name NEW [--storage copy|linked|share]``.  They need a read-write connection:
versions hold the secure XML.  Handlers follow :mod:`guiapp.backend.cli_net`'s convention.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from .cli_net import _call, _FailError, _handler, _opt, _Out
from .cli_snapshot import lookup_domain
from .cli_table import format_table

Opt = tuple[str, str, str, bool, bool]  # name, kind, help, positional, required
Spec = tuple[Callable[..., int], str, str, tuple[Opt, ...]]

_DOM: Opt = ("domain", "string", "domain name, id or uuid", True, True)


def _when(t: float) -> str:
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _version(a: Any, name: str, default: Any = None) -> Any:
    text = _opt(a, name)
    if text is None:
        if default is None:
            raise _FailError(f"command requires <{name}> option")
        return default
    try:
        value = int(str(text))
    except ValueError:
        raise _FailError(f"version '{text}' is not a number (see config-history)") from None
    if value < 0:
        raise _FailError(f"version '{text}' is not a number (see config-history)")
    return value


def _history(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    rows = _call(dom.guiappConfigVersions)
    o.print(format_table(None if o.quiet else ["Version", "Time", "Operation", "User", "Name"],
                         [[str(v["version"]), _when(v["time"]), v["op"], v["user"], v["name"]] for v in rows]))


def _show(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    xml = _call(dom.guiappConfigVersionXML, _version(a, "version"))
    o.print(xml if xml.endswith("\n") else xml + "\n")


def _diff(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    v1 = _version(a, "version1")
    v2 = _version(a, "version2", default=-1)
    text = _call(dom.guiappConfigDiff, v1, None if v2 == -1 else v2)
    o.print(text)


def _revert(conn: Any, a: Any, o: _Out) -> None:
    dom = lookup_domain(conn, _opt(a, "domain"))
    v = _version(a, "version")
    _call(dom.guiappConfigRevert, v, fail=f"Failed to revert domain '{dom.name()}' to version {v}")
    o.extra(f"Domain '{dom.name()}' reverted to version {v} (kept as a new version)\n\n")


def _deleted(conn: Any, a: Any, o: _Out) -> None:
    rows = _call(conn.guiappDeletedDomains)
    o.print(format_table(None if o.quiet else ["Name", "UUID", "Deleted", "Kept until", "Versions"],
                         [[d["name"], d["uuid"], _when(d["deleted"]), _when(d["expires"]), str(d["versions"])]
                          for d in rows]))


def _restore(conn: Any, a: Any, o: _Out) -> None:
    which = _opt(a, "domain")
    v = _version(a, "version", default=0)
    dom = _call(conn.guiappRestoreDeleted, which, v, fail=f"Failed to restore deleted domain '{which}'")
    o.extra(f"Domain '{dom.name()}' restored from its config history\n\n")


def _clone(conn: Any, a: Any, o: _Out) -> None:
    from .clone import clone

    src = lookup_domain(conn, _opt(a, "domain"))
    name = _opt(a, "name")
    if not name:
        raise _FailError("command 'clone' requires --name option")
    storage = _opt(a, "storage") or "copy"

    def progress(done: int, total: int, what: str) -> None:
        o.extra(f"[{done}/{total}] {what}\n")
    dom = _call(clone, conn, src, name, storage, progress, fail=f"Failed to clone domain '{src.name()}'")
    o.extra(f"Domain '{dom.name()}' cloned from '{src.name()}' (UUID {dom.UUIDString()})\n\n")


def _spec(body: Callable[[Any, Any, _Out], None], summary: str, opts: tuple[Opt, ...]) -> Spec:
    return (_handler(body), summary, summary[:1].upper() + summary[1:] + ".", opts)


SPECS: dict[str, Spec] = {
    "config-history": _spec(_history, "list the kept versions of a domain's definition", (_DOM,)),
    "config-show": _spec(_show, "print one kept version of a domain's definition", (
        _DOM, ("version", "number", "version number (0: the latest)", True, True))),
    "config-diff": _spec(_diff, "compare two versions of a domain's definition", (
        _DOM, ("version1", "number", "older version", True, True),
        ("version2", "number", "newer version (default: the current definition)", True, False))),
    "config-revert": _spec(_revert, "define a kept version again, as a new version", (
        _DOM, ("version", "number", "version number", True, True))),
    "deleted-list": _spec(_deleted, "list undefined domains that can still be restored", ()),
    "restore-deleted": _spec(_restore, "define an undefined domain again from its config history", (
        ("domain", "string", "name or uuid of the deleted domain", True, True),
        ("version", "number", "version to restore (default: the last)", False, False))),
    "clone": _spec(_clone, "clone a domain: new name, UUID and MACs, disks copied, linked or shared", (
        _DOM, ("name", "string", "name of the clone", False, True),
        ("storage", "string", "copy (default), linked (qcow2 on the source) or share", False, False))),
}

HANDLERS: dict[str, Callable[..., int]] = {name: spec[0] for name, spec in SPECS.items()}


def cli_commands() -> tuple[Any, ...]:
    """The commands as ``guiapp.backend.cli.Command`` entries (group 'history'), for ``cli.all_commands``."""
    from .cli_command import commands_from_specs

    return commands_from_specs(SPECS, "history")



def clone_main(argv: Any = None) -> int:
    """``guiapp-clone``: virt-clone's main options over guiapp (``--original``, ``--name``, ``--storage``)."""
    import argparse
    import sys

    from . import libvirtError, registerErrorHandler
    from . import open as open_conn

    p = argparse.ArgumentParser(prog="guiapp-clone", description="Clone a domain: new name, UUID and MACs; disks "
                                "copied (default), linked (qcow2 on the original) or shared.")
    p.add_argument("-c", "--connect", default=None, help="connection URI (default: as guiapp-virsh)")
    p.add_argument("-o", "--original", required=True, help="the domain to clone (name, id or UUID)")
    p.add_argument("-n", "--name", required=True, help="name of the clone")
    p.add_argument("--storage", choices=("copy", "linked", "share"), default="copy")
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)
    registerErrorHandler(lambda ctx, err: None, None)  # errors are printed as error: lines below
    try:
        conn = open_conn(a.connect)
    except libvirtError as exc:
        sys.stderr.write(f"error: failed to connect to the hypervisor\nerror: {exc.get_error_message()}\n")
        return 1
    try:
        return HANDLERS["clone"](conn, {"domain": a.original, "name": a.name, "storage": a.storage}, quiet=a.quiet)
    finally:
        conn.close()


__all__ = ["SPECS", "HANDLERS", "cli_commands", "clone_main"]
