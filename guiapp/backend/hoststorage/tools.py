"""Running storage tools (``qemu-img``, LVM) with coded errors that say what went wrong."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from collections.abc import Sequence
from typing import Optional

from .. import constants as C
from ..errors import DriverError
from ..hostnet.runner import which

_FROM = C.VIR_FROM_STORAGE
PACKAGES = {"qemu-img": "qemu-utils", "lvm": "lvm2"}


def err(code: int, detail: str) -> DriverError:
    """A storage error (VIR_FROM_STORAGE)."""
    return DriverError(code, detail, _FROM)


def tool(name: str) -> str:
    """Full path of a tool; ``$GUIAPP_QEMU_IMG`` overrides qemu-img (tests use it to inject faults)."""
    if name == "qemu-img" and os.environ.get("GUIAPP_QEMU_IMG"):
        return os.environ["GUIAPP_QEMU_IMG"]
    path = which(name)
    if path is None:
        raise err(C.VIR_ERR_OPERATION_FAILED,
                  f"'{name}' is not installed: install the Debian package {PACKAGES.get(name, name)}")
    return path


def run(args: Sequence[str], timeout: float = 600.0, env: Optional[dict[str, str]] = None) -> str:
    """Run ``args`` (first item a tool name) and return stdout; failures, signals and timeouts are DriverErrors."""
    argv = [tool(args[0]), *args[1:]]
    shown = shlex.join(args)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, close_fds=True,
                              stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired:
        raise err(C.VIR_ERR_OPERATION_FAILED, f"'{shown}' did not finish within {timeout:.0f} s") from None
    except OSError as exc:
        raise err(C.VIR_ERR_OPERATION_FAILED, f"cannot run '{shown}': {exc.strerror}") from None
    if proc.returncode < 0:
        try:
            sig = signal.Signals(-proc.returncode).name
        except ValueError:
            sig = f"signal {-proc.returncode}"
        raise err(C.VIR_ERR_OPERATION_FAILED, f"'{args[0]}' was killed by {sig} while running '{shown}'")
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout or "").strip().splitlines()
        raise err(C.VIR_ERR_OPERATION_FAILED,
                  f"'{shown}' failed (exit {proc.returncode}): {lines[-1] if lines else 'no message'}")
    return proc.stdout


__all__ = ["err", "tool", "run"]
