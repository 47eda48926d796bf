"""Bulk statistics written straight to XDR, and shared between clients only until something changes."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pytest
from daemonlib import Guiappd

import guiapp.backend as gl
from guiapp.backend.rpc import xdr
from guiapp.backend.rpc.values import typed_params_to_dict as typed_params
from guiapp.daemon.stats import StatsCache, encode_stats


def test_encoded_stats_decode_to_the_same_values() -> None:
    rows = [("a", bytes(range(16)), 3, {"state.state": 1, "flag": True, "neg": -5, "big": 2 ** 63 + 1,
                                        "ratio": 0.25, "name": "vda ü", "": ""}),
            ("b" * 37, b"\xff" * 16, -1, {})]
    first = encode_stats(rows)
    assert encode_stats(rows) == first  # the second pass uses the remembered field and domain names
    got = xdr.decode("remote_connect_get_all_domain_stats_ret", first)
    assert [(r["dom"]["name"], r["dom"]["uuid"], r["dom"]["id"], typed_params(r["params"])) for r in got["retStats"]] \
        == rows
    with pytest.raises(ValueError):
        encode_stats([("a", b"short", 1, {})])
    with pytest.raises(struct.error):  # out of range for every XDR integer type: refused, never wrapped
        encode_stats([("a", bytes(16), 1, {"state.state": 2 ** 64}), ("a", bytes(16), 1, {"state.state": 2 ** 64})])


def test_cache_shares_until_cleared() -> None:
    calls = []
    cache = StatsCache(60)
    assert cache.get("k", lambda: calls.append(1) or b"x") == b"x"
    assert cache.get("k", lambda: calls.append(1) or b"y") == b"x"
    cache.clear()
    assert cache.get("k", lambda: calls.append(1) or b"z") == b"z"
    assert len(calls) == 2
    assert StatsCache(0).get("k", lambda: b"fresh") == b"fresh"


@pytest.mark.skipif(shutil.which("virsh") is None, reason="virsh is not installed")
def test_a_change_is_seen_by_the_next_poll(guiappd: Guiappd) -> None:
    def state() -> str:
        out = subprocess.run(["virsh", "-q", "-c", f"test+unix:///default?socket={guiappd.rw}", "domstats",
                              "--state"], capture_output=True, text=True, timeout=60).stdout
        return re.search(r"state\.state=(\d+)", out).group(1)  # type: ignore[union-attr]
    with gl.open(f"test+unix:///default?socket={guiappd.rw}") as c:
        assert dict(c.getAllDomainStats())  # fills the shared cache
        c.lookupByName("test").destroy()
        assert [v["state.state"] for _d, v in c.getAllDomainStats()] == [gl.VIR_DOMAIN_SHUTOFF]
    assert state() == str(gl.VIR_DOMAIN_SHUTOFF)
