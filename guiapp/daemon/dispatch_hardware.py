"""REMOTE procedures of the hardware-editing API served from the public API (registered by importing)."""

from __future__ import annotations

from typing import Any

from .dispatch import Session, _dom, _h


@_h("DOMAIN_ATTACH_DEVICE")
def _attach(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).attachDevice(a["xml"])


@_h("DOMAIN_ATTACH_DEVICE_FLAGS")
def _attach_flags(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).attachDeviceFlags(a["xml"], a["flags"])


@_h("DOMAIN_DETACH_DEVICE")
def _detach(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).detachDevice(a["xml"])


@_h("DOMAIN_DETACH_DEVICE_FLAGS")
def _detach_flags(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).detachDeviceFlags(a["xml"], a["flags"])


@_h("DOMAIN_UPDATE_DEVICE_FLAGS")
def _update_flags(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).updateDeviceFlags(a["xml"], a["flags"])


@_h("DOMAIN_RENAME")
def _rename(s: Session, a: Any) -> Any:
    _dom(s, a["dom"]).rename(a["new_name"], a["flags"])
    return {"retcode": 0}


@_h("DOMAIN_SET_METADATA")
def _set_metadata(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).setMetadata(a["type"], a["metadata"], a["key"], a["uri"], a["flags"])


@_h("DOMAIN_GET_METADATA")
def _get_metadata(s: Session, a: Any) -> Any:
    return {"metadata": _dom(s, a["dom"]).metadata(a["type"], a["uri"], a["flags"])}
