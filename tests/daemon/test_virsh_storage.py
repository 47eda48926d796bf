"""Debian's real virsh against guiappd's storage procedures, compared with virsh on libvirt's own
in-process test driver: one virsh invocation runs the same script on both (state carries across
commands), and everything it prints must be identical."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from daemonlib import Guiappd

VIRSH = shutil.which("virsh")
pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh is not installed (apt-get install libvirt-clients)")

EXTRA_POOL = """<pool type='dir'><name>extra</name><uuid>41111111-2222-3333-4444-555555555555</uuid>
<target><path>/guiapp-extra-pool-nowhere</path></target></pool>"""


def run(uri: str, script: str, *opts: str) -> subprocess.CompletedProcess:
    assert VIRSH is not None
    return subprocess.run([VIRSH, "-c", uri, *opts, script], capture_output=True, text=True, timeout=120)


def test_pool_and_volume_commands_print_what_libvirt_prints(guiappd: Guiappd, tmp_path: Path) -> None:
    pool_file = tmp_path / "extra.xml"
    pool_file.write_text(EXTRA_POOL)
    script = "; ".join([
        "pool-list --all --details", "pool-info default-pool", "pool-dumpxml default-pool",
        "vol-create-as default-pool a.img 10M --format raw", "vol-list default-pool --details",
        "vol-info --pool default-pool a.img", "vol-dumpxml --pool default-pool a.img",
        "vol-path --pool default-pool a.img", "vol-key --pool default-pool a.img",
        "vol-pool /default-pool/a.img", "vol-info /default-pool/a.img",
        "vol-clone --pool default-pool a.img b.img", "vol-list default-pool",
        "vol-delete --pool default-pool b.img", "vol-list default-pool",
        f"pool-define {pool_file}", "pool-list --all", "pool-start extra", "pool-autostart extra",
        "pool-info extra", "pool-list --autostart", "pool-refresh extra", "pool-destroy extra",
        "pool-undefine extra", "pool-list --all",
        "vol-info --pool default-pool nope",  # an error ends the script: last
    ])
    mine = run(f"test+unix:///default?socket={guiappd.rw}", script)
    theirs = run("test:///default", script)
    assert "a.img" in mine.stdout and "extra" in mine.stdout and "100.00 GiB" in mine.stdout
    assert mine.stdout == theirs.stdout
    assert (mine.returncode, mine.stderr) == (theirs.returncode, theirs.stderr)
    assert "Storage volume not found" in mine.stderr


def test_read_only_socket_lists_but_refuses_changes(guiappd: Guiappd) -> None:
    ro = f"test+unix:///default?socket={guiappd.ro}"
    listed = run(ro, "pool-list --all; vol-list default-pool", "-r")
    assert listed.returncode == 0 and "default-pool" in listed.stdout, listed.stderr
    r = run(ro, "vol-create-as default-pool x.img 1M", "-r")
    assert r.returncode != 0 and "read only" in r.stderr.lower(), r.stderr
    r = run(ro, "pool-destroy default-pool", "-r")
    assert r.returncode != 0 and "read only" in r.stderr.lower(), r.stderr
    # nothing changed
    rw = run(f"test+unix:///default?socket={guiappd.rw}", "pool-info default-pool; vol-list default-pool")
    assert "State:          running" in rw.stdout and "x.img" not in rw.stdout, rw.stdout


@pytest.mark.parametrize("name", ["../escape.img", "sub/dir.img"])
def test_hostile_volume_name_is_refused_with_a_coded_error(guiappd: Guiappd, name: str) -> None:
    rw = f"test+unix:///default?socket={guiappd.rw}"
    r = run(rw, f"vol-create-as default-pool '{name}' 1M")
    # libvirt's in-memory test driver takes such names; guiapp refuses them at every boundary
    assert r.returncode != 0 and "not usable as a file name" in r.stderr, r.stderr
    assert name not in run(rw, "vol-list default-pool").stdout
    assert run(rw, "pool-list").returncode == 0  # the connection and the daemon survive it
