"""guiapp-virsh's hardware commands against real virsh 9.0 on test:///default (one virsh session, state carried).

libvirt's test driver has no device attach/detach/update, so the sequence compared with virsh holds the
commands it answers (lists, desc, autostart, domrename, --print-xml, lookups and their errors); the device
commands are checked on guiapp's test driver, which implements them, by what domblklist/domiflist show after.
"""

from __future__ import annotations

import gc
import io
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import load_module, real_libvirt

import guiapp.backend as guiapp_libvirt
from guiapp.backend import cli

snap = load_module("backend/test_cli_snapshot.py", "cli_snapshot_tests")

SEQUENCE = [
    "domblklist test",
    "domblklist test --details",
    "domblklist test --inactive",
    "domiflist test",
    "domiflist test --inactive",
    "desc test",
    "desc test --title",
    "desc test --title New title here",
    "desc test --title",
    "desc test --config --title",
    "desc test a long description",
    "desc test --live",
    "desc test --current --live",
    "autostart test",
    "autostart test --disable",
    "attach-disk test /var/lib/x.img vdb --print-xml",
    "attach-disk test /var/lib/x.img vdb --targetbus virtio --driver qemu --subdriver qcow2 --type disk "
    "--mode readonly --cache none --print-xml",
    "attach-disk test /tmp/a.iso hdc --type cdrom --mode readonly --print-xml",
    "attach-disk test '/tmp/it'\"'\"'s <x>.img' vdc --print-xml",
    "attach-disk test /x vdd --mode bogus --print-xml",
    "attach-disk test /var/lib/x.img vdb --live",
    "attach-interface test network default --print-xml",
    "attach-interface test bridge br0 --mac 52:54:00:11:22:33 --model virtio --target vnet7 --print-xml",
    "attach-interface test network default --live",
    "detach-disk test vda --print-xml",
    "detach-disk test /guest/diskimage1 --config --print-xml",
    "detach-disk test vdz",
    "detach-disk test vda",
    "detach-interface test network --print-xml",
    "detach-interface test network --mac 52:54:00:11:22:33",
    "detach-interface test bridge",
    "detach-interface test network --mac AA:BB:CC:DD:EE:FF --print-xml",
    "change-media test hdc /tmp/a.iso --insert",
    "change-media test vda --eject",
    "change-media test hdc --eject --insert",
    "attach-device test /nonexistent.xml",
    "detach-device test /nonexistent.xml --current --live",
    "update-device test /nonexistent.xml --persistent --current",
    "domrename test foo",
    "destroy test",
    "domrename test foo",
    "domrename foo test",
    "domblklist foo",
    "domrename foo bad/name",
    "domiflist nodomain",
]


def run_ours(lib: Any, commands: list[str]) -> tuple[list[str], str]:
    try:
        return snap.run_ours(lib, commands)
    finally:  # libvirt shares test:///default while any handle lives: let no cycle keep one for later tests
        gc.collect()


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], str]:
    if not shutil.which("virsh"):
        pytest.skip("virsh is not installed")
    return snap.run_virsh(SEQUENCE)


def _compare(ours: tuple[list[str], str], ref: tuple[list[str], str]) -> None:
    assert len(ours[0]) == len(ref[0]) == len(SEQUENCE)
    for command, got, want in zip(SEQUENCE, ours[0], ref[0], strict=True):
        assert (command, got) == (command, want)
    assert ours[1].replace("error: invalid argument: ", "error: ").splitlines() == ref[1].splitlines()


def test_hardware_commands_over_libvirt_python_match_virsh(reference: Any) -> None:
    _compare(run_ours(real_libvirt(), SEQUENCE), reference)


#: The sequence without the calls libvirt's test driver refuses and guiapp's performs (checked below).
NO_DEVICE_CHANGES = [c for c in SEQUENCE if "--print-xml" in c or c.split()[0] not in (
    "attach-disk", "attach-interface", "detach-disk", "detach-interface")]


def test_hardware_commands_over_guiapp_match_virsh() -> None:
    if not shutil.which("virsh"):
        pytest.skip("virsh is not installed")
    ref = snap.run_virsh(NO_DEVICE_CHANGES)
    ours = run_ours(guiapp_libvirt, NO_DEVICE_CHANGES)
    for command, got, want in zip(NO_DEVICE_CHANGES, ours[0], ref[0], strict=True):
        assert (command, got) == (command, want)
    assert ours[1].replace("error: invalid argument: ", "error: ").splitlines() == ref[1].splitlines()


def ours(conn: Any, command: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = cli.run(["-c", "test:///default", *shlex.split(command)], guiapp_libvirt, out, err, conn=conn)
    return rc, out.getvalue(), err.getvalue()


def test_device_commands_on_guiapp(tmp_path: Path) -> None:
    guiapp_libvirt.registerErrorHandler(lambda ctx, err: None, None)
    conn = guiapp_libvirt.open("test:///default")
    try:
        assert ours(conn, "attach-disk test /var/lib/x.img vdb --targetbus virtio --config --live") == \
            (0, "Disk attached successfully\n\n", "")
        assert "vdb      /var/lib/x.img" in ours(conn, "domblklist test --inactive")[1]
        assert ours(conn, "attach-disk test /tmp/empty.iso hdc --type cdrom --mode readonly")[0] == 0
        rc, out, err = ours(conn, "change-media test hdc /tmp/b.iso --update")
        assert (rc, out) == (0, "Successfully updated media.\n\n"), err
        assert "hdc      /tmp/b.iso" in ours(conn, "domblklist test")[1]
        assert ours(conn, "change-media test hdc --eject")[1] == "Successfully ejected media.\n\n"
        assert ours(conn, "change-media test hdc --eject")[2] == "error: The disk device 'hdc' doesn't have media\n"
        assert ours(conn, "attach-interface test bridge br0 --mac 52:54:00:11:22:33 --model virtio")[0] == 0
        assert "bridge    br0       virtio   52:54:00:11:22:33" in ours(conn, "domiflist test")[1]
        rc, _, err = ours(conn, "detach-interface test bridge --mac 52:54:00:11:22:33")
        assert rc == 0, err
        assert "52:54:00:11:22:33" not in ours(conn, "domiflist test")[1]
        assert ours(conn, "detach-disk test vdb")[1] == "Disk detached successfully\n\n"
        assert "vdb" not in ours(conn, "domblklist test")[1] and "vdb" in ours(conn, "domblklist test --inactive")[1]
        dev = tmp_path / "sound.xml"
        dev.write_text("<sound model='ich6'/>")
        assert ours(conn, f"attach-device test {dev} --persistent") == (0, "Device attached successfully\n\n", "")
        assert ours(conn, f"detach-device test {dev} --config") == (0, "Device detached successfully\n\n", "")
        rc, _, err = ours(conn, f"update-device test {dev}")
        assert rc == 1 and err.startswith(f"error: Failed to update device from {dev}\nerror: Operation not "
                                          f"supported: persistent update of device 'sound' is not supported")
    finally:
        conn.close()
        guiapp_libvirt.registerErrorHandler(None, None)


EDITOR = """#!{python}
import os, sys
path = sys.argv[1]
n = int(open({count!r}).read()) if os.path.exists({count!r}) else 0
open({count!r}, "w").write(str(n + 1))
text = open(path).read()
text = text.replace("<on_crash>destroy</on_crash>", "<on_crash>destroy</on_crash><bogus-elem/>" if n == 0
                    else "<on_crash>restart</on_crash>")
if n == 0:
    text = text.replace("<memory", "<memory-broken")
else:
    text = text.replace("<memory-broken", "<memory").replace("</memory-broken>", "</memory>")
    text = text.replace("<bogus-elem/>", "")
open(path, "w").write(text)
"""


def test_edit_shows_error_and_offers_reedit(tmp_path: Path) -> None:
    """A first edit that does not parse: the error, virsh's question on the terminal, 'y' re-edits."""
    import pty
    count = tmp_path / "count"
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR.format(python=sys.executable, count=str(count)))
    editor.chmod(0o755)
    env = dict(os.environ, EDITOR=str(editor), PYTHONPATH=str(Path(cli.__file__).parents[2]),
               XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_RUNTIME_DIR=str(tmp_path / "run"))
    (tmp_path / "run").mkdir()
    env.pop("VISUAL", None)
    xml = tmp_path / "vm.xml"
    xml.write_text("<domain type='qemu'><name>vm</name><memory>65536</memory><os><type arch='x86_64'>hvm</type>"
                   "</os></domain>")
    virsh = [sys.executable, "-m", "guiapp.backend.cli", "-c", "qemu:///session"]
    subprocess.run([*virsh, "define", str(xml)], env=env, check=True, capture_output=True, timeout=60)
    master, slave = pty.openpty()
    proc = subprocess.Popen([*virsh, "edit", "vm"], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, text=True)
    os.close(slave)
    os.write(master, b"y\n")
    out, err = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0, err
    assert "Failed. Try again? [y,n,i,f,?]: " in out
    assert "Domain 'vm' XML configuration edited." in out
    dumped = subprocess.run([*virsh, "dumpxml", "vm"], env=env, capture_output=True, text=True, timeout=60).stdout
    assert "<on_crash>restart</on_crash>" in dumped
    assert "error:" in err and count.read_text() == "2"


def test_edit_without_terminal_fails_cleanly(tmp_path: Path) -> None:
    count = tmp_path / "count"
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR.format(python=sys.executable, count=str(count)))
    editor.chmod(0o755)
    env = dict(os.environ, EDITOR=str(editor), PYTHONPATH=str(Path(cli.__file__).parents[2]))
    proc = subprocess.run([sys.executable, "-m", "guiapp.backend.cli", "-c", "test:///default", "edit", "test"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == "error: Failed."
    assert "Traceback" not in proc.stderr


def test_reads_open_read_only() -> None:
    table = cli.command_table()
    assert table["domblklist"].reads_only and table["domiflist"].reads_only
    assert not table["attach-disk"].reads_only and not table["edit"].reads_only
