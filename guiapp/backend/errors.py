"""The error model of the seed: coded errors, global and per-connection callbacks, last error.

Drivers raise :class:`DriverError`; the API front-end turns it into a
:class:`libvirtError` after dispatching it the way libvirt does:

1. the connection's callback if one is set, else the global callback
   (:func:`registerErrorHandler`), else the default handler printing on stderr;
2. the error is saved as the thread's last error (:func:`virGetLastError`) and,
   when it belongs to a connection, as that connection's last error.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable, Optional

from . import constants as C

#: (code, domain, message, level, str1, str2, str3, int1, int2), as libvirt-python's err tuple.
ErrorTuple = tuple

ErrorHandler = Callable[[Any, ErrorTuple], Any]

# Prefix libvirt puts before the detail for a code ("operation failed: <detail>").
_PREFIX: dict[int, str] = {
    C.VIR_ERR_INTERNAL_ERROR: "internal error",
    C.VIR_ERR_NO_MEMORY: "out of memory",
    C.VIR_ERR_NO_SUPPORT: "this function is not supported by the connection driver",
    C.VIR_ERR_NO_CONNECT: "no connection driver available for",
    C.VIR_ERR_INVALID_CONN: "invalid connection pointer in",
    C.VIR_ERR_INVALID_DOMAIN: "invalid domain pointer in",
    C.VIR_ERR_INVALID_ARG: "invalid argument",
    C.VIR_ERR_OPERATION_FAILED: "operation failed",
    C.VIR_ERR_OS_TYPE: "unknown OS type",
    C.VIR_ERR_NO_KERNEL: "missing kernel information",
    C.VIR_ERR_NO_ROOT: "missing root device information",
    C.VIR_ERR_NO_SOURCE: "missing source information for device",
    C.VIR_ERR_NO_TARGET: "missing target information for device",
    C.VIR_ERR_NO_NAME: "missing name information",
    C.VIR_ERR_NO_OS: "missing operating system information",
    C.VIR_ERR_NO_DEVICE: "missing devices information",
    C.VIR_ERR_NO_XENSTORE: "could not connect to Xen Store",
    C.VIR_ERR_XML_ERROR: "XML description is invalid or not well formed",
    C.VIR_ERR_DOM_EXIST: "this domain exists already",
    C.VIR_ERR_OPERATION_DENIED: "operation forbidden",
    C.VIR_ERR_OPEN_FAILED: "failed to open configuration file",
    C.VIR_ERR_READ_FAILED: "failed to read configuration file",
    C.VIR_ERR_WRITE_FAILED: "failed to write configuration file",
    C.VIR_ERR_NO_DOMAIN: "Domain not found",
    C.VIR_ERR_INVALID_MAC: "invalid MAC address",
    C.VIR_ERR_OPERATION_INVALID: "Requested operation is not valid",
    C.VIR_ERR_CONFIG_UNSUPPORTED: "unsupported configuration",
    C.VIR_ERR_OPERATION_TIMEOUT: "Timed out during operation",
    C.VIR_ERR_OPERATION_UNSUPPORTED: "Operation not supported",
    C.VIR_ERR_XML_INVALID_SCHEMA: "XML document failed to validate against schema",
    C.VIR_ERR_NO_NETWORK: "Network not found",
    C.VIR_ERR_INVALID_NETWORK: "invalid network pointer in",
    C.VIR_ERR_NETWORK_EXIST: "this network exists already",
    C.VIR_ERR_RESOURCE_BUSY: "resource busy",
    C.VIR_ERR_ACCESS_DENIED: "access denied",
    C.VIR_ERR_AUTH_FAILED: "authentication failed",
    C.VIR_ERR_ARGUMENT_UNSUPPORTED: "argument unsupported",
    C.VIR_ERR_NO_STORAGE_POOL: "Storage pool not found",
    C.VIR_ERR_NO_STORAGE_VOL: "Storage volume not found",
    C.VIR_ERR_STORAGE_VOL_EXIST: "this storage volume exists already",
    C.VIR_ERR_INVALID_STREAM: "invalid stream pointer in",
    C.VIR_ERR_NO_DOMAIN_SNAPSHOT: "Domain snapshot not found",
    C.VIR_ERR_INVALID_DOMAIN_SNAPSHOT: "Invalid snapshot",
    C.VIR_ERR_SNAPSHOT_REVERT_RISKY: "revert requires force",
    C.VIR_ERR_NO_DOMAIN_METADATA: "metadata not found",
    C.VIR_ERR_DEVICE_MISSING: "device not found",
}

# Name shown by the default handler for an error domain ("libvirt: Test Driver error : ...").
_DOMAIN_NAMES: dict[int, str] = {
    C.VIR_FROM_NONE: "",
    C.VIR_FROM_XEN: "Xen Driver",
    C.VIR_FROM_XENSTORE: "Xen Store",
    C.VIR_FROM_XML: "XML Util",
    C.VIR_FROM_DOM: "Domain",
    C.VIR_FROM_CONF: "Config File",
    C.VIR_FROM_QEMU: "QEMU Driver",
    C.VIR_FROM_NET: "Network",
    C.VIR_FROM_TEST: "Test Driver",
    C.VIR_FROM_REMOTE: "Remote Driver",
    C.VIR_FROM_DOMAIN: "Domain Config",
    C.VIR_FROM_NETWORK: "Network Driver",
    C.VIR_FROM_STORAGE: "Storage Driver",
    C.VIR_FROM_LIBXL: "libxenlight",
}


class libvirtError(Exception):
    """The exception every API call raises, with libvirt-python's accessors."""

    def __init__(self, defmsg: str, err: Optional[ErrorTuple] = None) -> None:
        if err is None:
            err = _thread.last
        self.err: Optional[ErrorTuple] = err
        super().__init__(err[2] if err is not None and err[2] else defmsg)

    def get_error_code(self) -> Optional[int]:
        return None if self.err is None else self.err[0]

    def get_error_domain(self) -> Optional[int]:
        return None if self.err is None else self.err[1]

    def get_error_message(self) -> Optional[str]:
        return None if self.err is None else self.err[2]

    def get_error_level(self) -> Optional[int]:
        return None if self.err is None else self.err[3]

    def get_str1(self) -> Optional[str]:
        return None if self.err is None else self.err[4]

    def get_str2(self) -> Optional[str]:
        return None if self.err is None else self.err[5]

    def get_str3(self) -> Optional[str]:
        return None if self.err is None else self.err[6]

    def get_int1(self) -> Optional[int]:
        return None if self.err is None else self.err[7]

    def get_int2(self) -> Optional[int]:
        return None if self.err is None else self.err[8]


class DriverError(Exception):
    """Raised inside drivers and the XML model; the front-end reports it as a libvirtError.

    ``detail`` is the part after libvirt's standard prefix for ``code``
    (``operation failed: <detail>``); it should say what is wrong and what to fix.
    """

    def __init__(self, code: int, detail: str = "", domain: Optional[int] = None,
                 *, str2: Optional[str] = None, str3: Optional[str] = None,
                 int1: int = -1, int2: int = -1) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.domain = domain
        self.str2 = str2
        self.str3 = str3
        self.int1 = int1
        self.int2 = int2
        #: a complete error record received from another libvirt (remote driver): reported unchanged
        self.raw: Optional[ErrorTuple] = None

    @classmethod
    def from_record(cls, record: ErrorTuple) -> DriverError:
        """An error that is reported exactly as ``record`` (code, domain, message... as a daemon sent them)."""
        exc = cls(record[0], record[2] or "", record[1])
        exc.raw = record
        return exc

    def __str__(self) -> str:
        if self.raw is not None:
            return self.raw[2] or ""
        return format_message(self.code, self.detail)


def format_message(code: int, detail: str) -> str:
    """Build libvirt's message for ``code``: ``"<prefix>: <detail>"`` or just one of the two."""
    prefix = _PREFIX.get(code)
    if prefix is None or code == C.VIR_ERR_XML_DETAIL:
        return detail or f"error {code}"
    if code == C.VIR_ERR_XML_ERROR and detail:
        return f"XML error: {detail}"
    if not detail:
        return prefix
    if prefix.endswith(" in") or prefix.endswith(" for"):
        return f"{prefix} {detail}"
    return f"{prefix}: {detail}"


def error_tuple(code: int, domain: int, detail: str, *, str2: Optional[str] = None,
                str3: Optional[str] = None, int1: int = -1, int2: int = -1) -> ErrorTuple:
    """The nine-field error record; str1 is the format, str2 the detail, as libvirt fills them."""
    message = format_message(code, detail)
    prefix = _PREFIX.get(code)
    if prefix is None or code == C.VIR_ERR_XML_DETAIL:
        str1 = "%s"
    elif code == C.VIR_ERR_XML_ERROR and detail:
        str1 = "XML error: %s"
    elif prefix.endswith(" in") or prefix.endswith(" for"):
        str1 = prefix + " %s"
    else:
        str1 = prefix + ": %s" if detail else prefix
    return (code, domain, message, C.VIR_ERR_ERROR, str1,
            str2 if str2 is not None else (detail or None), str3, int1, int2)


class _ThreadState(threading.local):
    last: Optional[ErrorTuple] = None


_thread = _ThreadState()
_global_handler: Optional[tuple[ErrorHandler, Any]] = None


def registerErrorHandler(f: Optional[ErrorHandler], ctx: Any) -> int:
    """Set the global callback ``f(ctx, err_tuple)``; ``None`` restores the default (stderr)."""
    global _global_handler
    if f is not None and not callable(f):
        raise report(C.VIR_ERR_INVALID_ARG, f"registerErrorHandler: the handler must be callable or None, "
                                            f"not {type(f).__name__}")
    _global_handler = None if f is None else (f, ctx)
    return 1


def virGetLastError() -> Optional[ErrorTuple]:
    """The last error reported in this thread, or None."""
    return _thread.last


def virGetLastErrorCode() -> int:
    """The code of this thread's last error (``VIR_ERR_OK``, 0, when there is none)."""
    last = _thread.last
    return last[0] if last is not None else C.VIR_ERR_OK


def virGetLastErrorDomain() -> int:
    """The domain (``VIR_FROM_*``) of this thread's last error (``VIR_FROM_NONE``, 0, when there is none)."""
    last = _thread.last
    return last[1] if last is not None else C.VIR_FROM_NONE


def virGetLastErrorMessage() -> str:
    """The message of this thread's last error, ``'no error'`` when there is none (as libvirt)."""
    last = _thread.last
    return last[2] if last is not None and last[2] else "no error"


def virResetLastError() -> None:
    """Forget this thread's last error."""
    _thread.last = None


def reset_thread_error() -> None:
    """Called at the entry of every API call, as libvirt does."""
    _thread.last = None


def default_handler(err: ErrorTuple) -> None:
    """libvirt's default: print the error on stderr."""
    where = _DOMAIN_NAMES.get(err[1], "")
    sys.stderr.write(f"libvirt: {where} error : {err[2]}\n" if where else f"libvirt: error : {err[2]}\n")


class ErrorSink:
    """Per-connection part of the error model: its callback and its last error."""

    __slots__ = ("handler", "last", "_lock")

    def __init__(self) -> None:
        self.handler: Optional[tuple[ErrorHandler, Any]] = None
        self.last: Optional[ErrorTuple] = None
        self._lock = threading.Lock()

    def set_handler(self, f: Optional[ErrorHandler], ctx: Any) -> None:
        if f is not None and not callable(f):
            raise report(C.VIR_ERR_INVALID_ARG, f"the error handler must be callable or None, not {type(f).__name__}",
                         sink=self)
        self.handler = None if f is None else (f, ctx)

    def store(self, err: ErrorTuple) -> None:
        with self._lock:
            self.last = err


def dispatch(err: ErrorTuple, sink: Optional[ErrorSink] = None) -> libvirtError:
    """Run the callbacks for ``err``, save it as last error and return the exception to raise."""
    handler = sink.handler if sink is not None else None
    if handler is None:
        handler = _global_handler
    _thread.last = err
    if sink is not None:
        sink.store(err)
    if handler is None:
        default_handler(err)
    else:
        f, ctx = handler
        try:
            f(ctx, err)
        except Exception as exc:  # a broken callback must not hide the error itself
            sys.stderr.write(f"guiapp: error handler raised {exc!r}\n")
    return libvirtError(err[2], err)


def report(code: int, detail: str, domain: int = C.VIR_FROM_NONE,
           sink: Optional[ErrorSink] = None, **extra: Any) -> libvirtError:
    """Build, dispatch and return (for raising) an error that did not come from a driver."""
    return dispatch(error_tuple(code, domain, detail, **extra), sink)
