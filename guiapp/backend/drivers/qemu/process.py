"""Starting, watching and stopping daemonized QEMU processes (which outlive the process that started them)."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from .state import process_alive, process_start_time

E = C.VIR_FROM_QEMU


def spawn(argv: Sequence[str], pidfile: Path, pass_fds: Sequence[int] = (), timeout: float = 60.0) -> int:
    """Run QEMU with ``-daemonize``: returns the daemon's pid once QEMU finished initializing.

    QEMU's parent process exits only after the guest is set up (or with an error
    on stderr), so failures such as a bad kernel path are reported here.  The
    daemon gets a new session and /dev/null for stdio: it never holds our
    terminal or pipes and never dies with us.
    """
    try:
        proc = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, pass_fds=tuple(pass_fds), start_new_session=True,
                              timeout=timeout, close_fds=True)
    except FileNotFoundError:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"cannot run QEMU: {argv[0]} not found", E) from None
    except subprocess.TimeoutExpired:
        raise DriverError(C.VIR_ERR_OPERATION_TIMEOUT, f"QEMU did not finish starting within {timeout:g} s", E) \
            from None
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        msg = "; ".join(lines[-3:]) or f"exit status {proc.returncode}"
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"QEMU failed to start: {msg}", E)
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"QEMU started but wrote no pid to {pidfile}", E) from None


def pidfd_open(pid: int) -> Optional[int]:
    """A pidfd (readable once ``pid`` exits), or None when the process is already gone."""
    try:
        return os.pidfd_open(pid)
    except (ProcessLookupError, OSError):
        return None


def wait_exit(pid: int, start_time: Optional[int], timeout: float) -> bool:
    """Wait until ``pid`` is gone (zombie counts as gone); True if it went within ``timeout``."""
    fd = pidfd_open(pid)
    deadline = time.monotonic() + timeout
    try:
        while process_alive(pid, start_time):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if fd is not None:
                select.select([fd], [], [], min(left, 0.05))
            else:
                time.sleep(min(left, 0.01))
        return True
    finally:
        if fd is not None:
            os.close(fd)


def terminate(pid: int, start_time: Optional[int], grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL if it has not gone after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if not process_alive(pid, start_time):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_exit(pid, start_time, wait):
            return


def vcpu_cpu_time_ns(pid: int, tids: Sequence[int]) -> int:
    """CPU time (user + system) of the vCPU threads, in ns; the whole process when tids are unknown."""
    tick = os.sysconf("SC_CLK_TCK")
    paths = [f"/proc/{pid}/task/{t}/stat" for t in tids] if tids else [f"/proc/{pid}/stat"]
    total = 0
    for p in paths:
        try:
            with open(p, "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total * 1_000_000_000 // tick


__all__ = ["spawn", "pidfd_open", "wait_exit", "terminate", "vcpu_cpu_time_ns", "process_start_time"]
