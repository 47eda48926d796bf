"""guiapp-virsh's two command-line readers agree: every line the quick reader (no argparse, start-up time)
accepts, argparse accepts with the same global options, command and option values.

``quick_line`` returns None for anything it does not read itself; argparse then decides (and reports virsh's
errors, checked against real virsh in test_cli.py).  Here random lines built from each command's own option
names, values, stray dashes and global options are read both ways.
"""

from __future__ import annotations

from typing import Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guiapp.backend import cli
from guiapp.backend.cli_argparse import argparse_line
from guiapp.backend.cli_command import UsageError
from guiapp.backend.cli_parse import Line, quick_line

TABLE = cli.command_table()

#: commands with every kind of option: bools only, positionals, numbers, strings, aliases, argv options
COMMANDS = ("list", "dominfo", "domstate", "dumpxml", "xmldump", "setmem", "setvcpus", "shutdown", "start", "save",
            "help", "net-list", "net-dhcp-leases", "vol-create-as", "snapshot-create-as", "attach-disk", "desc",
            "change-media", "define")
GLOBAL_WORDS = ("-c", "--connect", "test:///default", "-r", "-q", "--readonly", "--quiet", "-h", "-v", "--help",
                "-cfoo", "--connect=x", "-x", "list")
VALUES = ("test", "512", "1", "0", "-5", "", "--", "-", "--help", "--mode=acpi", "a=b", "--bogus", "-x", "-c",
          "vda", "/tmp/x.xml", "help")


def _argparse(argv: list[str]) -> Optional[Line]:
    try:
        return argparse_line(argv, TABLE)
    except UsageError:
        return None


@st.composite
def lines(draw: st.DrawFn) -> list[str]:
    """Mostly well-formed lines (so that many take the quick path), some with a stray word put in."""
    head: list[str] = []
    for unit in draw(st.lists(st.sampled_from(["-c", "--connect", "-r", "-q", "--readonly", "--quiet"]), max_size=3,
                              unique=True)):
        head += [unit, draw(st.sampled_from(("test:///default", "x")))] if unit in ("-c", "--connect") else [unit]
    name = draw(st.sampled_from(COMMANDS))
    opts = TABLE[name].opts
    units = [[f"--{o.name}"] if o.kind == "bool" else [f"--{o.name}", draw(st.sampled_from(VALUES[:4]))]
             for o in opts if not o.positional and draw(st.booleans())]
    words: list[str] = []
    for o in opts:
        if o.positional and (o.required or draw(st.booleans())):
            word = draw(st.sampled_from(("test", "512", "vda", "", "a=b")))
            if draw(st.integers(0, 3)) == 0:  # a positional given as ``--name value``
                units.append([f"--{o.name}", word])
            else:
                words.append(word)
    order = draw(st.permutations(range(len(units) + len(words))))
    pieces = iter(units)
    spots = set(order[:len(units)])
    it_words = iter(words)
    tail = [w for k in range(len(units) + len(words)) for w in (next(pieces) if k in spots else [next(it_words)])]
    if draw(st.booleans()):  # a stray word: an option of the command again, a dash, a global option...
        stray = draw(st.sampled_from(list(VALUES) + list(GLOBAL_WORDS) + [f"--{o.name}" for o in opts]))
        tail.insert(draw(st.integers(0, len(tail))), stray)
    if draw(st.integers(0, 9)) == 0:
        head.insert(draw(st.integers(0, len(head))), draw(st.sampled_from(GLOBAL_WORDS)))
    return [*head, name, *tail]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines())
def test_a_line_the_quick_reader_takes_reads_the_same_with_argparse(argv: list[str]) -> None:
    quick = quick_line(argv, TABLE)
    if quick is not None:
        assert _argparse(argv) == quick, argv


@pytest.mark.parametrize("argv", [
    ["-c", "test:///default", "list", "--all"],
    ["list"],
    ["-r", "-q", "--connect", "test:///default", "domstate", "test", "--reason"],
    ["dominfo", "test"],
    ["setmem", "test", "512", "--config"],
    ["setmem", "--live", "test", "--config", "1G"],
    ["setvcpus", "test", "2", "--live"],
    ["shutdown", "test", "--mode", "acpi"],
    ["xmldump", "test", "--inactive"],
    ["help", "list"],
    ["help"],
    ["net-list", "--all"],
    ["save", "test", "/tmp/x", "--running"],
    ["dumpxml", "", "--inactive"],
])
def test_the_common_lines_need_no_argparse(argv: list[str]) -> None:
    quick = quick_line(argv, TABLE)
    assert quick is not None and quick.cmd is not None
    assert quick == _argparse(argv)


@pytest.mark.parametrize("argv", [
    ["list", "--all", "--all"],            # a repeated option: argparse says "already seen"
    ["list", "--bogus"],                   # not an option of the command
    ["dominfo"],                           # a required word missing
    ["dominfo", "a", "b"],                 # a word too many
    ["dominfo", "--domain", "test"],       # a positional given as an option (argparse merges the forms)
    ["setvcpus", "test", "--count", "2"],
    ["shutdown", "test", "--mode"],        # an option without its value
    ["shutdown", "test", "--mode=acpi"],   # the = form
    ["list", "--help"],
    ["-h"], ["-v"], ["-cfoo", "list"], ["-c", "x", "-c", "y", "list"], [], ["-r"],
    ["bogus-command"],
    ["desc", "test", "a", "title"],         # an argv option
    ["setmem", "test", "-5"],
])
def test_other_lines_are_left_to_argparse(argv: list[str]) -> None:
    assert quick_line(argv, TABLE) is None
