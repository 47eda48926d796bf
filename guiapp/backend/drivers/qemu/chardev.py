"""Character devices (``<serial>``/``<console>``/``<parallel>``): their host side as ``-chardev`` values and
the serial port device.

The mapping is libvirt's (qemuBuildChrChardevStr): ``pty``, ``null``, ``vc`` -> the backend of that name;
``file`` -> ``file,path=,append=``; ``dev`` -> ``serial,path=`` (``parallel,path=`` for a parallel port);
``unix`` -> ``socket,path=`` (``server=on,wait=off`` when ``mode='bind'``); ``tcp`` -> ``socket,host=,port=``
(+ ``telnet=on`` for ``<protocol type='telnet'>``, + ``server=on,wait=off`` for bind, + ``tls-creds=`` and an
``-object tls-creds-x509`` when ``<source tls='yes'>`` or, without ``tls``, qemu.conf's ``chardev_tls``);
``udp`` -> ``udp,host=,port=,localaddr=,localport=`` from the ``connect`` and ``bind`` sources. Other types
(``spiceport``, ``spicevmc``, ``nmdm``, ...) are refused naming the element. Every value is checked
(:mod:`.optcheck`) or escaped.
"""

from __future__ import annotations

from typing import Any, Optional

from ... import constants as C
from ...errors import DriverError
from . import optcheck
from .hostconf import QemuHostConfig, check_tls_dir, tls_creds
from .optcheck import qemu_escape as _esc

E = C.VIR_FROM_QEMU


def _service(value: Optional[str], what: str) -> int:
    if value is None or not value.isdigit():
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"{what} service {value!r} is not a port number (1-65535)", E)
    return optcheck.port(int(value), f"{what} service")


def _tls(ch: Any, first: Any, cid: str, what: str, host: QemuHostConfig, check_files: bool) -> tuple[list[str], str]:
    """(``-object`` options, ``,tls-creds=`` suffix) of a tcp chardev: ``<source tls='yes|no'>``, else the host's
    ``chardev_tls`` (libvirt's qemuDomainChrDefPostParse)."""
    value = first.get("tls")
    if value not in (None, "yes", "no"):
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"<source tls='{value}'> of {what}: use yes or no", E)
    if not (value == "yes" or (value is None and host.chardev_tls)):
        return [], ""
    if check_files:
        check_tls_dir(host.chardev_dir, "chardev_tls_x509_cert_dir")
    alias = f"obj{cid}_tls0"
    listen = first.get("mode") == "bind"
    return ["-object", tls_creds(alias, host.chardev_dir, listen=listen, verify=host.chardev_verify)], \
        f",tls-creds={alias}"


def host_side(ch: Any, cid: str, what: str, log: str, host: QemuHostConfig,
              check_files: bool) -> tuple[list[str], str]:
    """(options QEMU needs first, the ``-chardev`` value) of the serial/console/parallel device ``ch``;
    ``log``: the ``,logfile=...`` suffix of the device whose output guiapp records."""
    t = ch.type or "pty"
    if t in ("pty", "vc"):  # vc: QEMU's text console, shown on the VNC display (headless: discarded)
        return [], f"{t},id={cid}{log}"
    if t == "file":
        path = getattr(ch, "path", None)
        if not path:
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"{what} of type 'file' needs <source path>", E)
        optcheck.abs_path(path, f"<source path> of {what}")
        src = ch.element.find("source")
        append = src.get("append", "on") if src is not None else "on"
        if append not in ("on", "off"):
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"<source append='{append}'> of {what}: use on or off",
                              E)
        # libvirt opens the file without truncating it unless append='off'
        return [], f"file,id={cid},path={_esc(path)},append={append}"
    if t == "null":
        return [], f"null,id={cid}"
    if t == "tcp":
        src = ch.element.find("source")
        objects, creds = _tls(ch, src, cid, what, host, check_files) if src is not None else ([], "")
        return objects, chardev_socket(ch, t, cid, what) + creds + log
    if t in ("dev", "unix", "udp"):
        return [], chardev_socket(ch, t, cid, what) + log
    raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                      f"<{ch.kind} type='{t}'> is not supported; use pty, vc, file, null, dev, unix, tcp or udp", E)


def serial_device(ch: Any, cid: str, i: int) -> str:
    """``isa-serial``, or ``isa-debugcon`` for ``<target type='isa-debug'>`` (at its ISA ``iobase``)."""
    if ch.kind == "serial" and ch.target_type == "isa-debug":
        addr = ch.element.find("address")
        iobase = addr.get("iobase") if addr is not None and addr.get("type") == "isa" else None
        where = ""
        if iobase is not None:
            try:
                n = int(iobase, 0)
            except ValueError:
                n = -1
            if not 0 <= n <= 0xFFFF:
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                  f"<address iobase='{iobase}'> of serial {i}: use a port number 0x0-0xffff", E)
            where = f",iobase={n}"
        return f"isa-debugcon,chardev={cid},id=serial{i}{where}"
    return f"isa-serial,chardev={cid},id=serial{i}"


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


__all__ = ["chardev_socket", "host_side", "serial_device"]
