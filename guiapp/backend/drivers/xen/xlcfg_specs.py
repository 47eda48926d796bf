"""Shared pieces of the domain XML <-> xl.cfg mapping: value checks for device specs and the name tables."""

from __future__ import annotations

import ipaddress

from ... import constants as C
from ...errors import DriverError

FROM = C.VIR_FROM_DOMAIN

BOOT_TO_XL = {"hd": "c", "cdrom": "d", "fd": "a", "network": "n"}
BOOT_FROM_XL = {v: k for k, v in BOOT_TO_XL.items()}
BACKEND_TO_XL = {"phy": "phy", "qemu": "qdisk", "tap": "tap", "tap2": "tap", "qdisk": "qdisk"}
BACKEND_FROM_XL = {"phy": "phy", "qdisk": "qemu", "tap": "tap"}
XL_ACTIONS = ("destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart",
              "soft-reset")
#: libvirt's CPU feature names that libxl's ``cpuid=`` spells differently (libvirt name, libxl name).
CPUID_NAMES = (("cx16", "cmpxchg16"), ("cid", "cntxid"), ("ds_cpl", "dscpl"), ("pclmuldq", "pclmulqdq"),
               ("pni", "sse3"), ("ht", "htt"), ("pn", "psn"), ("clflush", "clfsh"), ("sep", "sysenter"),
               ("cx8", "cmpxchg8"), ("nodeid_msr", "nodeid"), ("cr8legacy", "altmovcr8"),
               ("lahf_lm", "lahfsahf"), ("cmp_legacy", "cmplegacy"), ("fxsr_opt", "ffxsr"),
               ("pdpe1gb", "page1gb"), ("spec-ctrl", "ibrsb"))
CPUID_TO_XL = dict(CPUID_NAMES)
CPUID_FROM_XL = {xl: lv for lv, xl in CPUID_NAMES}
#: <timer name='tsc' mode=...> <-> tsc_mode
TSC_TO_XL = {"auto": "default", "native": "native", "emulate": "always_emulate", "paravirt": "native_paravirt"}
TSC_FROM_XL = {v: k for k, v in TSC_TO_XL.items()}
#: xl's serial= values that map to a <serial type=...> without a path
SERIAL_SIMPLE = ("pty", "null", "vc", "stdio")


def unsupported(detail: str) -> DriverError:
    """What xl.cfg cannot carry: VIR_ERR_CONFIG_UNSUPPORTED (never a silent drop)."""
    return DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, detail, FROM)


def syntax(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_CONF_SYNTAX, detail, FROM)


def spec_value(value: str, what: str, *, secret: bool = False) -> str:
    """A value inside a ``key=value,...`` device spec: it may not carry ',' or '=' (a secret is not quoted back)."""
    if "," in value or "=" in value:
        shown = "" if secret else f" {value!r}"
        raise unsupported(f"{what}{shown} contains ',' or '=', which xl's device syntax cannot carry")
    return value


def ip_value(value: str, what: str) -> str:
    """An IP address for a vif's ``ip=`` (xl splits the list on spaces)."""
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        raise unsupported(f"{what} {value!r} is not an IP address") from None


def number(value: str, what: str, lo: int = 0, hi: int = 2 ** 31 - 1) -> int:
    """A decimal (or 0x hex) integer in [lo, hi] from XML text, for an xl.cfg number."""
    try:
        n = int(value, 16) if value.lower().startswith("0x") else int(value)
    except (ValueError, AttributeError):
        raise unsupported(f"{what} {value!r} is not a number") from None
    if not lo <= n <= hi:
        raise unsupported(f"{what} {n} is out of range ({lo}..{hi})")
    return n


def kv(spec: str) -> dict[str, str]:
    """Parse ``k=v,k=v,...,target=REST`` (target takes the rest of the string, commas included)."""
    out: dict[str, str] = {}
    rest = spec
    while rest:
        if rest.startswith("target="):
            out["target"] = rest[len("target="):]
            break
        item, _, rest = rest.partition(",")
        key, eq, value = item.partition("=")
        if not eq:
            out.setdefault("_positional", "")
            out["_positional"] += ("," if out["_positional"] else "") + item
            continue
        out[key.strip()] = value.strip()
    return out
