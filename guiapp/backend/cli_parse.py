"""``guiapp-virsh``'s command line, the common forms without argparse: global options (``-c URI``, ``-r``,
``-q``), the command word, then the command's ``--flag``, ``--name value`` and positional words.

:func:`quick_line` reads those forms and returns None for anything else (``--help``, ``--name=value``, words
starting with ``-`` that are not an option of the command, repeats, missing or extra words, ``argv`` options):
:mod:`guiapp.backend.cli_argparse` then parses the line and reports virsh's errors.  Importing argparse costs
command-line start-up (bench/cli.py); ``tests/backend/test_cli_parse.py`` checks that both read every line the
quick reader accepts the same way.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

from .cli_command import INT_RE, Command, UsageError

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



class Line(NamedTuple):
    """A parsed command line: the global options, the command and its option values (by option name)."""

    uri: Optional[str]
    readonly: bool
    quiet: bool
    cmd: Optional[Command]
    args: dict[str, Any]
    #: what to print instead of running a command: "usage" (-h), "version" (-v), "command-help" (CMD --help)
    show: str = ""


def quick_line(argv: list[str], commands: dict[str, Command]) -> Optional[Line]:
    """``argv`` read without argparse when it has only the common forms, else None (see the module docstring)."""
    uri: Optional[str] = None
    flags = {"readonly": False, "quiet": False}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-c", "--connect"):
            if uri is not None or i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                return None
            uri = argv[i + 1]
            i += 2
            continue
        flag = {"-r": "readonly", "--readonly": "readonly", "-q": "quiet", "--quiet": "quiet"}.get(word)
        if flag is None:
            break
        if flags[flag]:
            return None
        flags[flag] = True
        i += 1
    cmd = commands.get(argv[i]) if i < len(argv) else None
    if cmd is None or any(o.kind == "argv" for o in cmd.opts):
        return None
    by_name = {o.name: o for o in cmd.opts}
    values: dict[str, Any] = {o.name: False if o.kind == "bool" else None for o in cmd.opts}
    given: set[str] = set()
    words: list[str] = []
    i += 1
    while i < len(argv):
        word = argv[i]
        if not word.startswith("-"):
            words.append(word)
            i += 1
            continue
        o = by_name.get(word[2:]) if word.startswith("--") else None
        if o is None or o.positional or o.name in given:
            return None
        given.add(o.name)
        if o.kind == "bool":
            values[o.name] = True
            i += 1
            continue
        if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
            return None
        values[o.name] = argv[i + 1]
        i += 2
    slots = [o for o in cmd.opts if o.positional]
    if len(words) > len(slots):
        return None
    for o, word in zip(slots, words, strict=False):  # fewer words than slots: the rest stay None
        values[o.name] = word
    if any(o.required and values[o.name] is None for o in cmd.opts):
        return None
    return Line(uri, flags["readonly"], flags["quiet"], cmd, values)


_GLOBAL_FLAGS = {"-r", "--readonly", "-q", "--quiet", "-h", "--help", "-v", "--version"}


def _global_words(argv: list[str]) -> tuple[list[str], Optional[str]]:
    """The global option words before the command (a ``-c``/``--connect`` value skipped), and the command word."""
    options: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-c", "--connect"):
            i += 2
            continue
        if not word.startswith("-") or word == "-":
            return options, word
        options.append(word)
        i += 1
    return options, None


def check_global_options(argv: list[str]) -> None:
    """Refuse unknown options before the command the way virsh does (argparse would pass them on)."""
    for word in _global_words(argv)[0]:
        if word not in _GLOBAL_FLAGS and not word.startswith("--connect=") and not (
                word.startswith("-c") and not word.startswith("--")):
            raise UsageError(f"unsupported option '{word}'. See --help.")


def command_word(argv: list[str], commands: Optional[dict[str, Command]] = None) -> Optional[str]:
    """The command named on the line (after the global options) when it is one of ``commands`` (any word
    when ``commands`` is None), else None."""
    word = _global_words(argv)[1]
    return word if word is not None and (commands is None or word in commands) else None


def looks_like_option(word: str) -> bool:
    return word.startswith("-") and not INT_RE.fullmatch(word)


