"""Fixtures for the host side: a private network namespace per test, removed afterwards whatever happens."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator

import pytest


def _can_use_netns() -> str | None:
    """Why these tests cannot run here (None when they can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "dnsmasq"):
        if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
            return f"'{tool}' is not installed"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing"
    return None


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


class Namespaces:
    """Creates namespaces on demand; ``cleanup()`` kills their dnsmasq and deletes them."""

    def __init__(self, runtime_dir: str) -> None:
        self.names: list[str] = []
        self.runtime_dir = runtime_dir
        self.host = ""  # the namespace playing the host

    def add(self, tag: str) -> str:
        name = f"guiapp-{tag}-{uuid.uuid4().hex[:8]}"
        ip("netns", "add", name)
        self.names.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def cleanup(self) -> None:
        for pidfile in glob.glob(os.path.join(self.runtime_dir, "*.pid")):
            try:
                pid = int(open(pidfile).read().strip())
                if b"dnsmasq" in open(f"/proc/{pid}/cmdline", "rb").read():
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        for name in reversed(self.names):
            ip("netns", "del", name, check=False)


@pytest.fixture
def netns(tmp_path) -> Iterator[Namespaces]:
    why = _can_use_netns()
    if why:
        pytest.skip(why)
    spaces = Namespaces(str(tmp_path / "run"))
    try:
        spaces.host = spaces.add("host")
    except subprocess.CalledProcessError as exc:
        spaces.cleanup()
        pytest.skip(f"cannot create a network namespace here: {exc.stderr.strip()}")
    try:
        yield spaces
    finally:
        spaces.cleanup()
