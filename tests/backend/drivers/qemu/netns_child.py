"""A Python process living inside a network namespace, running code the test sends it.

``python3 netns_child.py`` reads one JSON object per line on stdin, ``{"code": "..."}``,
runs the code in one persistent namespace (``libvirt`` is ``guiapp.backend``) and
answers one JSON line: ``{"ok": true, "result": <the variable result>}`` or
``{"ok": false, "error": "...", "code": <libvirt error code or null>}``.

:class:`NetnsPython` starts it under ``ip netns exec NS`` and is the test's side.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from typing import Any, Optional


class RemoteError(Exception):
    """An exception raised by code run in the child; ``code`` is its libvirt error code, if any."""

    def __init__(self, message: str, code: Optional[int]) -> None:
        super().__init__(message)
        self.code = code


class NetnsPython:
    """The test's handle on a child Python inside network namespace ``netns``."""

    def __init__(self, netns: str, env: dict[str, str], stderr_path: str) -> None:
        self._err = open(stderr_path, "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-u", os.path.abspath(__file__)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, text=True,
                                     env=env, bufsize=1)
        self._lines: queue.Queue[Optional[str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr_path = stderr_path

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self._lines.put(line)
        self._lines.put(None)

    def run(self, code: str, timeout: float = 60.0) -> Any:
        """Run ``code`` in the child; returns its ``result`` variable, raises RemoteError for its exception."""
        self.proc.stdin.write(json.dumps({"code": code}) + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the netns child did not answer within {timeout:g} s:\n{code}") from None
        if line is None:
            with open(self.stderr_path, errors="replace") as f:
                raise AssertionError(f"the netns child died; its stderr:\n{f.read()[-3000:]}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise RemoteError(reply["error"], reply["code"])
        return reply["result"]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._err.close()


def _serve() -> None:
    import guiapp.backend as libvirt

    ns: dict[str, Any] = {"libvirt": libvirt}
    for line in sys.stdin:
        ns["result"] = None
        try:
            exec(json.loads(line)["code"], ns)
            reply = {"ok": True, "result": ns.get("result")}
        except Exception as exc:  # reported to the test, which decides
            code = exc.get_error_code() if isinstance(exc, libvirt.libvirtError) else None
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "code": code}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    for conn in [v for v in ns.values() if isinstance(v, libvirt.virConnect)]:
        try:
            conn.close()
        except libvirt.libvirtError:
            pass


if __name__ == "__main__":
    _serve()
