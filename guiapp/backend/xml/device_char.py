"""Serial/console and input devices as the hardware forms edit them (no Qt).

Every typed value is checked here before it reaches device XML (the form shows the same text as you
type): paths with ``device_build.path_problem``, host names, TCP ports, modes, target ports; the
builders raise ``DriverError(VIR_ERR_INVALID_ARG)``.
"""

from __future__ import annotations

import ipaddress
import re
from copy import deepcopy
from dataclasses import dataclass
from typing import Optional

from lxml import etree

from .device_build import INPUT_TYPES, _check, _err, _one, _out, path_problem
from .safe import parse_xml

CHAR_TYPES = ("pty", "file", "unix", "tcp")
CHAR_MODES = ("bind", "connect")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")


@dataclass(frozen=True)
class CharSpec:
    """What the serial/console form edits: the host side (type and its fields) and the guest's port."""

    kind: str = "pty"
    path: str = ""  # file, unix
    host: str = ""  # tcp
    service: int = 0  # tcp port
    mode: str = "bind"  # unix, tcp
    target_port: int = 0


def host_problem(host: str) -> Optional[str]:
    """Why ``host`` cannot be a TCP host name or IP address, or None."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if _HOST.fullmatch(host or "") and ".." not in host:
        return None
    return f"'{host}' is not a host name or IP address (e.g. 127.0.0.1)"


def char_problem(spec: CharSpec) -> Optional[str]:
    """Why ``spec`` cannot be written as a serial port or console, or None."""
    if spec.kind not in CHAR_TYPES:
        return f"unknown serial type '{spec.kind}' (expected one of {', '.join(CHAR_TYPES)})"
    if not 0 <= spec.target_port <= 31:
        return f"Port {spec.target_port} is outside 0-31"
    if spec.kind in ("unix", "tcp") and spec.mode not in CHAR_MODES:
        return f"unknown mode '{spec.mode}' (expected bind or connect)"
    if spec.kind in ("file", "unix"):
        return path_problem(spec.path, "log file path" if spec.kind == "file" else "socket path")
    if spec.kind == "tcp":
        return host_problem(spec.host) or (
            None if 1 <= spec.service <= 65535 else f"TCP port {spec.service} is outside 1-65535")
    return None


def char_value(char_xml: str) -> CharSpec:
    """The form's view of a <serial> or <console>."""
    el = parse_xml(char_xml)
    src, target = el.find("source"), el.find("target")
    get = (lambda k, d="": src.get(k, d)) if src is not None else (lambda k, d="": d)
    service = get("service")
    port = target.get("port", "0") if target is not None else "0"
    return CharSpec(kind=el.get("type", "pty"), path=get("path"), host=get("host"),
                    service=int(service) if service.isdigit() else 0, mode=get("mode", "bind") or "bind",
                    target_port=int(port) if port.isdigit() else 0)


def edit_char(char_xml: str, spec: CharSpec) -> str:
    """A <serial> or <console> with ``spec``'s host side and target port (its target type stays)."""
    el = parse_xml(char_xml)
    if el.tag not in ("serial", "console"):
        raise _err(f"expected a <serial> or <console> element, got <{el.tag}>")
    _check(char_problem(spec))
    el = deepcopy(el)
    for old in el.findall("source") + el.findall("protocol"):
        el.remove(old)
    el.set("type", spec.kind)
    src: Optional[etree._Element] = None
    if spec.kind == "file":
        src = etree.Element("source", path=spec.path)
    elif spec.kind == "unix":
        src = etree.Element("source", mode=spec.mode, path=spec.path)
    elif spec.kind == "tcp":
        src = etree.Element("source", mode=spec.mode, host=spec.host, service=str(spec.service))
    target = el.find("target")
    if target is None:
        target = etree.SubElement(el, "target")
    target.set("port", str(spec.target_port))
    if src is not None:
        target.addprevious(src)
    if spec.kind == "tcp":
        target.addprevious(etree.Element("protocol", type="raw"))
    return _out(el)


def input_value(input_xml: str) -> tuple[str, str]:
    """(type, bus) of an input device."""
    el = parse_xml(input_xml)
    return el.get("type", ""), el.get("bus", "")


def edit_input(input_xml: str, kind: str, bus: str) -> str:
    """An input device of another type or bus (only the pairs of ``INPUT_TYPES``)."""
    el = _one(input_xml, "input")
    if (kind, bus) not in INPUT_TYPES:
        raise _err(f"unknown input device {kind} on {bus} (expected one of "
                   f"{', '.join(f'{k}/{b}' for k, b in INPUT_TYPES)})")
    el.set("type", kind)
    el.set("bus", bus)
    return _out(el)
