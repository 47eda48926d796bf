"""The toolstack sub-driver: every change goes through the ``xl`` command (libxl).

``xl`` is found, in order: the URI parameter ``?xl=PATH``, ``$GUIAPP_XL``, ``xl``
on ``$PATH``, then ``/usr/lib/xen-*/bin/xl`` (newest first; Debian's
``/usr/sbin/xl`` is a wrapper that refuses to run without a hypervisor).
Every run has a timeout; a failure becomes ``DriverError(VIR_ERR_OPERATION_FAILED,
"xl <command> failed: <xl's own message>", VIR_FROM_XEN)``.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from ... import constants as C
from ...errors import DriverError

#: Seconds for quick queries (list, info) and for lifecycle changes (create, save, restore...).
QUERY_TIMEOUT = 15.0
CHANGE_TIMEOUT = 120.0

_NOISE = re.compile(r"^(Parsing config from |WARNING: |Saving to |Loading new save file |Savefile contains )")


def find_xl(explicit: Optional[str] = None) -> Optional[str]:
    """The xl binary to use, or None when there is none on this host."""
    for cand in (explicit, os.environ.get("GUIAPP_XL")):
        if cand:
            return cand  # configured explicitly: used as given (a missing file is reported when run)
    found = shutil.which("xl")
    if found:
        return found
    versions = sorted(glob.glob("/usr/lib/xen-*/bin/xl"), key=_version_key, reverse=True)
    return versions[0] if versions else None


def _version_key(path: str) -> tuple[int, ...]:
    m = re.search(r"xen-([0-9.]+)", path)
    return tuple(int(x) for x in m.group(1).split(".") if x.isdigit()) if m else (0,)


@dataclass(frozen=True)
class XlDomain:
    """One row of ``xl list``: Name ID Mem VCPUs State Time(s)."""

    name: str
    domid: int
    mem_mib: int
    vcpus: int
    state: str  # six letters r b p s c d, '-' where unset
    cpu_time: float  # seconds

    @property
    def libvirt_state(self) -> int:
        """libvirt's state number for the xl state letters."""
        s = self.state
        if "d" in s:
            return C.VIR_DOMAIN_SHUTDOWN
        if "c" in s:
            return C.VIR_DOMAIN_CRASHED
        if "s" in s:
            return C.VIR_DOMAIN_SHUTOFF
        if "p" in s:
            return C.VIR_DOMAIN_PAUSED
        if "b" in s:
            return C.VIR_DOMAIN_BLOCKED
        return C.VIR_DOMAIN_RUNNING


def parse_list(text: str) -> list[XlDomain]:
    """Rows of ``xl list`` output (the header line is skipped; unparsable lines are ignored)."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[0] == "Name" and parts[1] == "ID":
            continue
        # the name may contain spaces: the last five columns are fixed
        name = " ".join(parts[:-5])
        domid, mem, vcpus, state, cpu = parts[-5:]
        try:
            rows.append(XlDomain(name, int(domid), int(mem), int(vcpus), state, float(cpu)))
        except ValueError:
            continue
    return rows


def parse_info(text: str) -> dict[str, str]:
    """``xl info`` ``key : value`` lines as a dict (continuation lines are joined to the previous key)."""
    out: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            last = key.strip()
            out[last] = value.strip()
        elif last and line.strip():
            out[last] += " " + line.strip()
    return out


def _message(stderr: str, stdout: str) -> str:
    """xl's own error text, without its progress chatter."""
    lines = [ln.strip() for ln in (stderr or stdout).splitlines() if ln.strip() and not _NOISE.match(ln.strip())]
    return "; ".join(lines[-4:]) if lines else "no error message"


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill a timed-out xl and whatever it started in its session; never wait long for their pipes."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    try:
        proc.communicate(timeout=2)
    except subprocess.TimeoutExpired:  # a grandchild left its own session holding the pipes
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        proc.wait(2)


class Xl:
    """Runs ``xl`` commands; stateless apart from its path, environment and timeouts."""

    def __init__(self, path: Optional[str], *, query_timeout: float = QUERY_TIMEOUT,
                 change_timeout: float = CHANGE_TIMEOUT, env: Optional[dict[str, str]] = None) -> None:
        self.path = path
        self.query_timeout = query_timeout
        self.change_timeout = change_timeout
        self.env = env
        #: bumped by every command that changes something (cached ``xl list`` output is then stale)
        self.generation = 0

    @property
    def available(self) -> bool:
        return bool(self.path) and os.access(self.path, os.X_OK)  # type: ignore[arg-type]

    def run(self, args: Sequence[str], *, timeout: Optional[float] = None) -> str:
        """Run ``xl args...``; returns stdout, raises a coded DriverError (VIR_FROM_XEN) on failure."""
        if not self.path:
            raise DriverError(C.VIR_ERR_NO_SUPPORT,
                              "the xl toolstack was not found: install xen-utils, or set $GUIAPP_XL or the URI "
                              "parameter ?xl=/path/to/xl", C.VIR_FROM_XEN)
        cmd = [self.path, *args]
        limit = timeout if timeout is not None else self.change_timeout
        changes = args[0] not in ("list", "info", "-N")
        if changes:
            self.generation += 1
        try:
            return self._run(cmd, args, limit)
        finally:
            if changes:
                self.generation += 1

    def _run(self, cmd: list[str], args: Sequence[str], limit: float) -> str:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, errors="replace", env=self.env, close_fds=True,
                                    start_new_session=True)
        except OSError as exc:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"cannot run xl ({self.path}): {exc.strerror or exc}; set $GUIAPP_XL or ?xl=PATH",
                              C.VIR_FROM_XEN) from None
        try:
            out, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise DriverError(C.VIR_ERR_OPERATION_TIMEOUT,
                              f"xl {args[0]} did not finish within {limit:g} s", C.VIR_FROM_XEN) from None
        if proc.returncode != 0:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"xl {args[0]} failed (exit {proc.returncode}): {_message(err, out)}", C.VIR_FROM_XEN)
        return out

    # -- queries ------------------------------------------------------------
    def list(self) -> list[XlDomain]:
        return parse_list(self.run(["list"], timeout=self.query_timeout))

    def info(self) -> dict[str, str]:
        return parse_info(self.run(["info"], timeout=self.query_timeout))

    def dry_run(self, cfg_path: str) -> str:
        """``xl -N create cfg``: parse the config and print libxl's JSON, starting nothing."""
        return self.run(["-N", "create", cfg_path], timeout=self.query_timeout)

    # -- changes ------------------------------------------------------------
    def create(self, cfg_path: str, *, paused: bool = False) -> None:
        self.run(["create", *(["-p"] if paused else []), cfg_path])

    def shutdown(self, dom: int) -> None:
        self.run(["shutdown", str(dom)])

    def reboot(self, dom: int) -> None:
        self.run(["reboot", str(dom)])

    def destroy(self, dom: int) -> None:
        self.run(["destroy", str(dom)])

    def pause(self, dom: int) -> None:
        self.run(["pause", str(dom)])

    def unpause(self, dom: int) -> None:
        self.run(["unpause", str(dom)])

    def save(self, dom: int, path: str) -> None:
        self.run(["save", str(dom), path])

    def restore(self, path: str, *, paused: bool = False) -> None:
        self.run(["restore", *(["-p"] if paused else []), path])

    def mem_set(self, dom: int, kib: int) -> None:
        self.run(["mem-set", str(dom), f"{kib}k"])

    def mem_max(self, dom: int, kib: int) -> None:
        self.run(["mem-max", str(dom), f"{kib}k"])

    def vcpu_set(self, dom: int, n: int) -> None:
        self.run(["vcpu-set", str(dom), str(n)])


__all__ = ["Xl", "XlDomain", "find_xl", "parse_list", "parse_info", "QUERY_TIMEOUT", "CHANGE_TIMEOUT"]
