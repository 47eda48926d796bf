"""Opening a connection and listing never change the host (issue 11, item 10).

As root, ``open(None)`` picks ``qemu:///system``; it and ``guiapp-virsh list`` / ``net-list`` /
``dominfo`` run in a network namespace made for the test, with every file of ``qemu:///system``
under a private ``$GUIAPP_SYSTEM_ROOT``.  Afterwards the namespace has the same links, no process
mentions the private root, no network is defined and nothing but the drivers' own directories and
lock files exists.  Autostart runs only when asked (:func:`guiapp.backend.autostart.autostart`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = str(Path(__file__).resolve().parents[2])

CHILD = textwrap.dedent("""
    import json, subprocess, sys, io, contextlib
    import guiapp.backend as libvirt
    from guiapp.backend import cli
    libvirt.registerErrorHandler(lambda c, e: None, None)
    def links():
        return sorted(l["ifname"] for l in json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True,
                                                                    text=True, check=True).stdout))
    before = links()
    c = libvirt.open(None)
    uri = c.getURI()
    doms = [d.name() for d in c.listAllDomains()]
    nets = [n.name() for n in c.listAllNetworks()]
    c.close()
    ro = libvirt.openReadOnly(None)
    ro_nets = [n.name() for n in ro.listAllNetworks()]
    ro.close()
    rcs = []
    for argv in (["list", "--all"], ["net-list", "--all"], ["dominfo", "nosuch"], ["dumpxml", "nosuch"],
                 ["net-dumpxml", "default"], ["capabilities"], ["nodeinfo"]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            rcs.append(cli.main(argv))
    print(json.dumps(dict(before=before, after=links(), uri=uri, doms=doms, nets=nets, ro_nets=ro_nets,
                          rcs=rcs)))
""")

#: What a first open may create: the drivers' directories and their lock files (bookkeeping, not host state).
ALLOWED_FILES = {"run/guiapp/qemu/lock", "run/guiapp/network/.lock"}


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if text.encode() in f.read():
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def test_open_and_list_as_root_change_nothing(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("qemu-system-x86_64") is None:
        pytest.skip("needs root, unshare and qemu-system-x86_64 (open(None) is qemu:///system as root)")
    root = tmp_path / "root"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("LIBVIRT_DEFAULT_URI", "VIRSH_DEFAULT_CONNECT_URI")}
    env.update(PYTHONPATH=REPO, GUIAPP_SYSTEM_ROOT=str(root), XENSTORED_PATH=str(tmp_path / "no-xenstored"))
    r = subprocess.run(["unshare", "-n", sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["uri"] == "qemu:///system"
    assert got["before"] == got["after"], "opening or listing created network devices"
    assert got["doms"] == [] and got["nets"] == [] and got["ro_nets"] == []  # no 'default' defined by opening
    assert got["rcs"] == [0, 0, 1, 1, 1, 0, 0]
    leftovers = _processes_mentioning(str(root))
    assert leftovers == [], f"processes left running: {leftovers}"
    files = {str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir()}
    assert files <= ALLOWED_FILES, f"files created by opening/listing: {sorted(files - ALLOWED_FILES)}"
