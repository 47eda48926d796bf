"""What a ``guiapp-virsh`` command is: its options (:class:`Opt`), its entry (:class:`Command`), the
:class:`Session` a handler runs in, the errors a handler raises, and virsh's value parsers (scaled integers,
counts, XML files) that command modules share.

No ``dataclasses`` here (NamedTuples and a plain class): importing it costs command-line start-up (bench/cli.py).
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any, Callable, NamedTuple, Optional, TextIO

# virsh's limit on XML files it reads (VSH_MAX_XML_FILE).
MAX_XML_FILE = 10 * 1024 * 1024

_ULONG_MAX = 2**64 - 1

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
class Opt(NamedTuple):
    """One option of a command; ``positional`` ones may also be given without ``--name``."""

    name: str
    kind: str  # "bool", "string", "number" or "argv" (positional: all remaining words, a list)
    help: str
    positional: bool = False
    required: bool = False
    req_opt: bool = False  # virsh's VSH_OFLAG_REQ_OPT: reported missing as "--name" rather than "<name>"



class Command(NamedTuple):
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



def dom_opt(help_text: str = "domain name, id or uuid") -> Opt:
    return Opt("domain", "string", help_text, positional=True, required=True)



def file_opt(help_text: str) -> Opt:
    return Opt("file", "string", help_text, positional=True, required=True)



AFFECT_OPTS = (Opt("config", "bool", "affect next boot"), Opt("live", "bool", "affect running domain"),
               Opt("current", "bool", "affect current domain"))


# --------------------------------------------------------------------------- value parsers
INT_RE = re.compile(r"\s*[+-]?[0-9]+")
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
class Session:
    """One invocation: the libvirt module, connection settings, lazily opened connection, streams."""

    def __init__(self, lib: ModuleType, uri: Optional[str], readonly: bool, quiet: bool, out: TextIO, err: TextIO,
                 conn: Any = None, commands: Optional[dict[str, Command]] = None) -> None:
        self.lib = lib
        self.uri = uri
        self.readonly = readonly
        self.quiet = quiet
        self.out = out
        self.err = err
        self.conn = conn
        self.commands: dict[str, Command] = {} if commands is None else commands


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
        if by & BY_ID and INT_RE.fullmatch(name) and 0 <= int(name) < 2**31:
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


