"""Fixtures for the Xen driver: a real XenStore daemon (oxenstored) and a fake ``xl``.

* ``xs_shim``: the LD_PRELOAD shim (xs_shim.c) compiled with gcc into pytest's cache;
* ``xenstored``: Debian's oxenstored serving a private socket, holding Domain-0
  as xen-init-dom0 writes it (function scope: every test gets a fresh store);
* ``fake_xl``: an ``xl`` wrapper running fake_xl.py against that daemon;
* ``xen_env``: the environment for ``xen:///`` (XENSTORED_PATH, GUIAPP_XL, config dirs);
* ``real_xl_dry_run``: Debian's real ``xl -N create`` (dry run) against the daemon.

Tests needing them are skipped where the Xen tools or gcc are not installed.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guiapp.backend.drivers.xen.xsclient import ping

HERE = Path(__file__).parent
SHIM_SRC = HERE / "xs_shim.c"
FAKE_XL = HERE / "fake_xl.py"
DOM0_UUID = "00000000-0000-0000-0000-000000000000"


def _newest(pattern: str) -> str | None:
    hits = sorted(glob.glob(pattern))
    return hits[-1] if hits else None


OXENSTORED = _newest("/usr/lib/xen-*/bin/oxenstored")
REAL_XL = _newest("/usr/lib/xen-*/bin/xl")


@pytest.fixture(scope="session")
def xs_shim(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shim library, rebuilt only when its source changes (kept in pytest's cache when there is one)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is needed to build the XenStore test shim")
    digest = hashlib.sha256(SHIM_SRC.read_bytes()).hexdigest()[:16]
    cache = getattr(request.config, "cache", None)
    out_dir = Path(cache.mkdir("xen-shim")) if cache is not None else tmp_path_factory.mktemp("xen-shim")
    lib = out_dir / f"xs_shim-{digest}.so"
    if not lib.exists():
        tmp = out_dir / f".build-{os.getpid()}.so"
        proc = subprocess.run([gcc, "-shared", "-fPIC", "-O1", "-o", str(tmp), str(SHIM_SRC), "-ldl"],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            pytest.fail(f"building the XenStore shim failed:\n{proc.stderr}")
        os.replace(tmp, lib)
    return lib


class XenStoreDaemon:
    """oxenstored in a private directory; stop() always cleans up."""

    def __init__(self, binary: str, shim: Path, root: Path) -> None:
        self.binary = binary
        self.shim = shim
        self.root = root
        self.run_dir = root / "run"
        self.socket = str(self.run_dir / "socket")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "xsd_port").write_text("1")
        (self.root / "xsd_kva").write_bytes(bytes(4096))
        cfg = self.root / "oxenstored.conf"
        cfg.write_text("\n".join([
            f"pid-file = {self.root}/pid", "persistent = false",
            f"xenstored-log-file = {self.root}/xenstored.log", f"access-log-file = {self.root}/access.log",
            f"xenstored-port = {self.root}/xsd_port", f"xenstored-kva = {self.root}/xsd_kva",
            "quota-maxentity = 100000", "quota-transaction = 100",
        ]) + "\n")
        env = dict(os.environ, LD_PRELOAD=str(self.shim), XS_SHIM_DIR=str(self.run_dir))
        with open(self.root / "stderr.log", "wb") as err:
            self.proc = subprocess.Popen([self.binary, "--no-fork", "--config-file", str(cfg)], env=env,
                                         stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)
        deadline = time.monotonic() + 10
        while not ping(self.socket, 0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.root / "stderr.log").read_text(errors="replace")
                self.stop()
                pytest.fail(f"oxenstored did not start:\n{log}")
            time.sleep(0.01)

    def populate_dom0(self, mem_kib: int = 1048576, vcpus: int = 2) -> None:
        """Domain-0's entries, as xen-init-dom0 and libxl write them (with xenstore-write when installed)."""
        pairs = [("/local/domain/0/name", "Domain-0"), ("/local/domain/0/domid", "0"),
                 ("/local/domain/0/vm", f"/vm/{DOM0_UUID}"), (f"/vm/{DOM0_UUID}/uuid", DOM0_UUID),
                 (f"/vm/{DOM0_UUID}/name", "Domain-0"), ("/local/domain/0/memory/static-max", str(mem_kib)),
                 ("/local/domain/0/memory/target", str(mem_kib)), ("/libxl/0/type", "pv")]
        pairs += [(f"/local/domain/0/cpu/{n}/availability", "online") for n in range(vcpus)]
        tool = shutil.which("xenstore-write")
        if tool:
            args = [tool] + [x for pair in pairs for x in pair]
            subprocess.run(args, env=dict(os.environ, XENSTORED_PATH=self.socket), check=True, timeout=10,
                           capture_output=True)
        else:
            from guiapp.backend.drivers.xen.xsclient import XenStoreClient
            with XenStoreClient(self.socket) as c:
                for path, value in pairs:
                    c.write(path, value)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.proc = None


@pytest.fixture
def xenstored(xs_shim: Path, tmp_path: Path):
    """A running oxenstored holding Domain-0; yields the XenStoreDaemon."""
    if OXENSTORED is None:
        pytest.skip("oxenstored (xen-utils-4.17) is not installed")
    daemon = XenStoreDaemon(OXENSTORED, xs_shim, tmp_path / "xenstored")
    daemon.start()
    try:
        daemon.populate_dom0()
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def fake_xl(tmp_path: Path) -> Path:
    """An executable ``xl`` running fake_xl.py with this interpreter."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    xl = bindir / "xl"
    xl.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_XL}" "$@"\n')
    xl.chmod(0o755)
    return xl


@pytest.fixture
def xen_env(xenstored: XenStoreDaemon, fake_xl: Path, xs_shim: Path, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch):
    """Environment for ``xen:///`` against the test daemon and the fake xl; yields the daemon.

    Where Debian's real xl is installed, the fake xl has it dry-run (``xl -N create``)
    every config the driver generates before "creating" the domain.
    """
    monkeypatch.setenv("XENSTORED_PATH", xenstored.socket)
    monkeypatch.setenv("GUIAPP_XL", str(fake_xl))
    monkeypatch.setenv("FAKE_XL_STATE", str(tmp_path / "xl-state.json"))
    monkeypatch.setenv("GUIAPP_XEN_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GUIAPP_XEN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "xen:///")
    for var in ("FAKE_XL_FAIL", "FAKE_XL_HANG", "FAKE_XL_GUEST", "FAKE_XL_REAL", "FAKE_XL_SHIM"):
        monkeypatch.delenv(var, raising=False)
    if REAL_XL is not None:
        monkeypatch.setenv("FAKE_XL_REAL", REAL_XL)
        monkeypatch.setenv("FAKE_XL_SHIM", str(xs_shim))
    yield xenstored


@pytest.fixture
def real_xl_dry_run(xs_shim: Path, xenstored: XenStoreDaemon, tmp_path: Path):
    """``check(cfg_text) -> dict``: Debian's real ``xl -N create`` on the text; fails the test on rejection."""
    if REAL_XL is None:
        pytest.skip("the real xl (xen-utils-4.17) is not installed")
    counter = iter(range(10 ** 6))

    def check(cfg_text: str, expect_ok: bool = True) -> dict | str:
        path = tmp_path / f"dry-{next(counter)}.cfg"
        path.write_text(cfg_text)
        env = dict(os.environ, LD_PRELOAD=str(xs_shim), XENSTORED_PATH=xenstored.socket)
        proc = subprocess.run([REAL_XL, "-N", "create", str(path)], capture_output=True, text=True, env=env,
                              timeout=30)
        if not expect_ok:
            assert proc.returncode != 0, f"real xl accepted:\n{cfg_text}"
            return proc.stderr
        assert proc.returncode == 0, f"real xl -N create rejected the config:\n{cfg_text}\n{proc.stderr}"
        return json.loads(proc.stdout)

    return check
