"""guiapp-virsh: a virsh-style command line over ``guiapp.backend``, laid out like virsh 9.0.

``guiapp-virsh [-c URI] [-r] [-q] COMMAND [ARGS]``.  Commands, options, messages and
exit status follow virsh: output on stdout followed by one blank line per command,
``error: ...`` lines on stderr and status 1 on failure.  :func:`run` takes the
libvirt-compatible module to use, so the same front-end also runs over Debian's
libvirt-python (which is how its layout is checked against the real virsh).

This module holds the command table and the entry points (:func:`run`, :func:`main`); the parts live in
``cli_command`` (what a command is, the session, shared value parsers), ``cli_parse`` (argv, common forms),
``cli_argparse`` (argv, all of it: help, errors; imported only then), ``cli_domain`` /
``cli_host`` / ``cli_help`` (the core commands) and ``cli_<area>`` (the other groups, imported only when a
command of theirs, or ``help``, is run: start-up time, see bench/cli.py).
"""

from __future__ import annotations

import functools
import os
import sys
from types import ModuleType
from typing import Any, Optional, TextIO

from . import cli_domain, cli_help, cli_host
from .cli_command import (  # noqa: F401 - re-exported: callers and tests use cli.<name>
    Command,
    CommandError,
    Opt,
    Session,
    UsageError,
    commands_from_specs,
    parse_count,
    parse_scaled,
)
from .cli_help import command_help
from .cli_host import format_version
from .cli_parse import USAGE, command_word, quick_line
from .cli_table import format_table  # noqa: F401 - re-exported

#: The core commands (domain, host, help): a command line naming one of them imports no other command module.
COMMANDS: tuple[Command, ...] = cli_domain.COMMANDS + cli_host.COMMANDS + cli_help.COMMANDS


#: Commands that only read: they open a read-only connection (opening never changes the host, and a
#: read-only command cannot change it by accident either).
READ_ONLY_COMMANDS = frozenset({"list", "dominfo", "domstate", "dumpxml", "capabilities", "nodeinfo", "uri",
                                "version", "domid", "domname", "domuuid", "net-list", "net-dumpxml",
                                "net-dhcp-leases"})


def _marked(commands: tuple[Command, ...]) -> tuple[Command, ...]:
    return tuple(c._replace(reads_only=c.reads_only or c.name in READ_ONLY_COMMANDS) for c in commands)


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


# --------------------------------------------------------------------------- entry points
def run(argv: list[str], lib: ModuleType, out: TextIO, err: TextIO, conn: Any = None) -> int:
    """Run one command line over the libvirt-compatible module ``lib``; returns the exit status.

    ``conn``: an open connection to use (and leave open) instead of opening ``-c URI``,
    so that several commands can work on the same in-memory state.
    """
    commands = command_table(command_word(argv))
    line = quick_line(argv, commands)
    if line is None:  # help, a bad line or a rare form: argparse decides (imported only now: start-up time)
        from .cli_argparse import argparse_line
        try:
            line = argparse_line(argv, commands)
        except UsageError as exc:
            err.write(f"error: {exc}\n")
            if "no command given" in str(exc):
                err.write(USAGE)
            return 1
    if line.show == "usage":
        out.write(USAGE)
        return 0
    if line.show == "version":
        out.write(format_version(lib.getVersion()) + "\n")
        return 0
    cmd = line.cmd
    assert cmd is not None
    if line.show == "command-help":
        out.write(command_help(cmd))
        return 0
    args = line.args
    uri = line.uri if line.uri is not None else os.environ.get("VIRSH_DEFAULT_CONNECT_URI") or None
    # secrets (dumpxml --security-info) need read-write access; every other read opens read-only
    readonly = line.readonly or (cmd.reads_only and not args.get("security-info"))
    session = Session(lib, uri, readonly, line.quiet, out, err, conn=conn, commands=commands)
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
