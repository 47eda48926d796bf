"""Conversions between API values and their wire forms, for both ends (client driver and daemon)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

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
