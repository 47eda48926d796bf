"""guiappd against hostile and boundary input: bad packets close that client only; refusals are error replies."""

from __future__ import annotations

import os
import random
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from daemonlib import Guiappd, RawClient

import guiapp.backend as gl
from guiapp.backend.rpc import protocol
from guiapp.backend.rpc.protocol import Header, MessageType, Status

R = protocol


def _opened(path: str, name: str = "test:///default", flags: int = 0) -> RawClient:
    c = RawClient(path)
    assert c.call("AUTH_LIST") == ("ok", {"types": [0]})
    status, ret = c.call("CONNECT_OPEN", {"name": name, "flags": flags})
    assert status == "ok", ret
    return c


def _dom(c: RawClient) -> dict:
    return c.call("DOMAIN_LOOKUP_BY_NAME", {"name": "test"})[1]["dom"]


def test_unknown_and_unsupported_procedures_get_no_support(guiappd: Guiappd) -> None:
    c = RawClient(guiappd.rw)
    status, err = c.call("CONNECT_GET_TYPE")
    assert status == "error" and err["message"].endswith("connection not open")
    c.send(protocol.pack(Header(R.REMOTE_PROGRAM, R.REMOTE_VERSION, 9999, MessageType.CALL, 77, Status.OK), b""))
    status, err = c.reply(protocol.procedure("CONNECT_GET_TYPE"))
    assert status == "error" and err["code"] == gl.VIR_ERR_NO_SUPPORT and "9999" in err["message"]
    c.call("CONNECT_OPEN", {"name": "test:///default", "flags": 0})
    status, err = c.call("NODE_GET_CPU_STATS", {"cpuNum": 0, "nparams": 0, "flags": 0})
    assert status == "error" and err["code"] == gl.VIR_ERR_NO_SUPPORT and "NODE_GET_CPU_STATS" in err["message"]
    assert c.call("CONNECT_GET_TYPE") == ("ok", {"type": "TEST"})  # still served
    c.close()


def test_read_only_socket_and_flag_refused_by_the_daemon(guiappd: Guiappd) -> None:
    ro = _opened(guiappd.ro)
    dom = _dom(ro)
    status, err = ro.call("DOMAIN_DESTROY", {"dom": dom})
    assert status == "error" and err["code"] == gl.VIR_ERR_OPERATION_DENIED
    status, err = ro.call("DOMAIN_GET_XML_DESC", {"dom": dom, "flags": gl.VIR_DOMAIN_XML_SECURE})
    assert status == "error" and err["code"] == gl.VIR_ERR_OPERATION_DENIED
    assert ro.call("DOMAIN_GET_XML_DESC", {"dom": dom, "flags": 0})[0] == "ok"
    # the read-write socket with VIR_CONNECT_RO in CONNECT_OPEN is read-only too
    rw_ro = _opened(guiappd.rw, flags=gl.VIR_CONNECT_RO)
    status, err = rw_ro.call("DOMAIN_SUSPEND", {"dom": dom})
    assert status == "error" and err["code"] == gl.VIR_ERR_OPERATION_DENIED
    rw = _opened(guiappd.rw)
    assert rw.call("DOMAIN_GET_STATE", {"dom": dom, "flags": 0})[1]["state"] == gl.VIR_DOMAIN_RUNNING
    assert oct(os.stat(guiappd.rw).st_mode & 0o777) == "0o600"
    assert oct(os.stat(guiappd.ro).st_mode & 0o777) == "0o666"


@pytest.fixture(scope="module")
def session_guiappd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guiappd]:
    """One session guiappd with no configured URI for the cases below (each case is its own client)."""
    d = Guiappd(tmp_path_factory.mktemp("guiappd-session"), [], session=True).start()
    yield d
    d.stop()


@pytest.mark.parametrize("name", ["xen:///?xl=/bin/sh", "test+ssh://evil/default", "qemu:///system",
                                  "test:///default?x=1", "lxc:///", "test:///nonexistent/node.xml"])
def test_client_cannot_name_programs_hosts_or_files(session_guiappd: Guiappd, name: str) -> None:
    c = RawClient(session_guiappd.rw)
    try:
        status, err = c.call("CONNECT_OPEN", {"name": name, "flags": 0})
        assert status == "error" and err["code"] == gl.VIR_ERR_NO_CONNECT, err
        assert c.call("CONNECT_OPEN", {"name": "test:///default", "flags": 0})[0] == "ok"
    finally:
        c.close()
    assert session_guiappd.alive()


def _as_user(uid: int, fn) -> str:
    """Run ``fn()`` in a forked child with user id ``uid``; its returned text."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: only sockets and already-imported code
        os.close(rfd)
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(uid)
            out = fn()
        except BaseException as exc:
            out = f"child failed: {exc!r}"
        os.write(wfd, out.encode())
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as f:
        text = f.read()
    os.waitpid(pid, 0)
    return text


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_node_file_only_when_the_peer_could_read_it() -> None:
    from guiapp.models.demo import write_node

    base = Path(tempfile.mkdtemp(prefix="guiappd-peer-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        (base / "closed").mkdir(mode=0o700)
        files = {"secret": (base / "secret.xml", 0o600), "public": (base / "public.xml", 0o644),
                 "hidden": (base / "closed" / "hidden.xml", 0o644)}
        for path, mode in files.values():
            write_node(str(path), 2)
            os.chmod(path, mode)
        d = Guiappd(base / "d", ["test:///default"], session=False)
        d.start()
        try:
            os.chmod(base / "d", 0o755)
            os.chmod(d.sock_dir, 0o755)

            def probe() -> str:
                c = RawClient(d.ro)
                out = []
                for key in ("secret", "hidden", "public"):
                    status, ret = c.call("CONNECT_OPEN", {"name": f"test://{files[key][0]}", "flags": 0})
                    out.append("ok" if status == "ok" else str(ret["code"]))
                return " ".join(out)
            no = str(gl.VIR_ERR_NO_CONNECT)
            assert _as_user(65534, probe).split() == [no, no, "ok"]
        finally:
            d.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _hostile_packets() -> list[tuple[str, bytes]]:
    hdr = struct.Struct(">IIIiIIi")
    rng = random.Random(14)
    good = protocol.call(protocol.procedure("CONNECT_GET_TYPE"), 1)
    return [
        ("length shorter than a header", struct.pack(">I", 12) + b"\0" * 8),
        ("length zero", b"\0\0\0\0"),
        ("32 MiB + 1 length", hdr.pack(protocol.MESSAGE_MAX + 1, R.REMOTE_PROGRAM, R.REMOTE_VERSION, 3, 0, 1, 0)
         + b"\0" * 4096),
        ("4 GiB length", b"\xff\xff\xff\xff" + b"\0" * 24),
        ("unknown program", hdr.pack(28, 0x12345678, 1, 1, 0, 1, 0)),
        ("wrong version", hdr.pack(28, R.REMOTE_PROGRAM, 99, 1, 0, 1, 0)),
        ("reply sent as a call", hdr.pack(28, R.REMOTE_PROGRAM, R.REMOTE_VERSION, 3, MessageType.REPLY, 1, 0)),
        ("event message from a client", hdr.pack(32, R.REMOTE_PROGRAM, R.REMOTE_VERSION, 3, MessageType.MESSAGE, 1, 0)
         + b"abcd"),
        ("truncated packet then EOF", good[:20]),
        ("length promises more than sent", hdr.pack(1000, R.REMOTE_PROGRAM, R.REMOTE_VERSION, 1, 0, 1, 0) + b"x"),
        ("random garbage", bytes(rng.getrandbits(8) for _ in range(4096))),
    ]


def test_fuzzing_client_closes_only_itself(guiappd: Guiappd, capsys: pytest.CaptureFixture) -> None:
    other = gl.open(f"test+unix:///default?socket={guiappd.rw}")
    dom = other.lookupByName("test")
    counts = {"sent": 0, "closed_by_daemon": 0, "error_replies": 0}
    for what, data in _hostile_packets():
        c = RawClient(guiappd.rw, timeout=10)
        counts["sent"] += 1
        try:
            c.send(data)
            c.sock.shutdown(1) if "EOF" in what or "promises" in what else None
        except OSError:
            pass
        assert c.closed(), f"{what}: the daemon kept a client that sent {what}"
        counts["closed_by_daemon"] += 1
        c.close()
        assert other.lookupByName("test").info()[0] == gl.VIR_DOMAIN_RUNNING, what  # the other client is served
    # well-framed calls with undecodable arguments get an error reply and the connection stays
    c = _opened(guiappd.rw)
    proc = protocol.procedure("DOMAIN_LOOKUP_BY_NAME")
    for payload in (b"", b"\0\0\0\x10abc", b"\xff\xff\xff\xff", b"\0\0\0\x01a\0\0\0extra"):
        c.send(protocol.pack(Header(R.REMOTE_PROGRAM, R.REMOTE_VERSION, proc.number, MessageType.CALL, 5, 0),
                             payload))
        status, err = c.reply(proc)
        assert status == "error" and err["code"] == gl.VIR_ERR_RPC, err
        counts["error_replies"] += 1
    assert c.call("CONNECT_GET_TYPE") == ("ok", {"type": "TEST"})
    assert guiappd.alive()
    assert dom.state()[0] == gl.VIR_DOMAIN_RUNNING
    other.close()
    with capsys.disabled():
        print(f"\nfuzz: {counts}")


def test_per_client_message_limit_and_pipelined_calls(tmp_path: Path) -> None:
    d = Guiappd(tmp_path, ["test:///default"], extra=["--max-message", "4096", "--max-pending", "2"]).start()
    try:
        c = _opened(d.rw)
        proc = protocol.procedure("CONNECT_GET_HOSTNAME")
        c.send(b"".join(protocol.call(proc, s) for s in range(100, 150)))  # pipelined past --max-pending
        serials = set()
        for _ in range(50):
            h, _p = c.packet()
            serials.add(h.serial)
        assert serials == set(range(100, 150))
        big = "<domain type='test'><name>big</name>" + "<!--" + "x" * 8000 + "-->" + "</domain>"
        c.send(protocol.call(protocol.procedure("DOMAIN_DEFINE_XML"), 9, {"xml": big}))
        assert c.closed()
        assert _opened(d.rw).call("CONNECT_GET_TYPE")[0] == "ok"
    finally:
        d.stop()
