"""Config history in the front-end (a guiapp extension): the one hook that records versions, and the API.

The hook wraps public methods *by name* (:func:`install`): every method listed in
:data:`DEFINE_METHODS`, :data:`DOMAIN_CHANGE_METHODS` or :data:`UNDEFINE_METHODS` that the
class has is wrapped once, so a new way to change a persistent definition is covered by adding
its name to a list.  After the call succeeds the domain's persistent XML
(``XMLDesc(SECURE|INACTIVE)``) is stored as a new version when it differs from the last one; a
change that did not touch the config (a LIVE-only hotplug) therefore adds nothing.  Before the
first recorded change of a domain that has no history yet, its current definition is stored as
version "existing", so nothing is lost.  Drivers without a store (the remote driver: libvirt has
no such procedure) and read-only connections record nothing, and the API methods refuse there
(``VIR_ERR_NO_SUPPORT`` / ``VIR_ERR_OPERATION_DENIED``: versions hold the secure XML).

A caller can name the operation for the versions recorded inside a block with
:func:`operation` (``with operation("edit"): conn.defineXML(xml)``); otherwise the method's
name is used.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional, cast

from . import constants as C
from .errors import DriverError
from .handle import check_flags as _flags
from .uuids import format_uuid

if TYPE_CHECKING:
    from .connection import virConnect
    from .domain import virDomain
    from .drivers.base import DomainRef
    from .history import HistoryStore



def _log() -> Any:
    import logging  # on first warning only (command-line start-up)
    return logging.getLogger(__name__)

#: virConnect methods that define a domain (they return the virDomain).
DEFINE_METHODS = ("defineXML", "defineXMLFlags")
#: virDomain methods that may change the persistent definition (AFFECT_CONFIG, rename, metadata, ...);
#: names the class does not have (yet) are skipped.
DOMAIN_CHANGE_METHODS = ("attachDevice", "attachDeviceFlags", "detachDevice", "detachDeviceFlags",
                         "detachDeviceAlias", "updateDeviceFlags", "rename", "setMetadata", "setMemory",
                         "setMemoryFlags", "setMaxMemory", "setVcpus", "setVcpusFlags", "revertToSnapshot")
#: virDomain methods that remove the persistent definition.
UNDEFINE_METHODS = ("undefine", "undefineFlags")

_SECURE_INACTIVE = C.VIR_DOMAIN_XML_SECURE | C.VIR_DOMAIN_XML_INACTIVE

#: guiappConfigVersions flag: include each version's XML (one call for a whole history view).
GUIAPP_CONFIG_VERSIONS_XML = 1


class _State(threading.local):
    depth = 0
    label: Optional[str] = None


_state = _State()


@contextlib.contextmanager
def operation(label: str) -> Iterator[None]:
    """Versions recorded by this thread inside the block carry ``label`` as their operation."""
    old = _state.label
    _state.label = label
    try:
        yield
    finally:
        _state.label = old


def _user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _store(conn: virConnect) -> Optional[HistoryStore]:
    """The connection's store, or None where nothing is recorded (read-only, closed, no store)."""
    fn = getattr(conn._driver, "history_store", None)
    if fn is None or conn._ro or conn._closed:
        return None
    try:
        return fn()
    except Exception as exc:
        _log().warning("config history unavailable on %s: %s", conn._uri, exc)
        return None


def _current(conn: virConnect, uuid: bytes) -> Optional[tuple[str, str]]:
    """(name, secure inactive XML) of the persistent domain ``uuid``, or None (gone or transient)."""
    drv = conn._driver
    try:
        ref = drv.lookup_by_uuid(uuid)
        if not drv.domain_is_persistent(ref):
            return None
        return ref.name, drv.domain_get_xml_desc(ref, _SECURE_INACTIVE)
    except Exception:
        return None


def _entry(conn: virConnect, uuid: bytes, name: str, xml: str, op: str) -> dict[str, Any]:
    return {"time": time.time(), "uri": conn._driver.get_uri(), "user": _user(), "op": op,
            "name": name, "uuid": format_uuid(uuid), "xml": xml}


def _safely(what: str, fn: Callable[[], Any]) -> None:
    """History never makes a successful change fail: a store error is logged."""
    try:
        fn()
    except Exception as exc:
        _log().warning("config history: could not %s: %s", what, exc)


def _baseline(conn: virConnect, store: HistoryStore, uuid: bytes) -> None:
    """Keep the definition a domain had before its first recorded change."""
    if store.has_versions(format_uuid(uuid)):
        return
    cur = _current(conn, uuid)
    if cur is not None:
        store.record(_entry(conn, uuid, cur[0], cur[1], "existing"))


def _record_after(conn: virConnect, store: HistoryStore, uuid: bytes, op: str) -> None:
    cur = _current(conn, uuid)
    if cur is None:
        return
    store.record(_entry(conn, uuid, cur[0], cur[1], op))
    store.clear_deleted(format_uuid(uuid))


def _uuid_of_xml(conn: virConnect, xml: Any) -> Optional[bytes]:
    """The UUID of the domain an XML would redefine (by UUID, else by name), or None."""
    if not isinstance(xml, str):
        return None
    try:
        from .xml.safe import parse_xml
        root = parse_xml(xml)
        drv = conn._driver
        text = (root.findtext("uuid") or "").strip()
        if text:
            from .connection import uuid_from_string
            return drv.lookup_by_uuid(uuid_from_string(text)).uuid
        name = (root.findtext("name") or "").strip()
        return drv.lookup_by_name(name).uuid if name else None
    except Exception:
        return None


def _outermost(fn: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the recording wrapper only for the outermost listed call (defineXML calls defineXMLFlags)."""
    def deco(wrapper: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _state.depth:
                return fn(self, *args, **kwargs)
            _state.depth += 1
            try:
                return wrapper(self, *args, **kwargs)
            finally:
                _state.depth -= 1
        run.__guiapp_history__ = True  # type: ignore[attr-defined]
        return run
    return deco


def _wrap_define(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    @_outermost(fn)
    def run(conn: virConnect, *args: Any, **kwargs: Any) -> Any:
        store = _store(conn)
        if store is not None:
            old = _uuid_of_xml(conn, args[0] if args else kwargs.get("xml"))
            if old is not None:
                _safely("keep the previous definition", lambda: _baseline(conn, store, old))
        dom = fn(conn, *args, **kwargs)
        if store is not None:
            _safely("record a version", lambda: _record_after(conn, store, dom._ref.uuid,
                                                              _state.label or "define"))
        return dom
    return run


def _wrap_change(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    @_outermost(fn)
    def run(dom: virDomain, *args: Any, **kwargs: Any) -> Any:
        conn, uuid = dom._conn, dom._ref.uuid
        store = _store(conn)
        if store is not None:
            _safely("keep the previous definition", lambda: _baseline(conn, store, uuid))
        result = fn(dom, *args, **kwargs)
        if store is not None:
            _safely("record a version", lambda: _record_after(conn, store, uuid, _state.label or name))
        return result
    return run


def _wrap_undefine(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    @_outermost(fn)
    def run(dom: virDomain, *args: Any, **kwargs: Any) -> Any:
        conn, uuid = dom._conn, dom._ref.uuid
        store = _store(conn)
        before = _current(conn, uuid) if store is not None else None
        if store is not None:
            _safely("keep the previous definition", lambda: _baseline(conn, store, uuid))
        result = fn(dom, *args, **kwargs)
        if store is not None and before is not None:
            def keep() -> None:
                store.record(_entry(conn, uuid, before[0], before[1], _state.label or "undefine"))
                if _current(conn, uuid) is None:
                    store.mark_deleted(format_uuid(uuid), before[0])
            _safely("keep the undefined definition", keep)
        return result
    return run


def install(conn_cls: type, dom_cls: type) -> None:
    """Wrap the listed methods of the two classes (once; names a class lacks are skipped)."""
    for cls, names, wrap in ((conn_cls, DEFINE_METHODS, _wrap_define),
                             (dom_cls, DOMAIN_CHANGE_METHODS, _wrap_change),
                             (dom_cls, UNDEFINE_METHODS, _wrap_undefine)):
        for name in names:
            fn = getattr(cls, name, None)
            if fn is None or getattr(fn, "__guiapp_history__", False):
                continue
            setattr(cls, name, wrap(fn, name))


# ------------------------------------------------------------------------ the public API
def _need_store(conn: virConnect, api: str) -> HistoryStore:
    if conn._ro:
        raise DriverError(C.VIR_ERR_OPERATION_DENIED,
                          f"{api}: config versions hold the full (secure) domain XML; open the connection "
                          f"read-write to read them", C.VIR_FROM_DOMAIN)
    fn = getattr(conn._driver, "history_store", None)
    if fn is None:
        raise DriverError(C.VIR_ERR_NO_SUPPORT,
                          f"{api}: config history is a guiapp extension kept by guiapp's own drivers (test, "
                          f"qemu, xen); the '{conn._driver.get_type()}' connection (libvirt has no such "
                          f"procedure) keeps none", C.VIR_FROM_DOMAIN)
    return fn()


def _find(versions: list[dict[str, Any]], version: Any, what: str) -> dict[str, Any]:
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"version must be a version number (0: the latest), not {version!r}")
    if not versions:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"{what} has no config history")
    if version == 0:
        return versions[-1]
    for v in versions:
        if v["version"] == version:
            return v
    kept = ", ".join(str(v["version"]) for v in versions[-10:])
    raise DriverError(C.VIR_ERR_INVALID_ARG, f"{what} has no kept version {version} (latest kept: {kept})")


def _uuid_text(conn: virConnect, uuidstr: Any) -> str:
    from .connection import uuid_from_string
    return format_uuid(uuid_from_string(uuidstr))


class HistoryDomainMethods:
    """Config history methods of virDomain (guiapp extension)."""

    __slots__ = ()
    _conn: virConnect
    _ref: DomainRef

    def _uuid(self) -> str:
        return format_uuid(self._ref.uuid)

    def guiappConfigVersions(self, flags: int = 0) -> list[dict[str, Any]]:
        """Kept versions, oldest first: ``{version, time, uri, user, op, name, uuid}`` (+ ``xml`` with
        GUIAPP_CONFIG_VERSIONS_XML)."""
        return self._conn.guiappConfigVersionsByUUID(self._uuid(), flags)

    def guiappConfigVersionXML(self, version: int, flags: int = 0) -> str:
        """The full (secure) XML of ``version`` (0: the latest)."""
        return self._conn.guiappConfigVersionXMLByUUID(self._uuid(), version, flags)

    def guiappConfigDiff(self, version1: int, version2: Optional[int] = None, flags: int = 0) -> str:
        """Unified diff from ``version1`` to ``version2`` (None: the current persistent definition)."""
        conn = self._conn

        def run() -> str:
            from .history import unified_diff
            _flags(flags)
            versions = _need_store(conn, "guiappConfigDiff").versions(self._uuid())
            a = _find(versions, version1, f"domain '{self._ref.name}'")
            if version2 is None:
                cur = _current(conn, self._ref.uuid)
                if cur is None:
                    raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                      f"domain '{self._ref.name}' has no persistent definition to compare with")
                return unified_diff(a["xml"], cur[1], f"version {a['version']}", "current")
            b = _find(versions, version2, f"domain '{self._ref.name}'")
            return unified_diff(a["xml"], b["xml"], f"version {a['version']}", f"version {b['version']}")
        return conn._checked(False, "guiappConfigDiff", run)

    def guiappConfigRevert(self, version: int, flags: int = 0) -> int:
        """Define the XML of ``version`` again (as a new version; the domain keeps its current name)."""
        conn = self._conn

        def check() -> str:
            _flags(flags)
            v = _find(_need_store(conn, "guiappConfigRevert").versions(self._uuid()), version,
                      f"domain '{self._ref.name}'")
            return _renamed(v["xml"], self._ref.name)
        xml = conn._checked(True, "guiappConfigRevert", check)
        with operation(f"revert to {version or 'latest'}"):
            conn.defineXML(xml)
        return 0


def _renamed(xml: str, name: str) -> str:
    """``xml`` with its ``<name>`` set to ``name`` (a revert keeps the domain's current name)."""
    from lxml import etree

    from .xml.safe import parse_xml
    root = parse_xml(xml)
    el = root.find("name")
    if el is None or el.text == name:
        return xml
    el.text = name
    return etree.tostring(root, encoding="unicode")


class HistoryConnMethods:
    """Config history methods of virConnect (guiapp extension)."""

    __slots__ = ()

    def guiappConfigVersionsByUUID(self, uuidstr: str, flags: int = 0) -> list[dict[str, Any]]:
        """Kept versions of the domain (defined or deleted) with this UUID, oldest first (XML: see the flag)."""
        conn = cast("virConnect", self)

        def run() -> list[dict[str, Any]]:
            if _flags(flags) & ~GUIAPP_CONFIG_VERSIONS_XML:
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"unsupported flags 0x{flags:x}: only "
                                                         f"GUIAPP_CONFIG_VERSIONS_XML (1) is known")
            kept = _need_store(conn, "guiappConfigVersions").versions(_uuid_text(conn, uuidstr))
            from .history import meta
            return kept if flags & GUIAPP_CONFIG_VERSIONS_XML else [meta(v) for v in kept]
        return conn._checked(False, "guiappConfigVersions", run)

    def guiappConfigVersionXMLByUUID(self, uuidstr: str, version: int, flags: int = 0) -> str:
        """The full (secure) XML of ``version`` (0: the latest) of the domain with this UUID."""
        conn = cast("virConnect", self)

        def run() -> str:
            _flags(flags)
            uuid = _uuid_text(conn, uuidstr)
            v = _find(_need_store(conn, "guiappConfigVersionXML").versions(uuid), version, f"domain {uuid}")
            return v["xml"]
        return conn._checked(False, "guiappConfigVersionXML", run)

    def guiappDeletedDomains(self, flags: int = 0) -> list[dict[str, Any]]:
        """Undefined domains still restorable: ``{uuid, name, deleted, expires, versions}``, oldest first."""
        conn = cast("virConnect", self)

        def run() -> list[dict[str, Any]]:
            _flags(flags)
            return _need_store(conn, "guiappDeletedDomains").deleted()
        return conn._checked(False, "guiappDeletedDomains", run)

    def guiappRestoreDeleted(self, which: str, version: int = 0, flags: int = 0) -> virDomain:
        """Define a deleted domain again (named by UUID or by its last name) from ``version`` (0: the last)."""
        conn = cast("virConnect", self)

        def check() -> str:
            _flags(flags)
            if not isinstance(which, str) or not which:
                raise DriverError(C.VIR_ERR_INVALID_ARG, "name the deleted domain by its UUID or its name")
            store = _need_store(conn, "guiappRestoreDeleted")
            gone = store.deleted()
            hits = [d for d in gone if d["uuid"] == which.lower() or d["name"] == which]
            if not hits:
                names = ", ".join(f"{d['name']} ({d['uuid']})" for d in gone) or "none"
                raise DriverError(C.VIR_ERR_NO_DOMAIN,
                                  f"no deleted domain '{which}' is kept; restorable: {names}")
            uuid = hits[-1]["uuid"]
            return _find(store.versions(uuid), version, f"deleted domain '{which}'")["xml"]
        xml = conn._checked(True, "guiappRestoreDeleted", check)
        with operation("restore"):
            return conn.defineXML(xml)


__all__ = ["GUIAPP_CONFIG_VERSIONS_XML", "DEFINE_METHODS", "DOMAIN_CHANGE_METHODS", "UNDEFINE_METHODS", "operation",
           "install", "HistoryDomainMethods", "HistoryConnMethods"]
