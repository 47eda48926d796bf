"""Conversions between API values and their wire forms, for both ends (client driver and daemon)."""

from __future__ import annotations

import struct
from typing import Any, Iterable, Mapping, Optional

from .remote_gen import CONSTANTS
from .xdr import XDRError

VIR_TYPED_PARAM_INT, VIR_TYPED_PARAM_UINT, VIR_TYPED_PARAM_LLONG, VIR_TYPED_PARAM_ULLONG = 1, 2, 3, 4
VIR_TYPED_PARAM_DOUBLE, VIR_TYPED_PARAM_BOOLEAN, VIR_TYPED_PARAM_STRING = 5, 6, 7
_INT32 = range(-(2**31), 2**31)


def typed_params_to_dict(params: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``remote_typed_param`` list -> {field: value} as libvirt-python returns it (booleans as bool)."""
    out: dict[str, Any] = {}
    for p in params:
        kind, value = p["value"]
        out[p["field"]] = bool(value) if kind == VIR_TYPED_PARAM_BOOLEAN else value
    return out


def typed_param_type(value: Any) -> int:
    """The wire type for a Python value: bool, float, str, int (INT when it fits 32 bits, else (U)LLONG)."""
    if isinstance(value, bool):
        return VIR_TYPED_PARAM_BOOLEAN
    if isinstance(value, float):
        return VIR_TYPED_PARAM_DOUBLE
    if isinstance(value, str):
        return VIR_TYPED_PARAM_STRING
    if isinstance(value, int):
        if value in _INT32:
            return VIR_TYPED_PARAM_INT
        return VIR_TYPED_PARAM_LLONG if value < 0 else VIR_TYPED_PARAM_ULLONG
    raise TypeError(f"no typed parameter type for {type(value).__name__}")


def typed_params_from_dict(values: Mapping[str, Any], types: Optional[Mapping[str, int]] = None) -> list[dict]:
    """{field: value} -> ``remote_typed_param`` list; ``types`` overrides the type of given fields."""
    types = types or {}
    out = []
    for field, value in values.items():
        kind = types.get(field) or typed_param_type(value)
        out.append({"field": field, "value": (kind, int(value) if kind == VIR_TYPED_PARAM_BOOLEAN else value)})
    return out


_U32 = struct.Struct(">I").unpack_from
_S32 = struct.Struct(">i").unpack_from
_S64 = struct.Struct(">q").unpack_from
_U64 = struct.Struct(">Q").unpack_from
_F64 = struct.Struct(">d").unpack_from
_ID_COUNT = struct.Struct(">iI").unpack_from
_STATS_MAX = CONSTANTS["REMOTE_DOMAIN_LIST_MAX"]
_PARAMS_MAX = CONSTANTS["REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX"]
_STRING_MAX = CONSTANTS["REMOTE_STRING_MAX"]


_FIELD_NAMES: dict[bytes, str] = {}  # wire field name -> str (a poll repeats the same few dozen names)
_FIELD_NAMES_MAX = 4096


def decode_domain_stats(b: bytes) -> list[tuple[tuple[str, bytes, int], dict[str, Any]]]:
    """``remote_connect_get_all_domain_stats_ret`` straight to ``[((name, uuid, id), {field: value})]``.

    The hot path of every poll tick: the same result as ``xdr.decode`` + :func:`typed_params_to_dict`,
    without an intermediate dict per parameter (field names decoded once and remembered, struct
    functions bound to locals).  Raises ``xdr.XDRError`` on malformed or truncated data.
    """
    end = len(b)
    u32, s32, s64, u64, f64 = _U32, _S32, _S64, _U64, _F64
    names = _FIELD_NAMES
    smax = _STRING_MAX
    try:
        (count,), o = u32(b, 0), 4
        if count > _STATS_MAX:
            raise XDRError(f"retStats: {count} records exceed the protocol limit {_STATS_MAX}")
        out: list[tuple[tuple[str, bytes, int], dict[str, Any]]] = []
        put = out.append
        for _ in range(count):
            (n,) = u32(b, o)
            o += 4
            if n > smax or o + n > end:
                raise XDRError("truncated or oversized domain name in the stats reply")
            name = b[o:o + n].decode("utf-8", "surrogateescape")
            o += (n + 3) & ~3
            uuid = b[o:o + 16]
            dom_id, nparams = _ID_COUNT(b, o + 16)
            o += 24
            if nparams > _PARAMS_MAX:
                raise XDRError(f"params: {nparams} exceed the protocol limit {_PARAMS_MAX}")
            params: dict[str, Any] = {}
            for _ in range(nparams):
                (n,) = u32(b, o)
                o += 4
                if n > smax or o + n > end:
                    raise XDRError("truncated or oversized field name in the stats reply")
                raw = b[o:o + n]
                field = names.get(raw)
                if field is None:
                    field = raw.decode("utf-8", "surrogateescape")
                    if len(names) < _FIELD_NAMES_MAX:
                        names[raw] = field
                o += (n + 3) & ~3
                (kind,) = u32(b, o)
                o += 4
                if kind == VIR_TYPED_PARAM_ULLONG:
                    (value,) = u64(b, o)
                    o += 8
                elif kind == VIR_TYPED_PARAM_INT:
                    (value,) = s32(b, o)
                    o += 4
                elif kind == VIR_TYPED_PARAM_UINT:
                    (value,) = u32(b, o)
                    o += 4
                elif kind == VIR_TYPED_PARAM_LLONG:
                    (value,) = s64(b, o)
                    o += 8
                elif kind == VIR_TYPED_PARAM_DOUBLE:
                    (value,) = f64(b, o)
                    o += 8
                elif kind == VIR_TYPED_PARAM_BOOLEAN:
                    value = bool(s32(b, o)[0])
                    o += 4
                elif kind == VIR_TYPED_PARAM_STRING:
                    (n,) = u32(b, o)
                    o += 4
                    if n > smax or o + n > end:
                        raise XDRError("truncated or oversized string value in the stats reply")
                    value = b[o:o + n].decode("utf-8", "surrogateescape")
                    o += (n + 3) & ~3
                else:
                    raise XDRError(f"remote_typed_param_value: unknown union discriminant {kind}")
                params[field] = value
            put(((name, uuid, dom_id), params))
    except struct.error as exc:
        raise XDRError(f"truncated or malformed remote_connect_get_all_domain_stats_ret: {exc}") from None
    if o != end:
        raise XDRError(f"{end - o} unexpected bytes after remote_connect_get_all_domain_stats_ret")
    return out
