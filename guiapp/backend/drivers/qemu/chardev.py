"""Host sides of character devices (``<serial>``/``<console>`` of type dev, unix, tcp, udp) as ``-chardev`` values.

The mapping is libvirt's (qemuBuildChrChardevStr): ``dev`` -> ``serial,path=``; ``unix`` -> ``socket,path=``
(``server=on,wait=off`` when ``mode='bind'``); ``tcp`` -> ``socket,host=,port=`` (+ ``telnet=on`` for
``<protocol type='telnet'>``, + ``server=on,wait=off`` for bind); ``udp`` -> ``udp,host=,port=,localaddr=,
localport=`` from the ``connect`` and ``bind`` sources. Every value is checked (:mod:`.optcheck`) or escaped.
"""

from __future__ import annotations

from typing import Any, Optional

from ... import constants as C
from ...errors import DriverError
from . import optcheck

E = C.VIR_FROM_QEMU


def _esc(value: str) -> str:
    return value.replace(",", ",,")


def _service(value: Optional[str], what: str) -> int:
    if value is None or not value.isdigit():
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"{what} service {value!r} is not a port number (1-65535)", E)
    return optcheck.port(int(value), f"{what} service")


def chardev_socket(ch: Any, kind: str, cid: str, what: str) -> str:
    """The ``-chardev`` value for the device ``ch`` (a CharDev with ``element``) of type ``kind``."""
    el = ch.element
    sources = el.findall("source")
    for src in sources:
        if src.get("mode", "connect") not in ("bind", "connect"):
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"<source mode='{src.get('mode')}'> of {what} is not a mode; use bind or connect", E)
    first = sources[0] if sources else None
    if kind == "dev":
        path = ch.path
        if not path:
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"<{what}> of type 'dev' needs <source path>", E)
        optcheck.abs_path(path, f"<source path> of {what}")
        backend = "parallel" if ch.kind == "parallel" else "serial"  # a host parport is QEMU's 'parallel'
        return f"{backend},id={cid},path={_esc(path)}"
    if kind == "unix":
        path = first.get("path") if first is not None else None
        if not path:
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"<{what}> of type 'unix' needs <source mode='bind|connect' path='/...'>", E)
        optcheck.abs_path(path, f"<source path> of {what}")
        server = ",server=on,wait=off" if first.get("mode") == "bind" else ""  # type: ignore[union-attr]
        return f"socket,id={cid},path={_esc(path)}{server}"
    if kind == "tcp":
        if first is None:
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"<{what}> of type 'tcp' needs <source mode=... host=... service=...>", E)
        host = optcheck.inet_host(first.get("host") or "127.0.0.1", f"<source host> of {what}")
        port = _service(first.get("service"), f"<source> of {what}")
        proto = el.find("protocol")
        ptype = proto.get("type", "raw") if proto is not None else "raw"
        if ptype not in ("raw", "telnet"):
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"<protocol type='{ptype}'> of {what} is not supported; use raw or telnet", E)
        opts = [f"socket,id={cid},host={host},port={port}"]
        if ptype == "telnet":
            opts.append("telnet=on")
        if first.get("mode") == "bind":
            opts.append("server=on,wait=off")
        return ",".join(opts)
    # udp: the connect source is where to send, the bind source where to listen
    connect = next((s for s in sources if s.get("mode", "connect") == "connect"), None)
    bind = next((s for s in sources if s.get("mode") == "bind"), None)
    if connect is None:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"<{what}> of type 'udp' needs <source mode='connect' service=...>", E)
    opts = [f"udp,id={cid}"]
    if connect.get("host"):
        opts.append(f"host={optcheck.inet_host(connect.get('host') or '', f'<source host> of {what}')}")
    opts.append(f"port={_service(connect.get('service'), f'<source> of {what}')}")
    if bind is not None:
        if bind.get("host"):
            opts.append(f"localaddr={optcheck.inet_host(bind.get('host') or '', f'<source host> of {what}')}")
        if bind.get("service"):
            opts.append(f"localport={_service(bind.get('service'), f'<source> of {what}')}")
    return ",".join(opts)


__all__ = ["chardev_socket"]
