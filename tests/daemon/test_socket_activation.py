"""guiappd under socket activation (LISTEN_FDS, guiapp/daemon/activation.py): sockets passed the way systemd
passes them — by Debian's ``systemd-socket-activate`` (starts the daemon on the first connection) and by a
small launcher — are served (the read-only one read-only), left in place at stop; bad fds are refused."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from daemonlib import ROOT

VIRSH = shutil.which("virsh")
ACTIVATE = shutil.which("systemd-socket-activate")
pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh is not installed (apt-get install libvirt-clients)")

LAUNCHER = """
import os, socket, sys
# what systemd does: listening sockets at fds 3 and 4, LISTEN_PID = the daemon's own pid (exec keeps it)
rw, ro, *argv = sys.argv[1:]
fds = []
for path in (rw, ro):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    fds.append(s.detach())
for target, fd in zip((3, 4), fds):
    if fd != target:
        os.dup2(fd, target)
        os.close(fd)
    os.set_inheritable(target, True)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="2", LISTEN_FDNAMES="guiapp-sock:guiapp-sock-ro")
os.execv(sys.executable, [sys.executable] + argv)
"""


def virsh(uri: str, *args: str) -> subprocess.CompletedProcess:
    assert VIRSH is not None
    return subprocess.run([VIRSH, "-c", uri, *args], capture_output=True, text=True, timeout=60)


def _env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "run").mkdir(exist_ok=True)
    return dict(os.environ, PYTHONPATH=str(ROOT), XDG_RUNTIME_DIR=str(tmp_path / "run"),
                XDG_CONFIG_HOME=str(tmp_path / "cfg"))


def _daemon_argv(tmp_path: Path) -> list[str]:
    return ["-m", "guiapp.daemon", "--session", "--uri", "test:///default", "--pid-file", str(tmp_path / "pid")]


def _check_served(tmp_path: Path, rw: str, ro: str) -> int:
    """virsh through both sockets; returns the daemon's pid."""
    r = virsh(f"test+unix:///default?socket={rw}", "list")
    assert r.returncode == 0 and "test" in r.stdout, r.stderr
    r = virsh(f"test+unix:///default?socket={ro}", "-r", "list", "--all")
    assert r.returncode == 0 and "test" in r.stdout, r.stderr
    r = virsh(f"test+unix:///default?socket={ro}", "suspend", "test")
    assert r.returncode != 0 and "read only access prevents" in r.stderr, r.stderr
    deadline = time.monotonic() + 30
    while not (tmp_path / "pid").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return int((tmp_path / "pid").read_text())


def _stop(proc: subprocess.Popen, pid: int) -> str:
    os.kill(pid, 15)
    out, _ = proc.communicate(timeout=30)
    return out


@pytest.mark.parametrize("how", ["launcher", "systemd-socket-activate"])
def test_socket_activated_daemon_serves_passed_sockets(tmp_path: Path, how: str) -> None:
    rw, ro = str(tmp_path / "s"), str(tmp_path / "s-ro")
    env = _env(tmp_path)
    if how == "launcher":
        argv = [sys.executable, "-c", LAUNCHER, rw, ro, *_daemon_argv(tmp_path)]
    else:
        if ACTIVATE is None:
            pytest.skip("systemd-socket-activate is not installed (package systemd)")
        argv = [ACTIVATE, "-l", rw, "-l", ro, "--fdname=guiapp-sock:guiapp-sock-ro",
                *(f"-E{k}={env[k]}" for k in ("PYTHONPATH", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME")),
                sys.executable, *_daemon_argv(tmp_path)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (os.path.exists(rw) and os.path.exists(ro)):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.05)
        pid = _check_served(tmp_path, rw, ro)
        assert not (tmp_path / "run" / "guiapp" / "guiapp-sock").exists()  # it made no socket of its own
        out = _stop(proc, pid)
        assert f"listening on {rw} and {ro}" in out, out
        assert os.path.exists(rw) and os.path.exists(ro)  # systemd's sockets: not removed by the daemon
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_passed_fds_that_are_not_listening_sockets_are_refused(tmp_path: Path) -> None:
    r_fd, w_fd = os.pipe()
    script = ("import os, sys\n"
              f"os.dup2({r_fd}, 3); os.set_inheritable(3, True)\n"
              "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1')\n"
              "os.execv(sys.executable, [sys.executable] + sys.argv[1:])\n")
    r = subprocess.run([sys.executable, "-c", script, *_daemon_argv(tmp_path)], env=_env(tmp_path), pass_fds=[r_fd],
                       capture_output=True, text=True, timeout=60)
    os.close(r_fd)
    os.close(w_fd)
    assert r.returncode == 1 and "socket activation" in r.stderr and "not a socket" in r.stderr, r.stderr
    # a datagram socket is no listening stream socket either
    a, _b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    script = script.replace(str(r_fd), str(a.fileno()))
    r = subprocess.run([sys.executable, "-c", script, *_daemon_argv(tmp_path)], env=_env(tmp_path),
                       pass_fds=[a.fileno()], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "not a listening unix stream socket" in r.stderr, r.stderr


def test_listen_pid_of_another_process_is_ignored(tmp_path: Path) -> None:
    """Variables inherited from a parent that was activated are not ours: the daemon makes its own sockets."""
    env = dict(_env(tmp_path), LISTEN_PID="1", LISTEN_FDS="2")
    sock_dir = tmp_path / "sock"
    proc = subprocess.Popen([sys.executable, *_daemon_argv(tmp_path), "--socket-dir", str(sock_dir)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "pid").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.05)
        assert (sock_dir / "guiapp-sock").exists()
        r = virsh(f"test+unix:///default?socket={sock_dir / 'guiapp-sock'}", "list")
        assert r.returncode == 0 and "test" in r.stdout, r.stderr
        _stop(proc, int((tmp_path / "pid").read_text()))
        assert not (sock_dir / "guiapp-sock").exists()  # its own socket: removed at stop
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_socket_units_verify(tmp_path: Path) -> None:
    units = ROOT / "resources" / "systemd"
    for folder, names in ((units, ("guiappd.socket", "guiappd-ro.socket", "guiappd.service")),
                          (units / "user", ("guiappd.socket", "guiappd.service"))):
        work = tmp_path / folder.name
        work.mkdir()
        for n in names:
            shutil.copy(folder / n, work / n)
        r = subprocess.run(["systemd-analyze", "verify", *(str(work / n) for n in names)], capture_output=True,
                           text=True, timeout=60)
        problems = [line for line in (r.stdout + r.stderr).splitlines()
                    if line.strip() and "Command guiappd is not executable" not in line]
        assert not problems, problems
