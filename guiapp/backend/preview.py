"""What a driver would run for a definition, without a connection: the QEMU command line or the xl.cfg.

The wizard shows this where the connection itself cannot say (the test driver, like libvirt's, answers
``domainXMLToNative`` with VIR_ERR_NO_SUPPORT, yet emulates QEMU and Xen kinds). Runtime paths are shown
as placeholders; nothing is started, opened or written. Views call this public function, never a driver module.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Optional

from .errors import DriverError

if TYPE_CHECKING:
    from .xml.domain import DomainDef

_PLACEHOLDER = "$XDG_RUNTIME_DIR/guiapp/qemu/"


def format_argv(argv: Sequence[str]) -> str:
    """One option per line, shell-quoted, ready to paste."""
    out: list[str] = []
    for arg in argv:
        if arg.startswith("-") and out:
            out.append(" \\\n  ")
        elif out:
            out.append(" ")
        out.append(shlex.quote(arg))
    return "".join(out) + "\n"


def native_title(defn: DomainDef) -> Optional[str]:
    """The name of what :func:`native_text` shows for ``defn`` (None: its type has no native form here)."""
    if defn.type in ("qemu", "kvm"):
        return "QEMU command line"
    if defn.type == "xen":
        return "xl.cfg"
    return None


def native_text(defn: DomainDef, bridges: Optional[Mapping[str, str]] = None) -> str:
    """What the QEMU or Xen driver would run for ``defn``; a comment saying why when it could not run.

    ``bridges`` maps the connection's networks to their bridges: a Xen vif on a network joins that bridge."""
    try:
        if defn.type in ("qemu", "kvm"):
            from .drivers.qemu.command import RunPaths, build_command

            p = _PLACEHOLDER + defn.name
            paths = RunPaths(qmp=p + ".qmp", qmp_cmd=p + ".cmd.qmp", pidfile=p + ".pid",
                             console_log=p + ".console.log", vnc_socket=p + ".vnc")
            cmd = build_command(defn.copy(), paths, kvm_usable=True, check_files=False)
            return format_argv(cmd.argv)
        if defn.type == "xen":
            from .drivers.xen.xlcfg import domain_to_xl

            return domain_to_xl(defn.copy(), bridges if bridges is not None else {})
    except DriverError as exc:
        return f"# This definition cannot run as it is:\n# {exc}\n"
    except ImportError as exc:
        return f"# The driver for '{defn.type}' is not part of this build ({exc})\n"
    return ""


__all__ = ["format_argv", "native_text", "native_title"]
