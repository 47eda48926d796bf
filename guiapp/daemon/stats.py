"""Bulk statistics for many clients: one encoding per request, shared for a short time.

``CONNECT_GET_ALL_DOMAIN_STATS`` replies are the daemon's largest and most frequent
(every GUI polls them every second).  Two things keep them cheap:

* :func:`encode_stats` writes the XDR reply directly (field names encoded once and
  remembered), instead of building ``remote_typed_param`` dicts for the generic encoder;
* :class:`StatsCache` keeps each encoded reply for ``ttl`` seconds (guiappd's
  ``--stats-cache``, default 1 s, 0 = off), keyed by connection URI, stats groups, flags
  and the requested domains, so N clients polling the same host cost one collection.
"""

from __future__ import annotations

import struct
import threading
import time
from typing import Any, Callable, Hashable

from ..backend import constants as C

_I = struct.Struct(">I")
_i = struct.Struct(">i")
_TAG_Q = struct.Struct(">iQ")
_TAG_q = struct.Struct(">iq")
_TAG_d = struct.Struct(">id")
_TAG_i = struct.Struct(">ii")
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")
STRING_MAX = 4194304  # REMOTE_STRING_MAX


def xdr_string(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogateescape")
    if len(raw) > STRING_MAX:
        raise ValueError(f"string of {len(raw)} bytes exceeds the protocol limit")
    return _I.pack(len(raw)) + raw + _PAD[len(raw) & 3]


class _Fields(dict[str, bytes]):
    def __missing__(self, key: str) -> bytes:
        value = self[key] = xdr_string(key)
        return value


_FIELDS = _Fields()
_FIELDS_LOCK = threading.Lock()


def encode_param(field: str, value: Any) -> bytes:
    """One ``remote_typed_param`` (bool, 64-bit signed/unsigned int, double, string)."""
    name = _FIELDS.get(field)
    if name is None:
        with _FIELDS_LOCK:
            name = _FIELDS[field]
    if isinstance(value, bool):
        return name + _TAG_i.pack(C.VIR_TYPED_PARAM_BOOLEAN, int(value))
    if isinstance(value, int):
        if value >= 0:
            return name + _TAG_Q.pack(C.VIR_TYPED_PARAM_ULLONG, value)
        return name + _TAG_q.pack(C.VIR_TYPED_PARAM_LLONG, value)
    if isinstance(value, float):
        return name + _TAG_d.pack(C.VIR_TYPED_PARAM_DOUBLE, value)
    return name + _i.pack(C.VIR_TYPED_PARAM_STRING) + xdr_string(str(value))


_ID_COUNT = struct.Struct(">iI")
_NAMES: dict[str, bytes] = {}  # domain name -> its XDR string (bounded below; names change rarely)
_NAMES_MAX = 65536
_ULLONG = int(C.VIR_TYPED_PARAM_ULLONG)
_LLONG = int(C.VIR_TYPED_PARAM_LLONG)


def _xdr_name(name: str) -> bytes:
    raw = _NAMES.get(name)
    if raw is None:
        raw = xdr_string(name)
        if len(_NAMES) >= _NAMES_MAX:
            _NAMES.clear()
        _NAMES[name] = raw
    return raw


def encode_stats(rows: list[tuple[str, bytes, int, dict[str, Any]]]) -> bytes:
    """The XDR of ``remote_connect_get_all_domain_stats_ret`` for ``[(name, uuid, id, {field: value})]``.

    Hot path of every poll: plain ints (most fields) are packed inline with their cached field name, the
    rest go through :func:`encode_param`; domain names are encoded once and remembered.
    """
    out = [_I.pack(len(rows))]
    put = out.append
    fields = _FIELDS
    tag_q, tag_sq = _TAG_Q.pack, _TAG_q.pack
    for name, uuid, dom_id, values in rows:
        if len(uuid) != 16:
            raise ValueError(f"domain uuid of {len(uuid)} bytes")
        put(_xdr_name(name))
        put(uuid)
        put(_ID_COUNT.pack(dom_id, len(values)))
        for k, v in values.items():
            if type(v) is int:  # not bool (a subclass): exact type check
                name_raw = fields.get(k)
                if name_raw is None:
                    put(encode_param(k, v))
                    continue
                put(name_raw)
                put(tag_q(_ULLONG, v) if v >= 0 else tag_sq(_LLONG, v))
            else:
                put(encode_param(k, v))
    return b"".join(out)


class StatsCache:
    """Encoded bulk-stats replies shared between clients for ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self._busy: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        """The cached reply for ``key``, or ``compute()`` (run once even when many clients ask at once)."""
        if self.ttl <= 0:
            return compute()
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and now - hit[0] < self.ttl:
                return hit[1]
            busy = self._busy.setdefault(key, threading.Lock())
        with busy:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None and time.monotonic() - hit[0] < self.ttl:
                    return hit[1]
            data = compute()
            with self._lock:
                self._entries[key] = (time.monotonic(), data)
                if len(self._entries) > 256:  # forget old keys (clients asking for ever-new domain lists)
                    cutoff = time.monotonic() - self.ttl
                    self._entries = {k: v for k, v in self._entries.items() if v[0] >= cutoff}
            return data

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
