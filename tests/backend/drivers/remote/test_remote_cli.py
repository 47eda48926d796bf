"""guiapp-virsh through the remote driver prints what Debian's virsh prints for the same URI and command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from guiapp.models.demo import write_node

ROOT = Path(__file__).resolve().parents[4]
DOMAIN = ("<domain type='test'><name>cli-new</name><memory>65536</memory><vcpu>1</vcpu>"
          "<os><type>hvm</type></os></domain>")

COMMANDS = [
    "list --all", "list", "nodeinfo", "uri", "capabilities", "domid vm-001", "domname 2", "domuuid vm-001",
    "domstate --reason vm-001", "dumpxml vm-003", "net-list --all", "net-dumpxml default",
    "suspend vm-001", "resume vm-003", "setmem vm-001 131072", "setmaxmem vm-001 300000", "setvcpus vm-001 1",
    "destroy vm-001", "start vm-004", "start vm-001", "define {xml}", "create {xml}", "undefine vm-004",
    "shutdown vm-002", "reboot vm-001", "save vm-001 {tmp}/saved.img", "dominfo nope", "dumpxml nope",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_matches_virsh(libvirtd, tmp_path: Path, command: str) -> None:
    (tmp_path / "new.xml").write_text(DOMAIN)
    args = command.format(xml=tmp_path / "new.xml", tmp=tmp_path).split()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    uri = libvirtd.uri(write_node(tmp_path / "node.xml", 12, paused=2))  # each connection starts from the file
    out = {}
    for tool in ("guiapp", "virsh"):
        argv = ([sys.executable, "-m", "guiapp.backend.cli"] if tool == "guiapp" else ["virsh"]) + ["-c", uri]
        p = subprocess.run(argv + args, capture_output=True, text=True, env=env, timeout=60)
        out[tool] = (p.returncode, p.stdout, p.stderr.replace("error: failed to connect to the hypervisor\n", ""))
    assert out["guiapp"] == out["virsh"]
