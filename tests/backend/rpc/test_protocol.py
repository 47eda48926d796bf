"""Packet framing, headers, errors and keepalive packets."""

from __future__ import annotations

import struct

import pytest

from guiapp.backend.rpc import protocol, xdr
from guiapp.backend.rpc.protocol import Header, MessageType, ProtocolError, Status


def test_call_packet_layout() -> None:
    proc = protocol.procedure("CONNECT_OPEN")
    assert proc.number == 1 and proc == protocol.procedure("REMOTE_PROC_CONNECT_OPEN") == protocol.procedure(1)
    pkt = protocol.call(proc, 7, {"name": "test:///default", "flags": 0})
    total, prog, vers, num, typ, serial, status = struct.unpack_from(">7I", pkt)
    assert (total, prog, vers, num, typ, serial, status) == (len(pkt), 0x20008086, 1, 1, 0, 7, 0)
    assert pkt[28:] == b"\0\0\0\1" + b"\0\0\0\x0ftest:///default\0" + b"\0\0\0\0"


def test_frame_reader_splits_any_chunking() -> None:
    proc = protocol.procedure("DOMAIN_GET_INFO")
    ret = {"state": 1, "maxMem": 2, "memory": 3, "nrVirtCpu": 4, "cpuTime": 5}
    stream = b"".join(protocol.reply(proc, s, ret) for s in range(1, 6)) + protocol.keepalive(protocol.KEEPALIVE_PING)
    for step in (1, 3, 7, 28, 1000):
        r = protocol.FrameReader()
        got = []
        for i in range(0, len(stream), step):
            got += list(r.feed(stream[i:i + step]))
        assert [h.serial for h, _ in got] == [1, 2, 3, 4, 5, 0]
        assert all(xdr.decode(proc.ret, p) == ret for h, p in got[:5])
        assert got[5][0] == Header(protocol.KEEPALIVE_PROGRAM, 1, protocol.KEEPALIVE_PING, MessageType.MESSAGE, 0, 0)
        assert r.pending == 0


@pytest.mark.parametrize("length", [0, 4, 27, protocol.MESSAGE_MAX + 1, 0xFFFFFFFF])
def test_frame_reader_refuses_bad_lengths(length: int) -> None:
    r = protocol.FrameReader()
    with pytest.raises(ProtocolError):
        list(r.feed(struct.pack(">I", length) + bytes(24)))


def test_pack_refuses_more_than_32_mib() -> None:
    h = Header(protocol.REMOTE_PROGRAM, 1, 1, MessageType.REPLY, 1, Status.OK)
    with pytest.raises(ProtocolError, match="exceeds"):
        protocol.pack(h, bytes(protocol.MESSAGE_MAX))
    biggest = protocol.MESSAGE_MAX - protocol.LEN_LEN - protocol.HEADER_LEN
    assert len(protocol.pack(h, bytes(biggest))) == protocol.MESSAGE_MAX


def test_error_reply_and_server_side_decode() -> None:
    call = protocol.call(protocol.procedure("DOMAIN_LOOKUP_BY_NAME"), 9, {"name": "x"})
    (header, payload), = protocol.FrameReader().feed(call)
    proc, args = protocol.decode_call(header, payload)
    assert proc.name == "REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME" and args == {"name": "x"}
    err = protocol.make_error(42, 12, "Domain not found: no domain with matching name 'x'", str1="Domain not found")
    (rh, rp), = protocol.FrameReader().feed(protocol.error_reply(header, err))
    assert rh.type == MessageType.REPLY and rh.status == Status.ERROR and rh.serial == 9
    assert xdr.decode("remote_error", rp) == err
    with pytest.raises(ProtocolError, match="unknown remote procedure"):
        protocol.decode_call(header._replace(proc=9999), payload)
    with pytest.raises(ProtocolError, match="unknown program"):
        protocol.decode_call(header._replace(prog=1), payload)
    with pytest.raises(ProtocolError, match="DOMAIN_LOOKUP_BY_NAME"):
        protocol.decode_call(header, payload[:-2])


def test_read_only_table() -> None:
    ro = {p.name for p in protocol.BY_NUMBER.values() if p.read_only}
    assert {"REMOTE_PROC_CONNECT_OPEN", "REMOTE_PROC_DOMAIN_GET_XML_DESC", "REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS",
            "REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY"} <= ro
    assert not {"REMOTE_PROC_DOMAIN_CREATE", "REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS", "REMOTE_PROC_DOMAIN_UNDEFINE",
                "REMOTE_PROC_NETWORK_DESTROY", "REMOTE_PROC_DOMAIN_SET_MEMORY_FLAGS"} & ro


def test_typed_params_both_ways() -> None:
    from guiapp.backend.rpc.values import typed_params_from_dict, typed_params_to_dict

    values = {"state.state": 1, "cpu.time": 2**40, "balloon.x": -(2**40), "flag": True, "ratio": 0.5, "name": "n"}
    wire = typed_params_from_dict(values, {"state.state": 1})
    assert [p["value"][0] for p in wire] == [1, 4, 3, 6, 5, 7]
    data = xdr.encode("remote_connect_get_all_domain_stats_ret",
                      {"retStats": [{"dom": {"name": "d", "uuid": bytes(16), "id": 1}, "params": wire}]})
    back = xdr.decode("remote_connect_get_all_domain_stats_ret", data)["retStats"][0]["params"]
    assert typed_params_to_dict(back) == values and back[3]["value"] == (6, 1)


def test_fast_stats_decoder_agrees_with_the_generic_one() -> None:
    from guiapp.backend.rpc.values import decode_domain_stats, typed_params_from_dict, typed_params_to_dict

    records = []
    for i in range(40):
        values = {"state.state": i % 8, "cpu.time": 2**40 + i, "x.neg": -(2**35) - i, "x.uint": 2**32 - 1 - i,
                  "flag": bool(i % 2), "ratio": i / 3, "name": "n" * (i % 5) + "é\udcff"}
        wire = typed_params_from_dict(values, {"x.uint": 2})
        records.append({"dom": {"name": f"vm-{i}" + "x" * (i % 4), "uuid": bytes([i]) * 16, "id": i - 1},
                        "params": wire[: i % 8]})
    data = xdr.encode("remote_connect_get_all_domain_stats_ret", {"retStats": records})
    generic = [((r["dom"]["name"], r["dom"]["uuid"], r["dom"]["id"]), typed_params_to_dict(r["params"]))
               for r in xdr.decode("remote_connect_get_all_domain_stats_ret", data)["retStats"]]
    assert decode_domain_stats(data) == generic
    for cut in (1, 5, 17, len(data) // 2, len(data) - 1):
        with pytest.raises(xdr.XDRError):
            decode_domain_stats(data[:cut])
    with pytest.raises(xdr.XDRError, match="unexpected bytes"):
        decode_domain_stats(data + b"\0\0\0\0")
    with pytest.raises(xdr.XDRError, match="limit"):
        decode_domain_stats(b"\xff\xff\xff\xff")
    bad = xdr.encode("remote_connect_get_all_domain_stats_ret", {"retStats": [
        {"dom": {"name": "d", "uuid": bytes(16), "id": 1}, "params": [{"field": "f", "value": (1, 1)}]}]})
    with pytest.raises(xdr.XDRError, match="discriminant"):
        decode_domain_stats(bad[:-8] + b"\0\0\0\x09" + bad[-4:])
