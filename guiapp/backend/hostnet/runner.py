"""Running host networking commands (``ip``, ``nft``, ``iptables``, ``dnsmasq``), optionally inside a netns.

Everything :mod:`guiapp.backend.hostnet` does to the host goes through a
:class:`Runner`, so tests can point the whole manager at a network namespace
they created (``Runner(netns="guiapp-test-1")`` prefixes every command with
``ip netns exec guiapp-test-1``) and never touch the machine's own interfaces.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any, Optional

from .. import constants as C
from ..errors import DriverError

_FROM = C.VIR_FROM_NETWORK

#: Debian package providing each tool, for "not installed" messages.
PACKAGES = {"ip": "iproute2", "bridge": "iproute2", "dnsmasq": "dnsmasq-base", "nft": "nftables",
            "iptables": "iptables", "sysctl": "procps"}


def which(tool: str) -> Optional[str]:
    """Full path of ``tool`` (also looking in the sbin directories a non-login PATH may miss)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/local/sbin:/usr/sbin:/sbin"
    return shutil.which(tool, path=path)


class Runner:
    """Runs commands on the host or, with ``netns``, inside that network namespace."""

    def __init__(self, netns: Optional[str] = None, prefix: Sequence[str] = ()) -> None:
        self.netns = netns
        if prefix:
            self.prefix = list(prefix)
        elif netns:
            self.prefix = [self.tool("ip"), "netns", "exec", netns]
        else:
            self.prefix = []

    @property
    def netns_path(self) -> Optional[str]:
        """The namespace file to ``setns()`` into (for opening taps), or None for the current namespace."""
        return f"/run/netns/{self.netns}" if self.netns else None

    @staticmethod
    def tool(name: str) -> str:
        path = which(name)
        if path is None:
            pkg = PACKAGES.get(name, name)
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"'{name}' is not installed: install the Debian package {pkg} to use virtual "
                              f"networks", _FROM)
        return path

    def argv(self, args: Sequence[str]) -> list[str]:
        return self.prefix + [self.tool(args[0]), *args[1:]]

    def run(self, *args: str, check: bool = True, input: Optional[str] = None,
            timeout: float = 15.0) -> subprocess.CompletedProcess:
        """Run ``args``; with ``check`` a non-zero exit raises DriverError quoting the command and its stderr."""
        argv = self.argv(args)
        try:
            proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                                  close_fds=True)
        except subprocess.TimeoutExpired:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"'{shlex.join(args)}' did not finish within "
                              f"{timeout:.0f} s", _FROM) from None
        except OSError as exc:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"cannot run '{shlex.join(args)}': {exc.strerror}",
                              _FROM) from None
        if check and proc.returncode != 0:
            msg = (proc.stderr or proc.stdout or "").strip().splitlines()
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"'{shlex.join(args)}' failed (exit {proc.returncode}): "
                              f"{msg[-1] if msg else 'no message'}", _FROM)
        return proc

    def json(self, *args: str) -> Any:
        """Run a command printing JSON (``ip -j ...``) and decode its output ([] when empty)."""
        out = self.run(*args).stdout.strip()
        return json.loads(out) if out else []


__all__ = ["Runner", "which", "PACKAGES"]
