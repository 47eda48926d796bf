"""``guiapp-virsh console``: an interactive text console over ``virDomain.openConsole``, as virsh's.

The terminal is put in raw mode (restored on exit); keys go to the guest, the guest's output to stdout;
``^]`` (Ctrl + ]) ends the session, as does the console closing (guest gone, another session forced in).
Registered from :func:`guiapp.backend.cli.all_commands` by :func:`cli_commands`.
"""

from __future__ import annotations

import os
import select
import sys
import termios
import threading
import tty
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from .cli_command import Command, Session

#: virsh's default escape character, Ctrl + ] (0x1d).
ESCAPE = b"\x1d"


def _out_fd(s: Session) -> Optional[int]:
    try:
        return s.out.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _pump_out(s: Session, st: Any, done: threading.Event) -> None:
    """Guest -> stdout until the stream ends."""
    fd = _out_fd(s)
    try:
        while not done.is_set():
            try:
                data = st.recv(4096)
            except s.libvirtError:
                break
            if not data:
                break
            if fd is not None:
                os.write(fd, data)
            else:
                s.out.write(data.decode(errors="replace"))
                s.out.flush()
    finally:
        done.set()


def _pump_in(st: Any, done: threading.Event, in_fd: int) -> None:
    """stdin -> guest until ^], end of input, or the stream ends."""
    while not done.is_set():
        if not select.select([in_fd], [], [], 0.2)[0]:
            continue
        try:
            data = os.read(in_fd, 1024)
        except OSError:
            return
        if not data:
            return
        head, esc, _ = data.partition(ESCAPE)
        if head:
            try:
                st.send(head)
            except Exception:  # the stream ended meanwhile: the reader thread reports nothing more
                return
        if esc:
            return


def cmd_console(s: Session, a: dict[str, Any]) -> bool:
    try:
        in_fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        raise sys.modules[type(s).__module__].CommandError(
            "console needs standard input to be a terminal, a pipe or a file") from None
    dom = s.domain(a["domain"])
    flags = (s.lib.VIR_DOMAIN_CONSOLE_FORCE if a["force"] else 0) | (s.lib.VIR_DOMAIN_CONSOLE_SAFE if a["safe"] else 0)
    st = s.call(s.conn.newStream, 0)
    name = s.call(dom.name)
    s.call(dom.openConsole, a["devname"], st, flags)
    banner = f"Connected to domain '{name}'\nEscape character is ^] (Ctrl + ])\n"
    saved = None
    if os.isatty(in_fd):  # raw before the banner shows: keys typed once it is seen (^C too) go to the guest
        saved = termios.tcgetattr(in_fd)
        tty.setraw(in_fd, termios.TCSANOW)
        out_fd = _out_fd(s)
        if out_fd is not None and os.isatty(out_fd):
            banner = banner.replace("\n", "\r\n")  # raw mode does no output processing: keep the lines
    done = threading.Event()
    reader = threading.Thread(target=_pump_out, args=(s, st, done), name="console-out", daemon=True)
    try:
        s.extra(banner)
        s.out.flush()
        reader.start()
        _pump_in(st, done, in_fd)
    finally:
        done.set()
        if saved is not None:
            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        try:
            st.finish()
        except s.libvirtError:
            pass
        if reader.ident is not None:
            reader.join(2)
    if reader.is_alive():
        raise sys.modules[type(s).__module__].CommandError("the console did not close")
    return True


def cli_commands() -> list[Command]:
    from .cli_command import Command, Opt, dom_opt
    return [
        Command("console", "domain", "connect to the guest console",
                "Connect the virtual serial console for the guest (^] ends the session)",
                (dom_opt(), Opt("devname", "string", "character device name"),
                 Opt("force", "bool", "force console connection (disconnect already connected sessions)"),
                 Opt("safe", "bool", "only connect if safe console handling is supported")),
                cmd_console),
    ]
