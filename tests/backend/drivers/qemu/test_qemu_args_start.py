"""A real QEMU starts with the command line guiapp builds for each measured libvirt case (issue 15 item 5).

Every case :mod:`test_qemu_args_measure` selects (guiapp accepts it) is built with the host settings libvirt's
harness used for it (:func:`test_qemu_args_measure.host_config`) and started as guiapp starts a guest: the
whole argv, ``-S`` (stopped before the first instruction) and ``-daemonize``, so QEMU's parent exits 0 only
once every option was accepted and every backend opened; the test then reads the QMP greeting on the QMP
socket of the argv, asks ``query-status`` (stopped before start: ``prelaunch``) and kills the pid of the pid
file.

The case's XML is the input except for what names things that cannot exist on this host, each replaced by
an equivalent the test creates (the options built from them keep their shape):

* ``/dev/HostVG/...`` block devices and ``/tmp/*.img`` disk images -> a 1 MiB raw file (no LVM here);
* ``/dev/ttyS*`` host serial ports -> a pty slave (the same ``serial`` backend, a terminal like a UART);
* other paths (``/tmp/serial.log``, unix sockets, a VNC socket) -> the same name in the test's directory; a
  ``connect``-mode unix socket gets a listener there, as the peer QEMU connects to;
* TCP/UDP ports (``bind`` sources, VNC ports, websockets) -> free ports (the cases' fixed ports could be
  taken); a TCP ``connect`` source -> a listener of the test; a listen address that is not this host's
  (``2001:1:2:3:4:5:1234:1234``) -> the loopback address of its family;
* the certificate directories of TLS -> a directory with a CA, server and client certificates made here.

``parallel-parport-chardev`` (``<parallel type='dev'>`` on ``/dev/parport0``) is the one case that cannot
start without the hardware: QEMU claims a host parallel port with the parport ioctls (PPCLAIM), which neither
a pty nor a file answers. Without ``/dev/parport0`` it gets a pty and the test asserts that QEMU got as far as
claiming that device — it fails with "not a parallel port" on the pty's path and nothing else — which is
reported as such, not as a start.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.tinyguest import qemu_processes_under
from lxml import etree
from test_qemu_args_measure import DATA, _cases, host_config, measure

from guiapp.backend.drivers.qemu.command import RunPaths, build_command
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain import parse_domain

pytestmark = pytest.mark.qemu
QEMU = "/usr/bin/qemu-system-x86_64"


def _accepted() -> list[str]:
    out = []
    for case in _cases():
        try:
            build_command(parse_domain((DATA / f"{case}.xml").read_text(), hypervisor="qemu"),
                          RunPaths("/r/q", "/r/c", "/r/p", "/r/l", "/r/v"), kvm_usable=True, check_files=False,
                          host=host_config(case))
        except DriverError:
            continue
        out.append(case)
    return out


CASES = _accepted()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A certificate directory as QEMU's tls-creds-x509 reads it: CA, server and client certificates."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    d = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def key() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def usage(*, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=not ca,
                             data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                             encipher_only=False, decipher_only=False)

    ca_key = key()
    ca = (x509.CertificateBuilder().subject_name(name("guiapp test CA")).issuer_name(name("guiapp test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(usage(ca=True), critical=True).sign(ca_key, hashes.SHA256()))
    (d / "ca-cert.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for n, (role, eku) in enumerate((("server", ExtendedKeyUsageOID.SERVER_AUTH),
                                     ("client", ExtendedKeyUsageOID.CLIENT_AUTH)), 2):
        k = key()
        cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
                .public_key(k.public_key()).serial_number(n).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(usage(ca=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([eku]), critical=False).sign(ca_key, hashes.SHA256()))
        (d / f"{role}-cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (d / f"{role}-key.pem").write_bytes(k.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.TraditionalOpenSSL,
                                                            serialization.NoEncryption()))
    return d


def _free_port(kind: int = socket.SOCK_STREAM, low: int = 0) -> int:
    """A port nobody listens on now (``low``: from that number up, for VNC's 5900 + display)."""
    for port in ([0] if not low else range(low + os.getpid() % 500, low + 3000)):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise AssertionError("no free port")


class _Host:
    """What the rewritten XML points at: files, ptys and listeners the test owns (closed at the end)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.keep: list[object] = []
        self.ports: dict[tuple[str, str], int] = {}

    def tcp_listener(self) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        self.keep.append(s)
        return int(s.getsockname()[1])

    def unix_listener(self, path: Path) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(path))
        s.listen(8)
        self.keep.append(s)

    def pty(self) -> str:
        master, slave = os.openpty()
        self.keep.extend([master, slave])
        return os.ttyname(slave)

    def close(self) -> None:
        for item in self.keep:
            if isinstance(item, int):
                os.close(item)
            else:
                item.close()  # type: ignore[attr-defined]


def _loopback(addr: str) -> str:
    ip = ipaddress.ip_address(addr)
    return addr if ip.is_loopback else ("::1" if ip.version == 6 else "127.0.0.1")


def _rewrite(xml: str, host: _Host) -> str:
    """The case's XML with host resources replaced as the module docstring says."""
    root = etree.fromstring(xml.encode())
    for disk in root.iter("disk"):
        src = disk.find("source")
        if src is not None and (src.get("dev") or src.get("file")):
            img = host.root / f"disk{len(list(host.root.glob('disk*.img')))}.img"
            img.write_bytes(b"\0" * (1 << 20))
            for attr in ("dev", "file"):
                src.attrib.pop(attr, None)
            src.set("file", str(img))
            disk.set("type", "file")
    for src in root.iter("source"):
        parent = src.getparent()
        kind = parent.get("type") if parent is not None else None
        if parent is None or parent.tag == "disk" or parent.tag == "interface":
            continue
        path = src.get("path")
        if path:
            if path.startswith("/dev/tty") or (path.startswith("/dev/parport") and not os.path.exists(path)):
                src.set("path", host.pty())
            elif not path.startswith("/dev/"):
                new = host.root / Path(path).name
                src.set("path", str(new))
                if kind == "unix" and src.get("mode") == "connect" and not new.exists():  # console = serial 0
                    host.unix_listener(new)
        service = src.get("service")
        if service:
            key = (kind or "", service)
            if src.get("mode") == "bind":
                if key not in host.ports:
                    host.ports[key] = _free_port(socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
                src.set("service", str(host.ports[key]))
            elif kind == "tcp":
                src.set("service", str(host.tcp_listener()))
        if src.get("host"):
            src.set("host", _loopback(src.get("host") or ""))
    for g in root.iter("graphics"):
        if g.get("port") and g.get("autoport") == "no":
            g.set("port", str(_free_port(low=5900)))
        if g.get("websocket") and g.get("websocket") != "-1":
            g.set("websocket", str(_free_port()))
        for el in [g, *g.findall("listen")]:
            for attr in ("listen", "address"):
                if el.get(attr):
                    el.set(attr, _loopback(el.get(attr) or ""))
            if el.get("socket"):
                el.set("socket", str(host.root / Path(el.get("socket") or "").name))
    return etree.tostring(root).decode()


def _wait_gone(pid: int, timeout: float) -> bool:
    """The process ended (a zombie waiting for its reaper counts: the daemonized QEMU is not our child)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.02)
    return False


def _qmp_greeting_and_status(path: str) -> tuple[dict[str, object], dict[str, object]]:
    """(the QMP greeting, ``query-status``) on the monitor socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.connect(path)
        f = s.makefile("rwb")
        greeting = json.loads(f.readline())
        replies = []
        for cmd in ("qmp_capabilities", "query-status"):
            f.write(json.dumps({"execute": cmd}).encode() + b"\n")
            f.flush()
            reply: dict[str, object] = {}
            while "return" not in reply and "error" not in reply:
                reply = json.loads(f.readline() or b'{"error": "closed"}')
            replies.append(reply)
        return greeting, replies[-1]


@pytest.fixture
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A short directory (QEMU's unix socket paths must fit sun_path); no QEMU of it may outlive the test."""
    d = tmp_path_factory.mktemp("st", numbered=True)
    yield d
    leftovers = qemu_processes_under(str(d))
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, leftovers


@pytest.mark.parametrize("case", CASES)
def test_qemu_starts_with_the_built_argv(case: str, workdir: Path, certs: Path) -> None:
    if not os.access(QEMU, os.X_OK):
        pytest.skip("qemu-system-x86_64 is not installed")
    host = _Host(workdir)
    try:
        original = (DATA / f"{case}.xml").read_text()
        xml = _rewrite(original, host)
        no_parport = "/dev/parport0" in original and "/dev/parport0" not in xml
        defn = parse_domain(xml, hypervisor="qemu")
        kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)
        if defn.type == "kvm" and not kvm:
            defn.root.set("type", "qemu")  # no usable /dev/kvm: TCG runs the same options
            defn.refresh()
        settings = host_config(case).with_(vnc_tls_x509_cert_dir=str(certs), chardev_tls_x509_cert_dir=str(certs))
        paths = RunPaths(str(workdir / "qmp"), str(workdir / "cmd"), str(workdir / "pid"), str(workdir / "log"),
                         str(workdir / "vnc"), str(workdir / "stats"), runtime_dir=str(workdir / "run"))
        cmd = build_command(defn, paths, kvm_usable=kvm, check_files=True, host=settings)
        assert cmd.argv[0] == QEMU and "-S" in cmd.argv and "-daemonize" in cmd.argv
        proc = subprocess.run(cmd.argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if no_parport:
            pty = next(w for w in cmd.argv if w.startswith("parallel,"))
            assert proc.returncode != 0 and "not a parallel port" in proc.stderr, (proc.stderr, cmd.argv)
            assert [ln for ln in proc.stderr.splitlines() if "qemu" in ln] == [
                ln for ln in proc.stderr.splitlines() if "not a parallel port" in ln and pty in ln]
            print(f"\n{case}: QEMU reached the host parallel port (none here: {proc.stderr.strip()})")
            return
        assert proc.returncode == 0, (case, proc.stderr[-2000:], cmd.argv)
        pid = int((workdir / "pid").read_text().strip())
        try:
            greeting, status = _qmp_greeting_and_status(paths.qmp)
            assert "QMP" in greeting, greeting
            assert status["return"] == {"status": "prelaunch", "singlestep": False, "running": False}, status
        finally:
            os.kill(pid, signal.SIGKILL)  # QEMU's own quit takes ~2 s to exit; the process is ours to end
            assert _wait_gone(pid, 10)
    finally:
        host.close()


def test_every_measured_case_is_started() -> None:
    """The cases started here are exactly those the measure selects (none dropped on the way)."""
    equal, differ, _ = measure()
    assert sorted(CASES) == sorted(equal + list(differ)) and len(CASES) >= 40
