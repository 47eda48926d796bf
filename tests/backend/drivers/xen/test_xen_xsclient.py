"""The XenStore client (pyxs wire layer plus guards) against Debian's real oxenstored."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from guiapp.backend import constants as C
from guiapp.backend.drivers.xen.xenstore import XenStoreDriver
from guiapp.backend.drivers.xen.xsclient import (
    XenStoreClient,
    XenStoreError,
    ping,
    read_only_socket,
    run_transaction,
    socket_candidates,
    walk,
)

pytestmark = pytest.mark.xen


@pytest.fixture
def client(xenstored):
    c = XenStoreClient(xenstored.socket, timeout=2.0)
    yield c
    c.close()


def test_read_write_directory_rm(client):
    client.write("/test/a", "1")
    client.write("/test/b/c", b"two")
    assert client.read("/test/a") == b"1"
    assert client.read_str("/test/b/c") == "two"
    assert sorted(client.directory("/test")) == ["a", "b"]
    assert client.read("/test/missing") is None
    assert client.read("/test/missing", b"dflt") == b"dflt"
    assert client.directory("/test/missing") is None
    client.rm("/test/b")
    assert client.directory("/test") == ["a"]
    client.rm("/test/b")  # removing what is gone is not an error


def test_read_many_pipelines_in_order(client):
    client.write("/many/a", "A")
    client.write("/many/c", "")
    assert client.read_many(["/many/a", "/many/b", "/many/c", "/many/a"]) == [b"A", None, b"", b"A"]
    with pytest.raises(XenStoreError) as exc:
        client.read_many(["/many/a", "/bad//path"])
    assert exc.value.code == C.VIR_ERR_INVALID_ARG


def test_empty_and_non_ascii_values_round_trip(client):
    """pyxs 0.4.1 refuses both client-side; the protocol carries any bytes."""
    client.write("/v/empty", b"")
    client.write("/v/utf8", "Grüße — ✓")
    client.write("/v/binary", bytes(range(1, 256)))
    assert client.read("/v/empty") == b""
    assert client.read_str("/v/utf8") == "Grüße — ✓"
    assert client.read("/v/binary") == bytes(range(1, 256))


def test_values_are_seen_by_the_xenstore_tools(client, xenstored):
    """Cross-check with another implementation of the protocol (libxenstore's xenstore-read)."""
    tool = shutil.which("xenstore-read")
    if tool is None:
        pytest.skip("xenstore-utils not installed")
    client.write("/cross/check", "hello from pyxs")
    out = subprocess.run([tool, "/cross/check", "/local/domain/0/name"], capture_output=True, text=True,
                         env=dict(os.environ, XENSTORED_PATH=xenstored.socket), timeout=10, check=True).stdout
    assert out.split("\n")[:2] == ["hello from pyxs", "Domain-0"]


def test_bad_paths_and_oversized_values_are_refused_with_a_code(client):
    for bad in ("/trailing/", "/double//slash", "/spa ce", "/dot.ted"):
        with pytest.raises(XenStoreError) as exc:
            client.write(bad, "x")
        assert exc.value.code == C.VIR_ERR_INVALID_ARG
        assert exc.value.domain == C.VIR_FROM_XENSTORE
    with pytest.raises(XenStoreError) as exc:
        client.write("/big", b"x" * 5000)
    assert exc.value.code == C.VIR_ERR_INVALID_ARG and "4096" in exc.value.detail


def test_daemon_errors_carry_the_errno_name(client):
    with pytest.raises(XenStoreError) as exc:
        client.get_perms("/no/such/node")
    assert exc.value.errname == "ENOENT"
    assert exc.value.code == C.VIR_ERR_OPERATION_FAILED
    assert "ENOENT" in str(exc.value)


def test_transactions_each_get_their_own_connection_and_conflicts_are_reported(client):
    client.write("/tx/counter", "0")
    t1 = client.transaction().__enter__()
    t2 = client.transaction().__enter__()
    try:
        assert t1.client is not t2.client is not client
        # read-modify-write in both (oxenstored merges blind writes, so each reads first)
        t1.write("/tx/counter", str(int(t1.read("/tx/counter")) + 1))
        t2.write("/tx/counter", str(int(t2.read("/tx/counter")) + 2))
        assert client.read("/tx/counter") == b"0"  # nothing visible before commit
        assert t1.commit() is True
        assert t2.commit() is False  # EAGAIN: the other transaction won
    finally:
        t1.__exit__(None, None, None)
        t2.__exit__(None, None, None)
    assert client.read("/tx/counter") == b"1"


def test_run_transaction_retries_concurrent_increments(client):
    client.write("/tx/n", "0")

    def bump(tx):
        value = int(tx.read("/tx/n"))
        tx.write("/tx/n", str(value + 1))

    threads = [threading.Thread(target=lambda: [run_transaction(client, bump, attempts=50) for _ in range(5)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert client.read("/tx/n") == b"20"


def test_watches_deliver_events_with_unique_tokens(client):
    w1 = client.watch("/watched")
    w2 = client.watch("/watched")  # same path, second watcher: no token sharing, no spin
    try:
        assert w1.get(2) == "/watched" and w2.get(2) == "/watched"  # the initial event
        assert w1.token != w2.token
        client.write("/watched/x", "1")
        assert w1.get(2) == "/watched/x"
        assert w2.get(2) == "/watched/x"
        assert w1.get(0.05) is None
    finally:
        w1.cancel()
        w2.cancel()


def test_introduce_and_release_fire_the_special_watches(client):
    intro = client.watch("@introduceDomain")
    rel = client.watch("@releaseDomain")
    try:
        assert intro.get(2) == "@introduceDomain" and rel.get(2) == "@releaseDomain"
        client.introduce(7, 1007, 1)
        assert intro.get(2) == "@introduceDomain"
        assert client.is_introduced(7) is True
        assert client.get_domain_path(7) == "/local/domain/7"
        client.release(7)
        assert rel.get(2) == "@releaseDomain"
        assert client.is_introduced(7) is False
    finally:
        intro.cancel()
        rel.cancel()


def test_walk_lists_domain0(client):
    tree = dict(walk(client, "/local/domain/0"))
    assert tree["/local/domain/0/name"] == b"Domain-0"
    assert tree["/local/domain/0/cpu/1/availability"] == b"online"


def test_hung_daemon_gives_a_timeout_error_in_bounded_time(xenstored):
    c = XenStoreClient(xenstored.socket, timeout=0.3)
    try:
        xenstored.signal(signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(XenStoreError) as exc:
            c.read("/local/domain/0/name")
        assert time.monotonic() - t0 < 2.0
        assert exc.value.code == C.VIR_ERR_OPERATION_TIMEOUT
        assert exc.value.domain == C.VIR_FROM_XENSTORE
    finally:
        xenstored.signal(signal.SIGCONT)
        c.close()
    # a fresh client works again once the daemon runs
    with XenStoreClient(xenstored.socket, timeout=2) as again:
        assert again.read("/local/domain/0/name") == b"Domain-0"


def test_daemon_gone_wakes_waiters_with_no_xenstore(xenstored):
    c = XenStoreClient(xenstored.socket, timeout=5.0)
    w = c.watch("/gone")
    assert w.get(2) == "/gone"
    xenstored.stop()
    t0 = time.monotonic()
    with pytest.raises(XenStoreError) as exc:
        for _ in range(50):  # the first requests may race with the router noticing EOF
            c.read("/local/domain/0/name")
            time.sleep(0.02)
    assert time.monotonic() - t0 < 2.0
    assert exc.value.code == C.VIR_ERR_NO_XENSTORE
    with pytest.raises(XenStoreError):
        w.get(2)
    c.close()
    with pytest.raises(XenStoreError) as exc:
        XenStoreClient(xenstored.socket, timeout=0.5)
    assert exc.value.code == C.VIR_ERR_NO_XENSTORE


def test_ping_is_quick_and_never_hangs(xenstored, tmp_path):
    assert ping(xenstored.socket)
    assert not ping(str(tmp_path / "nothing"))
    xenstored.signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        assert not ping(xenstored.socket, 0.05)
        assert time.monotonic() - t0 < 0.5
    finally:
        xenstored.signal(signal.SIGCONT)


def test_socket_candidates_and_read_only_socket(monkeypatch, tmp_path):
    monkeypatch.setenv("XENSTORED_PATH", "/env/socket")
    assert socket_candidates("/explicit")[:2] == ["/explicit", "/env/socket"]
    assert "/var/run/xenstored/socket" in socket_candidates()
    sock = tmp_path / "socket"
    sock.touch()
    assert read_only_socket(str(sock)) == str(sock)  # oxenstored has no read-only socket
    (tmp_path / "socket_ro").touch()
    assert read_only_socket(str(sock)) == str(tmp_path / "socket_ro")


def test_xenstore_subdriver_reads_domain0(xenstored):
    xs = XenStoreDriver(xenstored.socket, read_only=True, timeout=2)
    try:
        assert xs.list_domids() == [0]
        d = xs.domain(0)
        assert d is not None
        assert (d.name, d.uuid, d.os_type) == ("Domain-0", bytes(16), "linux")
        assert (d.max_kib, d.target_kib, d.vcpus_online, d.vcpus_max) == (1048576, 1048576, 2, 2)
        assert xs.find(name="Domain-0") == d
        assert xs.find(uuid=bytes(16)) == d
        assert xs.find(name="nope") is None
        assert xs.domain(5) is None
        xs.request_shutdown(0, "reboot")
        assert xs.client().read_str("/local/domain/0/control/shutdown") == "reboot"
    finally:
        xs.close()


def test_xenstore_subdriver_reconnects_after_a_daemon_restart(xenstored):
    xs = XenStoreDriver(xenstored.socket, read_only=False, timeout=1)
    try:
        assert xs.list_domids() == [0]
        xenstored.stop()
        with pytest.raises(XenStoreError):
            for _ in range(50):
                xs.list_domids()
                time.sleep(0.02)
        assert not xs.is_alive()
        xenstored.start()
        xenstored.populate_dom0()
        assert xs.list_domids() == [0]
    finally:
        xs.close()
