"""The RPC client against Debian's real libvirtd, and against a scripted peer misbehaving."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Optional

import pytest
from fakeserver import FakeServer

from guiapp.backend.rpc import protocol, xdr
from guiapp.backend.rpc.client import CallTimeout, Client, ConnectionClosed, RemoteError
from guiapp.backend.rpc.protocol import Header, MessageType, Status
from guiapp.backend.rpc.transport import SocketTransport, TransportError


def open_test(daemon, name: str = "test:///default", **kw) -> Client:
    client = Client(SocketTransport.unix(daemon.sock), **kw)
    client.call("CONNECT_OPEN", {"name": name, "flags": 0})
    return client


def test_real_libvirtd_calls(libvirtd) -> None:
    c = open_test(libvirtd)
    try:
        assert c.call("CONNECT_GET_TYPE") == {"type": "TEST"}
        assert c.call("CONNECT_GET_URI") == {"uri": "test:///default"}
        doms = c.call("CONNECT_LIST_ALL_DOMAINS", {"need_results": 1, "flags": 0})
        assert [d["name"] for d in doms["domains"]] == ["test"] and doms["ret"] == 1
        info = c.call("DOMAIN_GET_INFO", {"dom": doms["domains"][0]})
        assert info["state"] == 1 and info["nrVirtCpu"] == 2
        xml = c.call("DOMAIN_GET_XML_DESC", {"dom": doms["domains"][0], "flags": 0})["xml"]
        assert "<name>test</name>" in xml
        stats = c.call("CONNECT_GET_ALL_DOMAIN_STATS", {"doms": [], "stats": 1, "flags": 0})["retStats"]
        assert {p["field"]: p["value"] for p in stats[0]["params"]}["state.state"] == (1, 1)
        with pytest.raises(RemoteError) as err:
            c.call("DOMAIN_LOOKUP_BY_NAME", {"name": "nope"})
        assert (err.value.error["code"], err.value.error["domain"]) == (42, 12)  # NO_DOMAIN, FROM_TEST
    finally:
        c.close()


def test_many_threads_share_one_connection(libvirtd) -> None:
    c = open_test(libvirtd)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(50):
                assert c.call("CONNECT_GET_HOSTNAME")["hostname"]
                assert c.call("CONNECT_NUM_OF_DOMAINS")["num"] == 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.close()
    assert errors == []


def test_events_reach_the_callback(libvirtd) -> None:
    got: list[tuple[str, dict]] = []
    seen = threading.Event()

    def on_event(proc, msg) -> None:
        got.append((proc.name, msg))
        seen.set()

    c = Client(SocketTransport.unix(libvirtd.sock), on_event=on_event)
    c.call("CONNECT_OPEN", {"name": "test:///default", "flags": 0})
    cb = c.call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", {"eventID": 0, "dom": None})["callbackID"]
    dom = c.call("DOMAIN_LOOKUP_BY_NAME", {"name": "test"})["dom"]
    c.call("DOMAIN_SUSPEND", {"dom": dom})
    assert seen.wait(10)
    c.call("DOMAIN_RESUME", {"dom": dom})
    c.call("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", {"callbackID": cb})
    c.close()
    name, msg = got[0]
    assert name == "REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE"
    assert msg["callbackID"] == cb and msg["msg"]["dom"]["name"] == "test" and msg["msg"]["event"] == 3  # SUSPENDED


def test_killed_libvirtd_fails_pending_and_later_calls(own_libvirtd) -> None:
    c = open_test(own_libvirtd)
    results: list[BaseException] = []

    def caller() -> None:
        try:
            while True:
                c.call("CONNECT_LIST_ALL_DOMAINS", {"need_results": 1, "flags": 0})
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    own_libvirtd.kill()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert time.monotonic() - t0 < 5
    assert len(results) == 4 and all(isinstance(e, ConnectionClosed) for e in results)
    assert not c.is_alive()
    with pytest.raises(ConnectionClosed):
        c.call("CONNECT_GET_TYPE")
    c.close()


def test_connect_to_missing_socket(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="Failed to connect socket"):
        SocketTransport.unix(str(tmp_path / "nothing"))


# ---- a scripted peer --------------------------------------------------------
def _reply(header: Header, payload: bytes = b"") -> bytes:
    return protocol.pack(header._replace(type=MessageType.REPLY, status=Status.OK), payload)


def _serve(tmp_path: Path, handler, **kw) -> tuple[FakeServer, Client]:
    server = FakeServer(tmp_path / "s", handler)
    return server, Client(SocketTransport.unix(server.path), timeout=10, **kw)


@pytest.mark.parametrize("garbage", [
    b"\xff\xff\xff\xff" + bytes(60),  # length 4 GiB
    (protocol.MESSAGE_MAX + 1).to_bytes(4, "big") + bytes(24),  # just over 32 MiB
    b"\0\0\0\x05junk",  # shorter than a header
    (28).to_bytes(4, "big") + bytes(range(24)),  # a header of an unknown message type
])
def test_garbage_from_the_server_closes_with_a_clear_error(tmp_path: Path, garbage: bytes) -> None:
    server, c = _serve(tmp_path, lambda h, p, conn: garbage)
    t0 = time.monotonic()
    with pytest.raises(ConnectionClosed, match="protocol error|unexpected message type"):
        c.call("CONNECT_GET_TYPE")
    assert time.monotonic() - t0 < 5
    c.close()
    server.close()


def test_truncated_packet_then_eof(tmp_path: Path) -> None:
    def handler(h: Header, p: bytes, conn: socket.socket) -> Optional[bytes]:
        pkt = _reply(h, xdr.encode("remote_connect_get_type_ret", {"type": "QEMU"}))
        conn.sendall(pkt[:-3])
        conn.shutdown(socket.SHUT_RDWR)
        return None

    server, c = _serve(tmp_path, handler)
    with pytest.raises(ConnectionClosed, match="middle of a packet"):
        c.call("CONNECT_GET_TYPE")
    c.close()
    server.close()


def test_malformed_reply_payload(tmp_path: Path) -> None:
    server, c = _serve(tmp_path, lambda h, p, conn: _reply(h, b"\0\0\0\x09abc"))
    with pytest.raises(ConnectionClosed, match="malformed reply"):
        c.call("CONNECT_GET_TYPE")
    c.close()
    server.close()


def test_silent_server_times_out_and_keepalive_declares_it_dead(tmp_path: Path) -> None:
    server, c = _serve(tmp_path, lambda h, p, conn: None, keepalive_interval=0.5, keepalive_count=2)
    with pytest.raises(CallTimeout):
        c.call("CONNECT_GET_TYPE", timeout=0.3)
    assert c.is_alive()
    c.keepalive_enabled = True
    t0 = time.monotonic()
    with pytest.raises(ConnectionClosed, match="keepalive timeout"):
        c.call("CONNECT_GET_TYPE", timeout=30)
    assert time.monotonic() - t0 < 5
    pings = [h for h in server.received if h.prog == protocol.KEEPALIVE_PROGRAM]
    assert pings and all(h.proc == protocol.KEEPALIVE_PING for h in pings)
    c.close()
    server.close()


def test_keepalive_pong_keeps_connection_and_server_ping_is_answered(tmp_path: Path) -> None:
    def handler(h: Header, p: bytes, conn: socket.socket) -> Optional[bytes]:
        if h.prog == protocol.KEEPALIVE_PROGRAM and h.proc == protocol.KEEPALIVE_PING:
            return protocol.keepalive(protocol.KEEPALIVE_PONG)
        return None

    server, c = _serve(tmp_path, handler, keepalive_interval=1.0, keepalive_count=2)
    c.keepalive_enabled = True
    time.sleep(4.0)  # several PING/PONG rounds; dead only after 3 s without any answer
    assert c.is_alive()
    server.conns[0].sendall(protocol.keepalive(protocol.KEEPALIVE_PING))
    deadline = time.monotonic() + 5
    while not any(h.proc == protocol.KEEPALIVE_PONG for h in server.received) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(h.proc == protocol.KEEPALIVE_PONG and h.prog == protocol.KEEPALIVE_PROGRAM for h in server.received)
    c.close()
    server.close()
