"""guiapp-virsh's storage pool and volume commands, laid out like virsh 9.0's.

``pool-list``, ``pool-info``, ``pool-dumpxml``, ``pool-define``, ``pool-create``,
``pool-build``, ``pool-start``, ``pool-destroy``, ``pool-delete``, ``pool-undefine``,
``pool-refresh``, ``pool-autostart``, ``vol-list``, ``vol-info``, ``vol-dumpxml``,
``vol-create``, ``vol-create-as``, ``vol-clone``, ``vol-delete``, ``vol-wipe``,
``vol-resize``, ``vol-upload``, ``vol-download``, ``vol-path``.  Handlers follow
:mod:`guiapp.backend.cli_net`'s convention (``handler(conn, args, out=, err=, quiet=)``),
so they also run over Debian's libvirt-python (the tests compare both).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Optional

from .cli_net import _call, _FailError, _handler, _opt, _Out, _read_file
from .cli_table import format_table
from .xml.serialize import escape_text, quote_attr

_POOL_ACTIVE, _POOL_INACTIVE = 2, 1
_XML_INACTIVE = 1
_BUILD_FLAG, _BUILD_OVERWRITE, _BUILD_NO_OVERWRITE = 1, 2, 4
_RESIZE_ALLOCATE, _RESIZE_DELTA, _RESIZE_SHRINK = 1, 2, 4
_POOL_STATES = {0: "inactive", 1: "building", 2: "running", 3: "degraded", 4: "inaccessible"}
_VOL_TYPES = {0: "file", 1: "block", 2: "dir", 3: "network", 4: "netdir", 5: "ploop"}
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_SCALED = {"": 1, "b": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024 ** 2, "mib": 1024 ** 2, "mb": 1000 ** 2,
           "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3, "t": 1024 ** 4, "tib": 1024 ** 4, "tb": 1000 ** 4,
           "p": 1024 ** 5, "pib": 1024 ** 5, "pb": 1000 ** 5, "e": 1024 ** 6, "eib": 1024 ** 6, "eb": 1000 ** 6}


def pretty(value: int) -> str:
    """virsh's vshPrettyCapacity: ``10.00 MiB``."""
    v, unit = float(value), 0
    while v >= 1024 and unit < len(_UNITS) - 1:
        v /= 1024
        unit += 1
    return f"{v:.2f} {_UNITS[unit]}"


def parse_scaled(text: str, what: str) -> int:
    """virsh's scaled integers: ``10G``, ``512MiB``, ``1000000`` (bytes)."""
    t = (text or "").strip()
    digits = t.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    suffix = t[len(digits):].lower()
    if not digits.isdigit() or suffix not in _SCALED:
        raise _FailError(f"Malformed size {text}")
    return int(digits) * _SCALED[suffix]


def lookup_pool(conn: Any, name: Optional[str]) -> Any:
    """virsh's pool lookup: by UUID when it looks like one, then by name."""
    if not name:
        raise _FailError("command requires a pool name")
    last: Optional[BaseException] = None
    if len(name) == 36 and name.count("-") == 4:
        try:
            return conn.storagePoolLookupByUUIDString(name)
        except Exception as exc:
            last = exc
    try:
        return conn.storagePoolLookupByName(name)
    except Exception as exc:
        last = exc
    raise _FailError(f"failed to get pool '{name}'", getattr(last, "get_error_message", lambda: str(last))())


def lookup_vol(conn: Any, a: Any, opt: str = "vol") -> Any:
    """virsh's volume lookup: by name in ``--pool``, then by key, then by path."""
    name = _opt(a, opt)
    pool_name = _opt(a, "pool")
    last: Optional[BaseException] = None
    if pool_name:
        pool = lookup_pool(conn, pool_name)
        try:
            return pool.storageVolLookupByName(name)
        except Exception as exc:
            last = exc
    for fn in (conn.storageVolLookupByKey, conn.storageVolLookupByPath):
        try:
            return fn(name)
        except Exception as exc:
            last = exc
    raise _FailError(f"failed to get vol '{name}'", getattr(last, "get_error_message", lambda: str(last))())


# ------------------------------------------------------------------------- pools
def _pool_list(conn: Any, a: Any, o: _Out) -> None:
    flags = _POOL_ACTIVE | _POOL_INACTIVE if _opt(a, "all") else (_POOL_INACTIVE if _opt(a, "inactive")
                                                                   else _POOL_ACTIVE)
    pools = sorted(_call(conn.listAllStoragePools, flags, fail="Failed to list pools"), key=lambda p: p.name())
    if _opt(a, "name"):
        for p in pools:
            o.print(p.name() + "\n")
        return
    rows = []
    for p in pools:
        info = _call(p.info)
        auto = "yes" if _call(p.autostart) else "no"
        if _opt(a, "details"):
            active = info[0] != 0
            sizes = [pretty(x) for x in info[1:]] if active else ["-", "-", "-"]
            rows.append([p.name(), _POOL_STATES.get(info[0], "unknown"), auto,
                         "yes" if _call(p.isPersistent) else "no", *sizes])
        else:
            rows.append([p.name(), "active" if info[0] != 0 else "inactive", auto])
    header = (["Name", "State", "Autostart", "Persistent", "Capacity", "Allocation", "Available"]
              if _opt(a, "details") else ["Name", "State", "Autostart"])
    o.print(format_table(None if o.quiet else header, rows))


def _pool_info(conn: Any, a: Any, o: _Out) -> None:
    p = lookup_pool(conn, _opt(a, "pool"))
    info = _call(p.info)
    lines = [("Name:", p.name()), ("UUID:", p.UUIDString()), ("State:", _POOL_STATES.get(info[0], "unknown")),
             ("Persistent:", "yes" if _call(p.isPersistent) else "no"),
             ("Autostart:", "yes" if _call(p.autostart) else "no")]
    if info[0] != 0:
        fmt: Callable[[int], str] = (lambda x: str(x)) if _opt(a, "bytes") else pretty
        lines += [("Capacity:", fmt(info[1])), ("Allocation:", fmt(info[2])), ("Available:", fmt(info[3]))]
    o.print("".join(f"{k:<16}{v}\n" for k, v in lines))


def _pool_dumpxml(conn: Any, a: Any, o: _Out) -> None:
    p = lookup_pool(conn, _opt(a, "pool"))
    o.print(_call(p.XMLDesc, _XML_INACTIVE if _opt(a, "inactive") else 0))


def _build_flags(a: Any) -> int:
    if _opt(a, "overwrite") and _opt(a, "no-overwrite"):
        raise _FailError("Options --overwrite and --no-overwrite are mutually exclusive")
    return (_BUILD_OVERWRITE if _opt(a, "overwrite") else 0) | (_BUILD_NO_OVERWRITE if _opt(a, "no-overwrite")
                                                                else 0)


def _pool_define(conn: Any, a: Any, o: _Out) -> None:
    path = _opt(a, "file")
    p = _call(conn.storagePoolDefineXML, _read_file(path), 0, fail=f"Failed to define pool from {path}")
    o.extra(f"Pool {p.name()} defined from {path}\n")


def _pool_create(conn: Any, a: Any, o: _Out) -> None:
    path = _opt(a, "file")
    flags = _build_flags(a) | (_BUILD_FLAG if _opt(a, "build") else 0)
    p = _call(conn.storagePoolCreateXML, _read_file(path), flags, fail=f"Failed to create pool from {path}")
    o.extra(f"Pool {p.name()} created from {path}\n")


def _pool_build(conn: Any, a: Any, o: _Out) -> None:
    p = lookup_pool(conn, _opt(a, "pool"))
    _call(p.build, _build_flags(a), fail=f"Failed to build pool {p.name()}")
    o.extra(f"Pool {p.name()} built\n")


def _pool_start(conn: Any, a: Any, o: _Out) -> None:
    p = lookup_pool(conn, _opt(a, "pool"))
    flags = _build_flags(a) if (_opt(a, "overwrite") or _opt(a, "no-overwrite")) else 0
    flags |= _BUILD_FLAG if _opt(a, "build") else 0
    _call(p.create, flags, fail=f"Failed to start pool {p.name()}")
    o.extra(f"Pool {p.name()} started\n")


def _pool_simple(method: str, done: str, failed: str) -> Callable[[Any, Any, _Out], None]:
    def body(conn: Any, a: Any, o: _Out) -> None:
        p = lookup_pool(conn, _opt(a, "pool"))
        _call(getattr(p, method), fail=f"Failed to {failed} pool {p.name()}")
        o.extra(f"Pool {p.name()} {done}\n")
    body.__name__ = f"_pool_{method}"
    return body


def _pool_autostart(conn: Any, a: Any, o: _Out) -> None:
    p = lookup_pool(conn, _opt(a, "pool"))
    off = bool(_opt(a, "disable"))
    _call(p.setAutostart, 0 if off else 1,
          fail=f"failed to {'unmark' if off else 'mark'} pool {p.name()} as autostarted")
    o.extra(f"Pool {p.name()} {'unmarked' if off else 'marked'} as autostarted\n")


# ----------------------------------------------------------------------- volumes
def _vol_list(conn: Any, a: Any, o: _Out) -> None:
    p = lookup_pool(conn, _opt(a, "pool"))
    vols = sorted(_call(p.listAllVolumes, 0, fail="Failed to list volumes"), key=lambda v: v.name())
    if _opt(a, "details"):
        rows = []
        for v in vols:
            t, cap, alloc = _call(v.info)
            rows.append([v.name(), _call(v.path), _VOL_TYPES.get(t, "unknown"), pretty(cap), pretty(alloc)])
        o.print(format_table(None if o.quiet else ["Name", "Path", "Type", "Capacity", "Allocation"], rows))
        return
    o.print(format_table(None if o.quiet else ["Name", "Path"], [[v.name(), _call(v.path)] for v in vols]))


def _vol_info(conn: Any, a: Any, o: _Out) -> None:
    v = lookup_vol(conn, a)
    t, cap, alloc = _call(v.info)
    fmt: Callable[[int], str] = (lambda x: f"{x} bytes") if _opt(a, "bytes") else pretty
    o.print(f"{'Name:':<16}{v.name()}\n{'Type:':<16}{_VOL_TYPES.get(t, 'unknown')}\n"
            f"{'Capacity:':<16}{fmt(cap)}\n{'Allocation:':<16}{fmt(alloc)}\n")


def _vol_dumpxml(conn: Any, a: Any, o: _Out) -> None:
    o.print(_call(lookup_vol(conn, a).XMLDesc, 0))


def _vol_path(conn: Any, a: Any, o: _Out) -> None:
    o.print(_call(lookup_vol(conn, a).path) + "\n")


def _vol_create(conn: Any, a: Any, o: _Out) -> None:
    p = lookup_pool(conn, _opt(a, "pool"))
    path = _opt(a, "file")
    v = _call(p.createXML, _read_file(path), 0, fail=f"Failed to create vol from {path}")
    o.extra(f"Vol {v.name()} created from {path}\n")


def _vol_create_as(conn: Any, a: Any, o: _Out) -> None:
    p = lookup_pool(conn, _opt(a, "pool"))
    name = _opt(a, "name")
    cap = parse_scaled(_opt(a, "capacity"), "capacity")
    parts = ["<volume>", f"  <name>{escape_text(name)}</name>", f"  <capacity>{cap}</capacity>"]
    if _opt(a, "allocation"):
        parts.append(f"  <allocation>{parse_scaled(_opt(a, 'allocation'), 'allocation')}</allocation>")
    if _opt(a, "format"):
        parts.append(f"  <target><format type={quote_attr(_opt(a, 'format'))}/></target>")
    if _opt(a, "backing-vol"):
        bv = lookup_vol(conn, {"vol": _opt(a, "backing-vol"), "pool": _opt(a, "pool")})
        bfmt = _opt(a, "backing-vol-format") or "raw"
        parts.append(f"  <backingStore><path>{escape_text(_call(bv.path))}</path>"
                     f"<format type={quote_attr(bfmt)}/></backingStore>")
    parts.append("</volume>")
    v = _call(p.createXML, "\n".join(parts), 0, fail=f"Failed to create vol {name}")
    o.extra(f"Vol {v.name()} created\n")


def _vol_clone(conn: Any, a: Any, o: _Out) -> None:
    src = lookup_vol(conn, a)
    pool = src.storagePoolLookupByVolume()
    new = _opt(a, "newname")
    xml = _renamed(_call(src.XMLDesc, 0), new)
    _call(pool.createXMLFrom, xml, src, 0, fail=f"Failed to clone vol from {src.name()}")
    o.extra(f"Vol {new} cloned from {src.name()}\n")


def _renamed(xml: str, name: str) -> str:
    """virsh's vol-clone: the source volume's XML with the new name and without its key and path."""
    from lxml import etree

    from .xml.safe import parse_xml
    root = parse_xml(xml, "storage_volume_definition")
    root.find("name").text = name
    for path in ("key", "target/path"):
        el = root.find(path)
        if el is not None:
            el.getparent().remove(el)
    return etree.tostring(root, encoding="unicode")


def _vol_delete(conn: Any, a: Any, o: _Out) -> None:
    v = lookup_vol(conn, a)
    _call(v.delete, 0, fail=f"Failed to delete vol {_opt(a, 'vol')}")
    o.extra(f"Vol {_opt(a, 'vol')} deleted\n")


def _vol_wipe(conn: Any, a: Any, o: _Out) -> None:
    v = lookup_vol(conn, a)
    _call(v.wipe, 0, fail=f"Failed to wipe vol {_opt(a, 'vol')}")
    o.extra(f"Vol {_opt(a, 'vol')} wiped\n")


def _vol_resize(conn: Any, a: Any, o: _Out) -> None:
    v = lookup_vol(conn, a)
    text = str(_opt(a, "capacity") or "")
    flags = (_RESIZE_ALLOCATE if _opt(a, "allocate") else 0) | (_RESIZE_SHRINK if _opt(a, "shrink") else 0)
    if text.startswith("-"):
        raise _FailError("Unable to perform shrink with negative size; use --shrink with the new size")
    if _opt(a, "delta"):
        flags |= _RESIZE_DELTA
    cap = parse_scaled(text, "capacity")
    _call(v.resize, cap, flags, fail=f"Failed to change size of volume '{v.name()}' to {text}")
    o.extra(f"Size of volume '{v.name()}' successfully changed to {text}\n")


def _offsets(a: Any) -> tuple[int, int]:
    try:
        return int(_opt(a, "offset") or 0), int(_opt(a, "length") or 0)
    except ValueError:
        raise _FailError("offset and length must be whole numbers of bytes") from None


def _vol_upload(conn: Any, a: Any, o: _Out) -> None:
    v = lookup_vol(conn, a)
    path = _opt(a, "file")
    offset, length = _offsets(a)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise _FailError(f"cannot read {path}: {exc.strerror}") from None
    with f:
        st = conn.newStream(0)
        _call(v.upload, st, offset, length, 0, fail=f"cannot upload to volume {v.name()}")
        _call(st.sendAll, lambda _s, n, fh: fh.read(n), f, fail=f"cannot send data to volume {v.name()}")
        _call(st.finish, fail=f"cannot close volume {v.name()}")


def _vol_download(conn: Any, a: Any, o: _Out) -> None:
    v = lookup_vol(conn, a)
    path = _opt(a, "file")
    offset, length = _offsets(a)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise _FailError(f"cannot create {path}: {exc.strerror}") from None
    ok = False
    try:
        with os.fdopen(fd, "wb") as f:
            st = conn.newStream(0)
            _call(v.download, st, offset, length, 0, fail=f"cannot download from volume {v.name()}")
            _call(st.recvAll, lambda _s, data, fh: fh.write(data), f,
                  fail=f"cannot receive data from volume {v.name()}")
            _call(st.finish, fail=f"cannot close volume {v.name()}")
            ok = True
    finally:
        if not ok:
            os.unlink(path)


# ------------------------------------------------------------------------ specs
_POOL = ("pool", "string", "pool name or uuid", True, True)
_VOL = ("vol", "string", "vol name, key or path", True, True)
_VPOOL = ("pool", "string", "pool name or uuid", False, False)
_BUILD = (("build", "bool", "build the pool as normal", False, False),
          ("overwrite", "bool", "build the pool without overwriting the existing pool data", False, False),
          ("no-overwrite", "bool", "build the pool without overwriting existing data", False, False))
Spec = tuple[Callable[..., int], str, str, tuple[tuple[str, str, str, bool, bool], ...]]


def _spec(body: Callable[[Any, Any, _Out], None], summary: str, opts: tuple[tuple[str, str, str, bool, bool], ...]
          ) -> Spec:
    return (_handler(body), summary, summary[:1].upper() + summary[1:] + ".", opts)


SPECS: dict[str, Spec] = {
    "pool-list": _spec(_pool_list, "list pools", (
        ("inactive", "bool", "list inactive pools", False, False),
        ("all", "bool", "list inactive & active pools", False, False),
        ("details", "bool", "display extended details for pools", False, False),
        ("name", "bool", "list pool names only", False, False))),
    "pool-info": _spec(_pool_info, "storage pool information", (
        _POOL, ("bytes", "bool", "Return pool info in bytes", False, False))),
    "pool-dumpxml": _spec(_pool_dumpxml, "pool information in XML", (
        _POOL, ("inactive", "bool", "show inactive defined XML", False, False))),
    "pool-define": _spec(_pool_define, "define an inactive persistent storage pool or modify an existing "
                         "persistent one from an XML file", (("file", "string", "file containing an XML pool "
                                                              "description", True, True),)),
    "pool-create": _spec(_pool_create, "create a pool from an XML file", (
        ("file", "string", "file containing an XML pool description", True, True), *_BUILD)),
    "pool-build": _spec(_pool_build, "build a pool", (_POOL, *_BUILD[1:])),
    "pool-start": _spec(_pool_start, "start a (previously defined) inactive pool", (_POOL, *_BUILD)),
    "pool-destroy": _spec(_pool_simple("destroy", "destroyed", "destroy"), "destroy (stop) a pool", (_POOL,)),
    "pool-delete": _spec(_pool_simple("delete", "deleted", "delete"), "delete a pool", (_POOL,)),
    "pool-undefine": _spec(_pool_simple("undefine", "has been undefined", "undefine"),
                           "undefine an inactive pool", (_POOL,)),
    "pool-refresh": _spec(_pool_simple("refresh", "refreshed", "refresh"), "refresh a pool", (_POOL,)),
    "pool-autostart": _spec(_pool_autostart, "autostart a pool", (
        _POOL, ("disable", "bool", "disable autostarting", False, False))),
    "vol-list": _spec(_vol_list, "list vols", (
        _POOL, ("details", "bool", "display extended details for volumes", False, False))),
    "vol-info": _spec(_vol_info, "storage vol information", (
        _VOL, _VPOOL, ("bytes", "bool", "sizes are represented in bytes rather than pretty units", False, False))),
    "vol-dumpxml": _spec(_vol_dumpxml, "vol information in XML", (_VOL, _VPOOL)),
    "vol-path": _spec(_vol_path, "returns the volume path for a given volume name or key", (_VOL, _VPOOL)),
    "vol-create": _spec(_vol_create, "create a vol from an XML file", (
        _POOL, ("file", "string", "file containing an XML vol description", True, True))),
    "vol-create-as": _spec(_vol_create_as, "create a volume from a set of args", (
        _POOL, ("name", "string", "name of the volume", True, True),
        ("capacity", "string", "size of the vol, as scaled integer (default bytes)", True, True),
        ("allocation", "string", "initial allocation size, as scaled integer (default bytes)", False, False),
        ("format", "string", "file format type raw,bochs,qcow,qcow2,qed,vmdk", False, False),
        ("backing-vol", "string", "the backing volume if taking a snapshot", False, False),
        ("backing-vol-format", "string", "format of backing volume if taking a snapshot", False, False))),
    "vol-clone": _spec(_vol_clone, "clone a volume.", (
        _VOL, ("newname", "string", "clone name", True, True), _VPOOL)),
    "vol-delete": _spec(_vol_delete, "delete a vol", (_VOL, _VPOOL)),
    "vol-wipe": _spec(_vol_wipe, "wipe a vol", (_VOL, _VPOOL)),
    "vol-resize": _spec(_vol_resize, "resize a vol", (
        _VOL, ("capacity", "string", "new capacity for the vol, as scaled integer (default bytes)", True, True),
        _VPOOL, ("allocate", "bool", "allocate the new capacity, rather than leaving it sparse", False, False),
        ("delta", "bool", "use capacity as a delta to current size, rather than the new size", False, False),
        ("shrink", "bool", "allow the resize to shrink the volume", False, False))),
    "vol-upload": _spec(_vol_upload, "upload file contents to a volume", (
        _VOL, ("file", "string", "file", True, True), _VPOOL,
        ("offset", "string", "volume offset to upload to", False, False),
        ("length", "string", "amount of data to upload", False, False))),
    "vol-download": _spec(_vol_download, "download volume contents to a file", (
        _VOL, ("file", "string", "file", True, True), _VPOOL,
        ("offset", "string", "volume offset to download from", False, False),
        ("length", "string", "amount of data to download", False, False))),
}

HANDLERS: dict[str, Callable[..., int]] = {name: spec[0] for name, spec in SPECS.items()}


def cli_commands() -> tuple[Any, ...]:
    """The commands as ``guiapp.backend.cli.Command`` entries (group 'storage'), for ``cli.all_commands``."""
    from .cli_command import commands_from_specs

    return commands_from_specs(SPECS, "storage")



__all__ = ["SPECS", "HANDLERS", "cli_commands", "lookup_pool", "lookup_vol", "pretty", "parse_scaled"]
