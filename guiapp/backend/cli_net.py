"""guiapp-virsh's virtual network commands, laid out like virsh 9.0's.

``net-list``, ``net-dumpxml``, ``net-define``, ``net-start``, ``net-destroy``,
``net-undefine``, ``net-autostart``, ``net-dhcp-leases``.  Each handler is
``handler(conn, args, *, out=sys.stdout, err=sys.stderr, quiet=False) -> int``:
``conn`` is a libvirt-python compatible connection (guiapp's or the real one),
``args`` an ``argparse.Namespace`` or a dict with the option names as keys;
the handler prints virsh's output (``-q`` drops the informational lines),
``error: ...`` lines on failure, and returns the exit status (0 or 1).  Like
the rest of guiapp-virsh, the caller prints the blank line virsh ends every
command with.

Two ways to wire them in:

* ``register(subparsers)`` adds argparse sub-commands whose defaults carry
  ``net_handler`` (call ``ns.net_handler(conn, ns)``);
* :func:`cli_commands` builds ``guiapp.backend.cli.Command`` entries for
  ``cli.COMMANDS`` (imported lazily, so ``cli`` may import this module).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, Optional, TextIO

from .cli_command import CommandError, read_xml_file
from .cli_table import format_table

# VIR_* values used here (the same in libvirt-python and guiapp.backend).
_LIST_INACTIVE, _LIST_ACTIVE = 1, 2
_LIST_PERSISTENT, _LIST_TRANSIENT = 4, 8
_LIST_AUTOSTART, _LIST_NO_AUTOSTART = 16, 32
_XML_INACTIVE = 1
_IPV4 = 0


class _FailError(Exception):
    """A failed command: each line is printed as ``error: <line>``."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0] if lines else "")
        self.lines = [ln for ln in lines if ln]


def _message(exc: BaseException) -> str:
    getter = getattr(exc, "get_error_message", None)
    msg = getter() if getter is not None else None
    return msg or str(exc) or "unknown error"


def _is_libvirt_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "libvirtError" or hasattr(exc, "get_error_code")


def _call(fn: Callable[..., Any], *args: Any, fail: str = "") -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        if not _is_libvirt_error(exc):
            raise
        raise _FailError(fail, _message(exc)) from None


def _opt(args: Any, name: str) -> Any:
    """Option ``name`` from a dict (virsh spelling) or a Namespace (dashes as underscores)."""
    if isinstance(args, Mapping):
        return args.get(name, args.get(name.replace("-", "_")))
    return getattr(args, name.replace("-", "_"), None)


def lookup_network(conn: Any, name: str) -> Any:
    """virsh's lookup: by UUID when it looks like one, then by name; ``failed to get network`` otherwise."""
    last: Optional[BaseException] = None
    if len(name) == 36 and name.count("-") == 4:
        try:
            return conn.networkLookupByUUIDString(name)
        except Exception as exc:
            if not _is_libvirt_error(exc):
                raise
            last = exc
    try:
        return conn.networkLookupByName(name)
    except Exception as exc:
        if not _is_libvirt_error(exc):
            raise
        last = exc
    raise _FailError(f"failed to get network '{name}'", _message(last))


def _read_file(path: str) -> str:
    """:func:`guiapp.backend.cli_command.read_xml_file` (virsh's limits and messages) failing as this module's
    handlers do."""
    try:
        return read_xml_file(path)
    except CommandError as exc:
        raise _FailError(*exc.lines) from None


class _Out:
    """Where a handler writes."""

    def __init__(self, out: TextIO, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet

    def print(self, text: str) -> None:
        self.out.write(text)

    def extra(self, text: str) -> None:
        if not self.quiet:
            self.out.write(text)


# --------------------------------------------------------------------------- commands
def _list(conn: Any, a: Any, o: _Out) -> None:
    if sum(1 for k in ("table", "name", "uuid") if _opt(a, k)) > 1:
        raise _FailError("Only one argument from --table, --name and --uuid may be specified.")
    flags = 0
    if _opt(a, "all"):
        flags = _LIST_ACTIVE | _LIST_INACTIVE
    elif _opt(a, "inactive"):
        flags = _LIST_INACTIVE
    else:
        flags = _LIST_ACTIVE
    if _opt(a, "persistent"):
        flags |= _LIST_PERSISTENT
    if _opt(a, "transient"):
        flags |= _LIST_TRANSIENT
    if _opt(a, "autostart"):
        flags |= _LIST_AUTOSTART
    if _opt(a, "no-autostart"):
        flags |= _LIST_NO_AUTOSTART
    nets = _call(conn.listAllNetworks, flags, fail="Failed to list networks")
    nets = sorted(nets, key=lambda n: n.name().lower())
    if _opt(a, "name") or _opt(a, "uuid"):
        for n in nets:
            o.print((n.UUIDString() if _opt(a, "uuid") else n.name()) + "\n")
        return
    rows = []
    for n in nets:
        try:
            auto = "yes" if n.autostart() else "no"
        except Exception:
            auto = "-"
        rows.append([n.name(), "active" if n.isActive() else "inactive", auto,
                     "yes" if n.isPersistent() else "no"])
    o.print(format_table(None if o.quiet else ["Name", "State", "Autostart", "Persistent"], rows))


def _dumpxml(conn: Any, a: Any, o: _Out) -> None:
    net = lookup_network(conn, _opt(a, "network"))
    xml = _call(net.XMLDesc, _XML_INACTIVE if _opt(a, "inactive") else 0)
    o.print(xml if xml.endswith("\n") else xml + "\n")


def _define(conn: Any, a: Any, o: _Out) -> None:
    path = _opt(a, "file")
    xml = _read_file(path)
    fail = f"Failed to define network from {path}"
    if _opt(a, "validate"):
        net = _call(conn.networkDefineXMLFlags, xml, 1, fail=fail)
    else:
        net = _call(conn.networkDefineXML, xml, fail=fail)
    o.extra(f"Network {net.name()} defined from {path}\n")


def _start(conn: Any, a: Any, o: _Out) -> None:
    net = lookup_network(conn, _opt(a, "network"))
    name = net.name()
    _call(net.create, fail=f"Failed to start network {name}")
    o.extra(f"Network {name} started\n")


def _destroy(conn: Any, a: Any, o: _Out) -> None:
    net = lookup_network(conn, _opt(a, "network"))
    name = net.name()
    _call(net.destroy, fail=f"Failed to destroy network {name}")
    o.extra(f"Network {name} destroyed\n")


def _undefine(conn: Any, a: Any, o: _Out) -> None:
    net = lookup_network(conn, _opt(a, "network"))
    name = net.name()
    _call(net.undefine, fail=f"Failed to undefine network {name}")
    o.extra(f"Network {name} has been undefined\n")


def _autostart(conn: Any, a: Any, o: _Out) -> None:
    net = lookup_network(conn, _opt(a, "network"))
    name = net.name()
    disable = bool(_opt(a, "disable"))
    _call(net.setAutostart, 0 if disable else 1,
          fail=f"failed to {'unmark' if disable else 'mark'} network {name} as autostarted")
    o.extra(f"Network {name} {'unmarked' if disable else 'marked'} as autostarted\n")


def _leases(conn: Any, a: Any, o: _Out) -> None:
    name = _opt(a, "network")
    net = lookup_network(conn, name)
    rows = _call(net.DHCPLeases, _opt(a, "mac"), 0, fail=f"Failed to get leases info for {name}")
    table = []
    for r in sorted(rows, key=lambda r: (r.get("mac") or "", r.get("ipaddr") or "")):
        expiry = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(r.get("expirytime") or 0)))
        table.append([expiry, r.get("mac") or "-", "ipv4" if r.get("type") == _IPV4 else "ipv6",
                      f"{r.get('ipaddr')}/{r.get('prefix')}", r.get("hostname") or "-", r.get("clientid") or "-"])
    o.print(format_table(None if o.quiet else ["Expiry Time", "MAC address", "Protocol", "IP address", "Hostname",
                                               "Client ID or DUID"], table))


Body = Callable[[Any, Any, _Out], None]


def _handler(body: Body) -> Callable[..., int]:
    def handler(conn: Any, args: Any, *, out: Optional[TextIO] = None, err: Optional[TextIO] = None,
                quiet: bool = False) -> int:
        o = _Out(out if out is not None else sys.stdout, quiet)
        try:
            body(conn, args, o)
        except _FailError as exc:
            e = err if err is not None else sys.stderr
            for line in exc.lines:
                e.write(f"error: {line}\n")
            return 1
        return 0
    handler.__name__ = body.__name__.lstrip("_")
    handler.__doc__ = f"virsh's net-{handler.__name__}: see the module docstring for the calling convention."
    return handler


net_list = _handler(_list)
net_dumpxml = _handler(_dumpxml)
net_define = _handler(_define)
net_start = _handler(_start)
net_destroy = _handler(_destroy)
net_undefine = _handler(_undefine)
net_autostart = _handler(_autostart)
net_dhcp_leases = _handler(_leases)

# name -> (handler, summary, description, options: (name, kind, help, positional, required))
_NET = ("network", "string", "network name or uuid", True, True)
SPECS: dict[str, tuple[Callable[..., int], str, str, tuple[tuple[str, str, str, bool, bool], ...]]] = {
    "net-list": (net_list, "list networks", "Returns list of networks.", (
        ("inactive", "bool", "list inactive networks", False, False),
        ("all", "bool", "list inactive & active networks", False, False),
        ("persistent", "bool", "list persistent networks", False, False),
        ("transient", "bool", "list transient networks", False, False),
        ("autostart", "bool", "list networks with autostart enabled", False, False),
        ("no-autostart", "bool", "list networks with autostart disabled", False, False),
        ("uuid", "bool", "list uuid's only", False, False),
        ("name", "bool", "list network names only", False, False),
        ("table", "bool", "list table (default)", False, False))),
    "net-dumpxml": (net_dumpxml, "network information in XML",
                    "Output the network information as an XML dump to stdout.", (
                        _NET, ("inactive", "bool", "show inactive defined XML", False, False))),
    "net-define": (net_define, "define an inactive persistent virtual network or modify an existing "
                   "persistent one from an XML file", "Define or modify a persistent virtual network.", (
                       ("file", "string", "file containing an XML network description", True, True),
                       ("validate", "bool", "validate the XML against the schema", False, False))),
    "net-start": (net_start, "start a (previously defined) inactive network", "Start a network.", (_NET,)),
    "net-destroy": (net_destroy, "destroy (stop) a network", "Forcefully stop a given network.", (_NET,)),
    "net-undefine": (net_undefine, "undefine a persistent network", "Undefine the configuration for a persistent "
                     "network.", (_NET,)),
    "net-autostart": (net_autostart, "autostart a network", "Configure a network to be automatically started at "
                      "boot.", (_NET, ("disable", "bool", "disable autostarting", False, False))),
    "net-dhcp-leases": (net_dhcp_leases, "print lease info for a given network",
                        "Print lease info for a given network", (
                            ("network", "string", "network name or uuid", True, True),
                            ("mac", "string", "MAC address", False, False))),
}

HANDLERS: dict[str, Callable[..., int]] = {name: spec[0] for name, spec in SPECS.items()}


def register(subparsers: Any) -> None:
    """Add the net-* commands to an argparse sub-parser set; each sets ``net_handler`` in its defaults."""
    for name, (handler, summary, _desc, opts) in SPECS.items():
        p = subparsers.add_parser(name, help=summary, description=summary)
        for oname, kind, help_text, positional, required in opts:
            dest = oname.replace("-", "_")
            if kind == "bool":
                p.add_argument(f"--{oname}", dest=dest, action="store_true", help=help_text)
            elif positional:
                p.add_argument(dest, metavar=oname, nargs=None if required else "?", help=help_text)
            else:
                p.add_argument(f"--{oname}", dest=dest, help=help_text)
        p.set_defaults(net_handler=handler, net_command=name)


def cli_commands() -> tuple[Any, ...]:
    """The commands as ``guiapp.backend.cli.Command`` entries (group 'network'), for ``cli.COMMANDS``."""
    from .cli_command import commands_from_specs

    return commands_from_specs(SPECS, "network")



def main(argv: Optional[list[str]] = None) -> int:
    """Standalone entry (``python -m guiapp.backend.cli_net [-c URI] net-list ...``), mainly for trying things."""
    import argparse

    import guiapp.backend as lib

    parser = argparse.ArgumentParser(prog="guiapp-virsh")
    parser.add_argument("-c", "--connect", dest="uri")
    parser.add_argument("-q", "--quiet", action="store_true")
    register(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args(argv)
    lib.registerErrorHandler(lambda ctx, e: None, None)
    try:  # a read-only command opens read-only
        conn = (lib.openReadOnly if ns.command in ("net-list", "net-dumpxml", "net-dhcp-leases") else lib.open)(ns.uri)
    except lib.libvirtError as exc:
        sys.stderr.write(f"error: failed to connect to the hypervisor\nerror: {_message(exc)}\n")
        return 1
    try:
        rc = ns.net_handler(conn, ns, quiet=ns.quiet)
        if not ns.quiet:
            sys.stdout.write("\n")
        return rc
    except Exception as exc:  # a bug: an error line, never a traceback
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n")
        return 1
    finally:
        conn.close()


__all__ = ["register", "cli_commands", "HANDLERS", "SPECS", "lookup_network", "format_table", "net_list",
           "net_dumpxml", "net_define", "net_start", "net_destroy", "net_undefine", "net_autostart",
           "net_dhcp_leases"]


if __name__ == "__main__":
    sys.exit(main())
