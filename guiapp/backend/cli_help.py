"""``guiapp-virsh help``: the grouped command list, one group, or one command in virsh's layout."""

from __future__ import annotations

from typing import Any

from .cli_command import GROUPS, Command, CommandError, Opt, Session


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
#: ``help`` itself.
COMMANDS: tuple[Command, ...] = (
    Command("help", "virsh", "print help", "Prints global help, command specific help, or help for a\n"
            "group of related commands", (Opt("command", "string", "Prints global help, command specific "
                                              "help, or help for a group of related commands", True),),
            cmd_help, needs_conn=False),
)
