"""guiappd serves libvirt's stream procedures: Debian's virsh ``console``, ``vol-upload`` and ``vol-download``
against guiappd (and guiapp's remote driver, and python3-libvirt), compared with a private libvirtd where
libvirt has the same thing; faults (an abort, a stream cut mid-packet, stray packets) end only that stream
or client, and the daemon keeps serving."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from daemonlib import Guiappd, RawClient, python_libvirt_env
from helpers.libvirtd import libvirtd  # noqa: F401 - a private Debian libvirtd (session-scoped)

import guiapp.backend as gl
from guiapp.backend.rpc import protocol, xdr
from guiapp.backend.rpc.protocol import Header, MessageType, Status

VIRSH = shutil.which("virsh")
pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh is not installed (apt-get install libvirt-clients)")


def virsh(uri: str, script: str) -> subprocess.CompletedProcess:
    assert VIRSH is not None
    return subprocess.run([VIRSH, "-c", uri, script], capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- volumes
def _transfer_script(pool: str, src: Path, small: Path, out: Path, out2: Path) -> str:
    return "; ".join([
        f"vol-create-as {pool} s.img 1M --format raw",
        f"vol-upload --pool {pool} s.img {src}",
        f"vol-download --pool {pool} s.img {out}",
        f"vol-upload --pool {pool} s.img {small} --offset 4096 --length 10000",
        f"vol-download --pool {pool} s.img {out2} --offset 4000 --length 20000",
        f"vol-delete --pool {pool} s.img",
    ])


def test_virsh_vol_upload_and_download_match_libvirtd(guiappd: Guiappd, libvirtd, tmp_path: Path) -> None:  # noqa: F811
    """The same virsh transfers (whole volume, then an offset/length window) against guiappd's test driver
    and a dir pool of Debian's libvirtd give the same bytes and the same output."""
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(700_000))  # three stream packets
    small = tmp_path / "small.bin"
    small.write_bytes(os.urandom(10_000))
    results = {}
    pool_dir = tmp_path / "lvpool"
    import sys
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    import libvirt  # Debian's python3-libvirt

    theirs = libvirt.open(libvirtd.uri("qemu:///system"))
    pool = theirs.storagePoolCreateXML(f"<pool type='dir'><name>h-streams</name><target><path>{pool_dir}</path>"
                                       f"</target></pool>", libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    try:
        for who, uri, pool_name in (("guiappd", f"test+unix:///default?socket={guiappd.rw}", "default-pool"),
                                    ("libvirtd", libvirtd.uri("qemu:///system"), "h-streams")):
            out, out2 = tmp_path / f"{who}.out", tmp_path / f"{who}.out2"
            r = virsh(uri, _transfer_script(pool_name, src, small, out, out2))
            assert r.returncode == 0, (who, r.stderr)
            results[who] = (r.stdout.replace(pool_name, "POOL"), out.read_bytes(), out2.read_bytes())
    finally:
        pool.destroy()
        theirs.close()
    mine, ref = results["guiappd"], results["libvirtd"]
    assert mine[1][:700_000] == src.read_bytes() and len(mine[1]) == 1 << 20
    assert mine[2] == ref[2] and mine[2][96:10096] == small.read_bytes()
    assert mine == ref


def test_python_libvirt_streams_through_guiappd(guiappd: Guiappd) -> None:
    """Debian's python3-libvirt: sendAll/recvAll, an abort that keeps the connection, a download refused on
    the read-only socket."""
    script = f"""
import libvirt, os
c = libvirt.open('test+unix:///default?socket={guiappd.rw}')
pool = c.storagePoolLookupByName('default-pool')
vol = pool.createXML("<volume><name>py.img</name><capacity>2097152</capacity></volume>", 0)
data = os.urandom(1_000_000)
st = c.newStream(0); vol.upload(st, 0, len(data), 0)
pos = [0]
def give(st, n, _):
    chunk = data[pos[0]:pos[0] + n]; pos[0] += len(chunk); return chunk
st.sendAll(give, None); st.finish()
st = c.newStream(0); vol.download(st, 0, len(data), 0)
got = []
st.recvAll(lambda s, b, _: got.append(b) or len(b), None); st.finish()
assert b"".join(got) == data, len(b"".join(got))
st = c.newStream(0); vol.upload(st, 0, 0, 0); st.send(b"z" * 5000); st.abort()
st = c.newStream(0); vol.download(st, 0, 10, 0)
first = st.recv(10); st.finish()
print("abort-kept", first == data[:10])
ro = libvirt.openReadOnly('test+unix:///default?socket={guiappd.ro}')
v = ro.storagePoolLookupByName('default-pool').storageVolLookupByName('py.img')
try:
    v.download(ro.newStream(0), 0, 10, 0)
except libvirt.libvirtError as e:
    print("ro", e.get_error_code())
"""
    r = subprocess.run(["python3", "-c", script], capture_output=True, text=True, timeout=120,
                       env=python_libvirt_env())
    assert r.returncode == 0, r.stderr
    assert "abort-kept True" in r.stdout
    assert f"ro {gl.VIR_ERR_OPERATION_DENIED}" in r.stdout


# ---------------------------------------------------------------- consoles
class VirshConsole:
    """``virsh console`` on a pty (virsh refuses a console without a terminal)."""

    def __init__(self, uri: str, *extra: str) -> None:
        assert VIRSH is not None
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([VIRSH, "-c", uri, "console", "test", *extra], stdin=slave, stdout=slave,
                                     stderr=slave, close_fds=True, start_new_session=True)
        os.close(slave)
        self.seen = b""

    def expect(self, what: bytes, timeout: float = 20) -> bytes:
        deadline = time.monotonic() + timeout
        while what not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, self.seen
            if select.select([self.master], [], [], min(left, 0.5))[0]:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # the pty closed: virsh is gone
                    assert what in self.seen, self.seen
        return self.seen

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = 20) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            try:
                while select.select([self.master], [], [], 0.1)[0]:
                    self.seen += os.read(self.master, 4096)
            except OSError:
                pass
            os.close(self.master)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def test_virsh_console_against_guiappd_exclusive_and_force(guiappd: Guiappd) -> None:
    """The test driver's echo console through guiappd: keys come back; a second ``virsh console`` is refused
    with libvirt's error; ``--force`` takes the console and the first virsh ends; ``^]`` leaves cleanly."""
    uri = f"test+unix:///default?socket={guiappd.rw}"
    first = VirshConsole(uri)
    second = forced = None
    try:
        first.expect(b"Escape character is ^]")
        first.type(b"ping-one")
        first.expect(b"ping-one")
        second = VirshConsole(uri)
        assert second.wait() != 0
        assert b"Active console session exists for this domain" in second.seen, second.seen
        forced = VirshConsole(uri, "--force")
        forced.expect(b"Escape character is ^]")
        assert first.wait() == 0  # its stream ended (empty packet): virsh leaves the console
        forced.type(b"ping-two")
        forced.expect(b"ping-two")
        forced.type(b"\x1d")  # ^]
        assert forced.wait() == 0
        # the daemon keeps serving, and the console is free again
        again = gl.open(uri)
        st = again.newStream(0)
        again.lookupByName("test").openConsole(None, st, 0)
        st.send(b"after")
        assert st.recv(16) == b"after"
        st.finish()
        again.close()
    finally:
        for v in (first, second, forced):
            if v is not None:
                v.kill()


def test_remote_driver_console_force_ends_the_other_client(guiappd: Guiappd) -> None:
    uri = f"test+unix:///default?socket={guiappd.rw}"
    a, b = gl.open(uri), gl.open(uri)
    try:
        sa = a.newStream(0)
        a.lookupByName("test").openConsole(None, sa, 0)
        sa.send(b"mine")
        assert sa.recv(4) == b"mine"
        with pytest.raises(gl.libvirtError) as e:
            b.lookupByName("test").openConsole(None, b.newStream(0), 0)
        assert e.value.get_error_code() == gl.VIR_ERR_OPERATION_FAILED
        sb = b.newStream(0)
        b.lookupByName("test").openConsole(None, sb, gl.VIR_DOMAIN_CONSOLE_FORCE)
        assert sa.recv(4) == b""  # taken over: end of data
        sa.finish()  # the daemon confirms the end of the old stream
        sb.send(b"yours")
        assert sb.recv(5) == b"yours"
        sb.abort()
        assert a.lookupByName("test").isActive() == 1
    finally:
        a.close()
        b.close()


# ---------------------------------------------------------------- faults
def _opened(path: str) -> RawClient:
    c = RawClient(path)
    assert c.call("AUTH_LIST")[0] == "ok"
    assert c.call("CONNECT_OPEN", {"name": "test:///default", "flags": 0})[0] == "ok"
    return c


def _vol_wire(c: RawClient, name: str) -> dict:
    pool = c.call("STORAGE_POOL_LOOKUP_BY_NAME", {"name": "default-pool"})[1]["pool"]
    status, ret = c.call("STORAGE_VOL_LOOKUP_BY_NAME", {"pool": pool, "name": name})
    assert status == "ok", ret
    return ret["vol"]


def _stream_packet(proc: int, serial: int, status: Status, data: bytes = b"") -> bytes:
    return protocol.pack(Header(protocol.REMOTE_PROGRAM, protocol.REMOTE_VERSION, proc, MessageType.STREAM, serial,
                                status), data)


def test_cut_and_aborted_streams_end_only_themselves(guiappd: Guiappd) -> None:
    uri = f"test+unix:///default?socket={guiappd.rw}"
    other = gl.open(uri)
    pool = other.storagePoolLookupByName("default-pool")
    vol = pool.createXML("<volume><name>cut.img</name><capacity>1048576</capacity></volume>", 0)
    console = other.newStream(0)
    other.lookupByName("test").openConsole(None, console, 0)  # another client's stream runs meanwhile
    upload = protocol.procedure("STORAGE_VOL_UPLOAD")

    # 1. an upload cut in the middle of a data packet: that client is closed, the volume keeps its old bytes
    c = _opened(guiappd.rw)
    c.serial += 1
    c.send(protocol.call(upload, c.serial, {"vol": _vol_wire(c, "cut.img"), "offset": 0, "length": 0, "flags": 0}))
    assert c.reply(upload)[0] == "ok"
    c.send(_stream_packet(upload.number, c.serial, Status.CONTINUE, b"X" * 100_000))
    c.send(_stream_packet(upload.number, c.serial, Status.CONTINUE, b"Y" * 100_000)[:5000])
    c.sock.shutdown(1)
    assert c.closed()
    c.close()

    # 2. an abort: confirmed with an empty STREAM/OK, the connection stays usable
    c = _opened(guiappd.rw)
    c.serial += 1
    serial = c.serial
    c.send(protocol.call(upload, serial, {"vol": _vol_wire(c, "cut.img"), "offset": 0, "length": 0, "flags": 0}))
    assert c.reply(upload)[0] == "ok"
    c.send(_stream_packet(upload.number, serial, Status.CONTINUE, b"Z" * 1000))
    c.send(_stream_packet(upload.number, serial, Status.ERROR))
    h, payload = c.packet()
    assert (h.type, h.status, h.serial, payload) == (MessageType.STREAM, Status.OK, serial, b"")
    # 3. stray packets for a stream that is gone are dropped (as libvirtd): the connection stays
    c.send(_stream_packet(upload.number, serial, Status.CONTINUE, b"late"))
    c.send(_stream_packet(upload.number, 4242, Status.OK))
    assert c.call("CONNECT_GET_TYPE") == ("ok", {"type": "TEST"})
    # 4. data on a download stream fails that stream with libvirt's STREAM/ERROR, not the connection
    download = protocol.procedure("STORAGE_VOL_DOWNLOAD")
    c.serial += 1
    serial = c.serial
    c.send(protocol.call(download, serial, {"vol": _vol_wire(c, "cut.img"), "offset": 0, "length": 10, "flags": 0}))
    assert c.reply(download)[0] == "ok"
    c.send(_stream_packet(download.number, serial, Status.CONTINUE, b"nope"))
    seen = []
    while True:
        h, payload = c.packet()
        seen.append((h.status, len(payload)))
        if h.status == Status.ERROR:
            err = xdr.decode("remote_error", payload)
            break
        assert h.type == MessageType.STREAM and h.serial == serial
    assert err["code"] == gl.VIR_ERR_RPC and "download" in err["message"]
    assert c.call("CONNECT_GET_TYPE") == ("ok", {"type": "TEST"})
    c.close()

    st = other.newStream(0)
    vol.download(st, 0, 0, 0)
    data = b""
    while True:
        got = st.recv(1 << 20)
        if not got:
            break
        data += got
    st.finish()
    assert data == b"\0" * (1 << 20)  # neither the cut nor the aborted upload left anything behind
    console.send(b"still")
    assert console.recv(5) == b"still"
    console.finish()
    assert guiappd.alive()
    other.close()


def test_remote_driver_upload_download_files_through_guiappd(guiappd: Guiappd, tmp_path: Path) -> None:
    """guiapp's own remote driver (upload_file/download_file with progress, as the Storage window uses them)."""
    from guiapp.backend.storage import download_file, upload_file

    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(900_000))
    c = gl.open(f"test+unix:///default?socket={guiappd.rw}")
    try:
        vol = c.storagePoolLookupByName("default-pool").createXML(
            "<volume><name>files.img</name><capacity>1048576</capacity></volume>", 0)
        seen: list[int] = []
        assert upload_file(vol, str(src), lambda done, total: seen.append(done))
        assert seen[-1] == 900_000 and len(seen) >= 2
        out = tmp_path / "out.bin"
        assert download_file(vol, str(out))
        assert out.read_bytes()[:900_000] == src.read_bytes() and out.stat().st_size == 1 << 20
        # a cancelled download removes its partial file and leaves the connection usable
        assert not download_file(vol, str(tmp_path / "cancelled.bin"), cancelled=lambda: True)
        assert not (tmp_path / "cancelled.bin").exists()
        assert vol.info()[1] == 1 << 20
    finally:
        c.close()
