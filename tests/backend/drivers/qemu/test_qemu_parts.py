"""The QEMU driver's small parts on their own: events, save-file header, state files, locks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from guiapp.backend import constants as C
from guiapp.backend.drivers.qemu import savefile
from guiapp.backend.drivers.qemu.events import lifecycle_event
from guiapp.backend.drivers.qemu.state import (
    Dirs,
    FileLock,
    atomic_write,
    next_domain_id,
    process_alive,
    process_start_time,
    read_json,
    try_lease,
)
from guiapp.backend.errors import DriverError

OFF = (C.VIR_DOMAIN_SHUTOFF, 0)


@pytest.mark.parametrize("old,new,expected", [
    (OFF, (C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_BOOTED),
     (C.VIR_DOMAIN_EVENT_STARTED, C.VIR_DOMAIN_EVENT_STARTED_BOOTED)),
    (OFF, (C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_RESTORED),
     (C.VIR_DOMAIN_EVENT_STARTED, C.VIR_DOMAIN_EVENT_STARTED_RESTORED)),
    ((C.VIR_DOMAIN_RUNNING, 1), (C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_PAUSED_USER),
     (C.VIR_DOMAIN_EVENT_SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)),
    ((C.VIR_DOMAIN_PAUSED, 1), (C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_UNPAUSED),
     (C.VIR_DOMAIN_EVENT_RESUMED, C.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)),
    ((C.VIR_DOMAIN_RUNNING, 1), (C.VIR_DOMAIN_CRASHED, C.VIR_DOMAIN_CRASHED_PANICKED),
     (C.VIR_DOMAIN_EVENT_CRASHED, C.VIR_DOMAIN_EVENT_CRASHED_PANICKED)),
    ((C.VIR_DOMAIN_RUNNING, 1), (C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN),
     (C.VIR_DOMAIN_EVENT_STOPPED, C.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)),
    ((C.VIR_DOMAIN_RUNNING, 1), (C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_DESTROYED),
     (C.VIR_DOMAIN_EVENT_STOPPED, C.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)),
    ((C.VIR_DOMAIN_RUNNING, 1), (C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_CRASHED),
     (C.VIR_DOMAIN_EVENT_STOPPED, C.VIR_DOMAIN_EVENT_STOPPED_FAILED)),
    ((C.VIR_DOMAIN_PAUSED, 3), (C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_SAVED),
     (C.VIR_DOMAIN_EVENT_STOPPED, C.VIR_DOMAIN_EVENT_STOPPED_SAVED)),
    ((C.VIR_DOMAIN_RUNNING, 1), (C.VIR_DOMAIN_RUNNING, 5), None),
    (OFF, (C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN), None),
])
def test_lifecycle_events(old, new, expected):
    assert lifecycle_event(old, new) == expected


def test_save_header_round_trip(tmp_path):
    path = tmp_path / "s.sav"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    offset = savefile.write_header(fd, {"xml": "<domain/>", "running": True})
    os.write(fd, b"QEVM-stream")
    os.close(fd)
    meta, off = savefile.read_header(str(path))
    assert meta == {"xml": "<domain/>", "running": True} and off == offset and off % 4096 == 0
    assert path.read_bytes()[off:] == b"QEVM-stream"


@pytest.mark.parametrize("content", [b"", b"not a save file at all", savefile.MAGIC + b"\xff" * 8])
def test_save_header_rejects_other_files(tmp_path, content):
    path = tmp_path / "x.sav"
    path.write_bytes(content)
    with pytest.raises(DriverError) as ei:
        savefile.read_header(str(path))
    assert ei.value.code == C.VIR_ERR_OPERATION_FAILED and str(path) in ei.value.detail


def test_dirs_follow_xdg_and_system(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "r"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "c"))
    d = Dirs.for_uri_path("/session")
    assert d.runtime == tmp_path / "r" / "guiapp" / "qemu" and d.config == tmp_path / "c" / "guiapp" / "qemu"
    s = Dirs.for_uri_path("/system")
    assert str(s.runtime) == "/run/guiapp/qemu" and str(s.config) == "/etc/guiapp/qemu"


def test_atomic_write_and_broken_json(tmp_path):
    p = tmp_path / "a.json"
    atomic_write(p, '{"x": 1}')
    assert read_json(p) == {"x": 1} and oct(p.stat().st_mode & 0o777) == "0o600"
    p.write_text('{"x": ')
    assert read_json(p) is None
    assert [q.name for q in tmp_path.iterdir()] == ["a.json"]  # no temporary left behind


def test_domain_ids_increase(tmp_path):
    d = Dirs(tmp_path / "r", tmp_path / "c")
    d.create()
    assert [next_domain_id(d) for _ in range(3)] == [1, 2, 3]


def test_lease_is_exclusive_across_processes(tmp_path):
    path = tmp_path / "g.lease"
    fd = try_lease(path)
    assert fd is not None
    code = "import sys; from guiapp.backend.drivers.qemu.state import try_lease; from pathlib import Path; " \
           "sys.exit(0 if try_lease(Path(sys.argv[1])) is None else 3)"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    assert subprocess.run([sys.executable, "-c", code, str(path)], env=env).returncode == 0
    os.close(fd)
    assert subprocess.run([sys.executable, "-c", code, str(path)], env=env).returncode == 3


def test_file_lock_serializes_processes(tmp_path):
    """Two processes appending under the lock never interleave their read-modify-write."""
    counter = tmp_path / "n"
    counter.write_text("0")
    script = textwrap.dedent(f"""
        from pathlib import Path
        from guiapp.backend.drivers.qemu.state import FileLock
        lock = FileLock(Path({str(tmp_path / 'lock')!r}))
        p = Path({str(counter)!r})
        for _ in range(200):
            with lock():
                p.write_text(str(int(p.read_text()) + 1))
    """)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env) for _ in range(2)]
    assert all(p.wait(60) == 0 for p in procs)
    assert counter.read_text() == "400"
    lock = FileLock(tmp_path / "lock")
    with lock(), lock():  # re-entrant in one thread
        pass


def test_process_identity():
    me = process_start_time(os.getpid())
    assert me is not None and process_alive(os.getpid(), me)
    assert not process_alive(os.getpid(), me + 1)  # same pid, other process (pid reuse)
    p = subprocess.Popen(["sleep", "0"])
    p.wait()
    time.sleep(0.01)
    assert not process_alive(p.pid, None)
