"""``guiapp-virsh``'s full command-line parser: argparse with one subparser (built only for the command named,
start-up time), virsh's messages for bad lines, and the merge of ``--name value`` and positional forms.

Imported only for the lines :func:`guiapp.backend.cli_parse.quick_line` leaves to it (help, errors, rare forms).
"""

from __future__ import annotations

import argparse
import re
from typing import Any, NoReturn, Optional

from .cli_command import Command, UsageError
from .cli_parse import Line, check_global_options, command_word, looks_like_option


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
            while loose and not looks_like_option(loose[0]):
                words.append(loose.pop(0))
            values[o.name] = words or None
        elif o.positional and values[o.name] is None and loose and not looks_like_option(loose[0]):
            values[o.name] = loose.pop(0)
    if loose:
        word = loose[0]
        if looks_like_option(word):
            raise UsageError(f"command '{cmd.name}' doesn't support option {word.split('=', 1)[0]}")
        raise UsageError(f"unexpected data '{word}'")
    for o in cmd.opts:
        if o.required and values[o.name] is None:
            raise UsageError(f"command '{cmd.name}' requires --{o.name} option" if o.req_opt
                             else f"command '{cmd.name}' requires <{o.name}> option")
    return values


def argparse_line(argv: list[str], commands: dict[str, Command]) -> Line:
    """Parse ``argv`` with argparse; a bad line raises :class:`UsageError` with virsh's message."""
    check_global_options(argv)
    ns, extras = build_parser(commands, command_word(argv, commands)).parse_known_args(argv)
    if ns.show_help:
        return Line(ns.uri, ns.readonly, ns.quiet, None, {}, show="usage")
    if ns.show_version:
        return Line(ns.uri, ns.readonly, ns.quiet, None, {}, show="version")
    if ns.command is None:
        raise UsageError("no command given; run 'guiapp-virsh help' for the list of commands")
    cmd: Command = ns._cmd
    if ns._help:
        return Line(ns.uri, ns.readonly, ns.quiet, cmd, {}, show="command-help")
    return Line(ns.uri, ns.readonly, ns.quiet, cmd, command_args(cmd, ns, extras))
