"""XDR codecs: every generated type round-trips; encodings match RFC 4506 byte for byte; limits hold."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from guiapp.backend.rpc import remote_gen, xdr

ROOT = Path(__file__).resolve().parents[3]


def sample(spec: Any, variant: int = 0) -> Any:
    """A value of ``spec`` (variant picks union arms and sizes)."""
    kind = spec[0]
    if kind == "ref":
        return sample(remote_gen.TYPES[spec[1]], variant)
    if kind == "int":
        return -7 - variant
    if kind == "uint":
        return 0xFFFFFFF0 + variant % 10
    if kind == "hyper":
        return -(2**40) - variant
    if kind == "uhyper":
        return 2**63 + variant
    if kind == "double":
        return 1.5 + variant
    if kind == "string":
        return "naïve\udcff"[: min(spec[1], 6)] if spec[1] >= 6 else "x"
    if kind == "opaque":
        return bytes(range(min(spec[1], 5)))
    if kind == "fopaque":
        return bytes(i % 256 for i in range(spec[1]))
    if kind == "opt":
        return None if variant % 2 else sample(spec[1], variant)
    if kind == "varray":
        return [sample(spec[1], variant + i) for i in range(min(spec[2], 2))]
    if kind == "farray":
        return [sample(spec[1], variant) for _ in range(spec[2])]
    if kind == "struct":
        return {name: sample(f, variant) for name, f in spec[1]}
    if kind == "union":
        case, _arm, arm_spec = spec[2][variant % len(spec[2])]
        return (case, sample(arm_spec, variant))
    raise AssertionError(kind)


@pytest.mark.parametrize("variant", [0, 1, 2, 3, 4, 5, 6])
def test_every_type_round_trips(variant: int) -> None:
    assert len(remote_gen.TYPES) > 700
    for name, spec in remote_gen.TYPES.items():
        value = sample(spec, variant)
        data = xdr.encode(name, value)
        assert len(data) % 4 == 0, name
        assert xdr.decode(name, data) == value, name


def test_generated_tables_cover_libvirt_9() -> None:
    procs = remote_gen.PROCEDURES
    assert len(procs) == 443
    assert [p[0] for p in procs] == list(range(1, 444))
    by_name = {p[1]: p for p in procs}
    assert by_name["REMOTE_PROC_DOMAIN_GET_INFO"][2:4] == ("remote_domain_get_info_args", "remote_domain_get_info_ret")
    assert by_name["REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE"][2] == "remote_domain_event_callback_lifecycle_msg"
    assert by_name["REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS"][7] is True  # search_domains: read-only safe
    assert by_name["REMOTE_PROC_DOMAIN_DESTROY"][7] is False
    assert by_name["REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS"][7] is False
    assert "VIR_DOMAIN_XML_SECURE" in by_name["REMOTE_PROC_DOMAIN_GET_XML_DESC"][8]
    assert remote_gen.CONSTANTS["VIR_NET_MESSAGE_MAX"] == 32 * 1024 * 1024
    assert remote_gen.CONSTANTS["REMOTE_PROGRAM"] == 0x20008086


@pytest.mark.skipif(not Path("/work/libvirt-src/libvirt-9.0.0/src/remote/remote_protocol.x").exists(),
                    reason="libvirt 9.0 source not unpacked here")
def test_generator_output_is_reproducible() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "tools/gen_rpc.py")], capture_output=True, check=True).stdout
    assert out == (ROOT / "guiapp/backend/rpc/remote_gen.py").read_bytes()


def test_bytes_match_rfc4506() -> None:
    info = {"state": 1, "maxMem": 2**33, "memory": 5, "nrVirtCpu": 2, "cpuTime": 9}
    assert xdr.encode("remote_domain_get_info_ret", info) == struct.pack(">IQQIQ", 1, 2**33, 5, 2, 9)
    # string: length, bytes, zero padding to 4; optional: a boolean word first
    assert xdr.encode("remote_nonnull_string", "abcde") == b"\0\0\0\5abcde\0\0\0"
    assert xdr.encode("remote_string", None) == b"\0\0\0\0"
    assert xdr.encode("remote_string", "ab") == b"\0\0\0\1\0\0\0\2ab\0\0"
    dom = {"name": "t", "uuid": bytes(range(16)), "id": -1}
    assert xdr.encode("remote_nonnull_domain", dom) == b"\0\0\0\1t\0\0\0" + bytes(range(16)) + b"\xff\xff\xff\xff"
    # union: discriminant then the arm
    param = {"field": "f", "value": (7, "v")}
    assert xdr.encode("remote_typed_param", param) == b"\0\0\0\1f\0\0\0" + b"\0\0\0\7" + b"\0\0\0\1v\0\0\0"
    assert xdr.encode("remote_typed_param", {"field": "f", "value": (5, 0.5)})[-8:] == struct.pack(">d", 0.5)


@pytest.mark.parametrize("type_name,value", [
    ("remote_nonnull_string", "x" * (4 * 1024 * 1024 + 1)),  # REMOTE_STRING_MAX
    ("remote_connect_list_all_domains_ret", {"domains": [{"name": "a", "uuid": bytes(16), "id": 1}] * 16385,
                                             "ret": 0}),  # REMOTE_DOMAIN_LIST_MAX
    ("remote_nonnull_domain", {"name": "a", "uuid": bytes(15), "id": 1}),  # uuid must be 16 bytes
    ("remote_domain_get_info_ret", {"state": -1, "maxMem": 0, "memory": 0, "nrVirtCpu": 0, "cpuTime": 0}),
    ("remote_domain_get_info_ret", {"state": 1}),  # missing fields
    ("remote_typed_param", {"field": "f", "value": (99, 1)}),  # unknown union arm
])
def test_encoding_refuses_invalid_values(type_name: str, value: Any) -> None:
    with pytest.raises(xdr.XDRError):
        xdr.encode(type_name, value)


def test_decoding_refuses_hostile_bytes() -> None:
    good = xdr.encode("remote_nonnull_domain", {"name": "abc", "uuid": bytes(16), "id": 3})
    for cut in range(len(good)):
        with pytest.raises(xdr.XDRError):
            xdr.decode("remote_nonnull_domain", good[:cut])
    with pytest.raises(xdr.XDRError, match="unexpected bytes"):
        xdr.decode("remote_nonnull_domain", good + b"\0\0\0\0")
    # a length word claiming 4 GiB must be refused before anything is allocated
    with pytest.raises(xdr.XDRError, match="exceeds the protocol limit"):
        xdr.decode("remote_nonnull_string", b"\xff\xff\xff\xf0")
    with pytest.raises(xdr.XDRError, match="exceeds the protocol limit"):
        xdr.decode("remote_connect_list_all_domains_ret", b"\x7f\xff\xff\xff")
    with pytest.raises(xdr.XDRError, match="discriminant"):
        xdr.decode("remote_typed_param", b"\0\0\0\1f\0\0\0\0\0\0\x63")
    with pytest.raises(xdr.XDRError, match="unknown XDR type"):
        xdr.encode("no_such_type", 1)


def test_strings_keep_undecodable_bytes() -> None:
    raw = b"\0\0\0\3a\xffb\0"
    value = xdr.decode("remote_nonnull_string", raw)
    assert xdr.encode("remote_nonnull_string", value) == raw
