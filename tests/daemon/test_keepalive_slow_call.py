"""Keepalive replies never wait behind a call: a read-only call that hangs on the reader thread (as a QMP query
of a stopped QEMU does) gets its reading handed to a new thread, so PING still gets PONG at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from daemonlib import RawClient

from guiapp.backend.rpc import protocol
from guiapp.daemon import dispatch
from guiapp.daemon.conns import Connections
from guiapp.daemon.server import Server


@pytest.fixture
def server(tmp_path: Path):
    srv = Server(Connections(False, "test:///default"), workers=2, inline_limit=0.3)
    srv.listen(str(tmp_path / "sock"), False, 0o600)
    yield srv
    srv.stop()


def _pong_within(c: RawClient, seconds: float) -> float:
    """Send a PING; the seconds until its PONG (the test fails if another packet comes first)."""
    t0 = time.monotonic()
    c.send(protocol.keepalive(protocol.KEEPALIVE_PING))
    c.sock.settimeout(seconds)
    header, _ = c.packet()
    assert header.prog == protocol.KEEPALIVE_PROGRAM and header.proc == protocol.KEEPALIVE_PONG
    return time.monotonic() - t0


def test_pong_while_a_read_only_call_hangs(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = dispatch.HANDLERS["CONNECT_GET_HOSTNAME"]

    def hanging(session: Any, args: Any) -> Any:
        release.wait(30)  # stands in for a QMP query the guest never answers
        return real(session, args)

    monkeypatch.setitem(dispatch.HANDLERS, "CONNECT_GET_HOSTNAME", hanging)
    c = RawClient(str(tmp_path / "sock"))
    assert c.call("CONNECT_OPEN", {"name": "test:///default", "flags": 0})[0] == "ok"
    before = server.stats["reader_hand_overs"]  # opening the driver the first time may be slow too
    hostname = protocol.procedure("CONNECT_GET_HOSTNAME")
    c.send(protocol.call(hostname, 41, None))  # read-only: the reader thread runs it itself, and it hangs
    assert _pong_within(c, 5.0) < 3.0  # answered by the new reader thread, not after the hung call
    # other calls of this client keep being served meanwhile (on the pool), the hung one answers when it ends
    c.sock.settimeout(10)
    assert c.call("CONNECT_GET_TYPE") == ("ok", {"type": "TEST"})
    release.set()
    status, ret = c.reply(hostname)
    assert status == "ok" and ret["hostname"]
    assert server.stats["reader_hand_overs"] == before + 1
    # the old reader thread ended; the client keeps working on one reader, inline again
    for _ in range(3):
        assert c.call("CONNECT_GET_TYPE") == ("ok", {"type": "TEST"})
    assert _pong_within(c, 5.0) < 3.0
    readers = [t for t in threading.enumerate() if t.name == "guiappd-client"]
    assert len(readers) == 1
    c.close()
