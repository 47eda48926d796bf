"""virDomain: one domain of a connection, with libvirt-python's method names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from . import constants as C
from .drivers.base import DomainRef
from .errors import DriverError, libvirtError
from .handle import Handle, check_positive
from .handle import check_flags as _flags
from .hardware import HardwareMethods
from .history_api import HistoryDomainMethods
from .snapshot import SnapshotMethods

if TYPE_CHECKING:
    from .storage import virStream

#: XMLDesc flags that may reveal secrets (libvirt refuses both on read-only connections).
_SECRET_XML_FLAGS = C.VIR_DOMAIN_XML_SECURE | C.VIR_DOMAIN_XML_MIGRATABLE


def _secure_flags_allowed(read_only: bool, flags: int) -> None:
    """libvirt's rule, for every driver: a read-only connection never gets the secure XML."""
    _flags(flags)
    if read_only and flags & _SECRET_XML_FLAGS:
        raise DriverError(C.VIR_ERR_OPERATION_DENIED, "virDomainGetXMLDesc with secure flag", C.VIR_FROM_DOMAIN)


class virDomain(HistoryDomainMethods, SnapshotMethods, HardwareMethods, Handle):
    """A handle on a domain; it stays valid while the domain exists in its driver."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<virDomain {self._ref.name} id={self._ref.id}>"

    def ID(self) -> int:
        """The id at lookup time, updated by create/destroy through this handle (-1 when inactive)."""
        return self._ref.id

    def OSType(self) -> str:
        return self._conn._invoke("domain_get_os_type", False, self._ref)

    # ------------------------------------------------------------------- state
    def info(self) -> list:
        """[state, maxMemory KiB, memory KiB, nrVirtCpu, cpuTime ns]."""
        return self._conn._invoke("domain_get_info", False, self._ref)

    def state(self, flags: int = 0) -> list:
        """[state, reason]."""
        if flags:
            self._conn._checked(False, "virDomainGetState", lambda: _flags(flags))
        return self._conn._invoke("domain_get_state", False, self._ref, flags)

    def XMLDesc(self, flags: int = 0) -> str:
        """The domain XML; secrets (VIR_DOMAIN_XML_SECURE, MIGRATABLE) only on a read-write connection."""
        if flags:
            self._conn._checked(False, "virDomainGetXMLDesc", lambda: _secure_flags_allowed(self._conn._ro, flags))
        return self._conn._invoke("domain_get_xml_desc", False, self._ref, flags)

    def isActive(self) -> int:
        return 1 if self._conn._invoke("domain_is_active", False, self._ref) else 0

    def isPersistent(self) -> int:
        return 1 if self._conn._invoke("domain_is_persistent", False, self._ref) else 0

    def autostart(self) -> int:
        return 1 if self._conn._invoke("domain_get_autostart", False, self._ref) else 0

    def securityLabel(self) -> list:
        """[label, enforcing] of a running domain."""
        return self._conn._invoke("domain_get_security_label", False, self._ref)

    def maxMemory(self) -> int:
        return self._conn._invoke("domain_get_max_memory", False, self._ref)

    def maxVcpus(self) -> int:
        return self._conn._invoke("domain_get_max_vcpus", False, self._ref)

    # --------------------------------------------------------------- lifecycle
    def create(self) -> int:
        return self.createWithFlags(0)

    def createWithFlags(self, flags: int = 0) -> int:
        self._conn._checked(True, "virDomainCreate", lambda: _flags(flags))
        ref = self._conn._invoke("domain_create", True, self._ref, flags)
        if isinstance(ref, DomainRef):
            self._ref = ref
        return 0

    def shutdown(self) -> int:
        return self.shutdownFlags(0)

    def shutdownFlags(self, flags: int = 0) -> int:
        self._conn._checked(True, "virDomainShutdown", lambda: _flags(flags))
        self._conn._invoke("domain_shutdown", True, self._ref, flags)
        try:  # a driver that shuts down synchronously (test, as libvirt's) leaves the handle with id -1
            if not self._conn._invoke("domain_is_active", False, self._ref):
                self._ref = self._ref._replace(id=-1)
        except libvirtError:
            pass  # a transient domain that is gone after shutdown
        return 0

    def destroy(self) -> int:
        return self.destroyFlags(0)

    def destroyFlags(self, flags: int = 0) -> int:
        self._conn._checked(True, "virDomainDestroy", lambda: _flags(flags))
        self._conn._invoke("domain_destroy", True, self._ref, flags)
        self._ref = self._ref._replace(id=-1)
        return 0

    def suspend(self) -> int:
        self._conn._invoke("domain_suspend", True, self._ref)
        return 0

    def resume(self) -> int:
        self._conn._invoke("domain_resume", True, self._ref)
        return 0

    def reboot(self, flags: int = 0) -> int:
        self._conn._checked(True, "virDomainReboot", lambda: _flags(flags))
        self._conn._invoke("domain_reboot", True, self._ref, flags)
        return 0

    def reset(self, flags: int = 0) -> int:
        """Reset at once, like the reset button: no guest shutdown (virDomainReset)."""
        self._conn._checked(True, "virDomainReset", lambda: _flags(flags))
        self._conn._invoke("domain_reset", True, self._ref, flags)
        return 0

    def save(self, to: str) -> int:
        return self.saveFlags(to, None, 0)

    def managedSave(self, flags: int = 0) -> int:
        """Save the state where the driver keeps it and stop; the next start restores it."""
        self._conn._checked(True, "virDomainManagedSave", lambda: _flags(flags))
        self._conn._invoke("domain_managed_save", True, self._ref, flags)
        self._ref = self._ref._replace(id=-1)
        return 0

    def hasManagedSaveImage(self, flags: int = 0) -> int:
        self._conn._checked(False, "virDomainHasManagedSaveImage", lambda: _flags(flags))
        return int(bool(self._conn._invoke("domain_has_managed_save_image", False, self._ref, flags)))

    def managedSaveRemove(self, flags: int = 0) -> int:
        self._conn._checked(True, "virDomainManagedSaveRemove", lambda: _flags(flags))
        self._conn._invoke("domain_managed_save_remove", True, self._ref, flags)
        return 0

    def saveFlags(self, to: str, dxml: Optional[str] = None, flags: int = 0) -> int:
        def check() -> None:
            if not isinstance(to, str) or not to:
                raise DriverError(C.VIR_ERR_INVALID_ARG,
                                  "the path to save the domain state to must be a non-empty string")
            if dxml is not None and not isinstance(dxml, str):
                raise DriverError(C.VIR_ERR_INVALID_ARG, "dxml must be a string or None")
            _flags(flags)
        self._conn._checked(True, "virDomainSave", check)
        self._conn._invoke("domain_save", True, self._ref, to, dxml, flags)
        self._ref = self._ref._replace(id=-1)
        return 0

    def undefine(self) -> int:
        return self.undefineFlags(0)

    def undefineFlags(self, flags: int = 0) -> int:
        self._conn._checked(True, "virDomainUndefine", lambda: _flags(flags))
        self._conn._invoke("domain_undefine", True, self._ref, flags)
        return 0

    # ---------------------------------------------------------------- resources
    def setMemory(self, memory: int) -> int:
        """Balloon a running domain to ``memory`` KiB (libvirt's virDomainSetMemory: the live domain only)."""
        return self.setMemoryFlags(memory, C.VIR_DOMAIN_AFFECT_LIVE)

    def setMemoryFlags(self, memory: int, flags: int = 0) -> int:
        """Set the current memory (balloon) in KiB."""
        def check() -> None:
            check_positive(memory, "memory (KiB)")
            _flags(flags)
        self._conn._checked(True, "virDomainSetMemory", check)
        self._conn._invoke("domain_set_memory", True, self._ref, memory, flags)
        return 0

    def setMaxMemory(self, memory: int) -> int:
        """Set the maximum memory in KiB."""
        self._conn._checked(True, "virDomainSetMaxMemory", lambda: check_positive(memory, "maximum memory (KiB)"))
        self._conn._invoke("domain_set_max_memory", True, self._ref, memory)
        return 0

    def setVcpus(self, nvcpus: int) -> int:
        """Set the running domain's vCPUs (libvirt's virDomainSetVcpus: the live domain only)."""
        return self.setVcpusFlags(nvcpus, C.VIR_DOMAIN_AFFECT_LIVE)

    def setVcpusFlags(self, nvcpus: int, flags: int = 0) -> int:
        def check() -> None:
            check_positive(nvcpus, "the number of vCPUs")
            _flags(flags)
        self._conn._checked(True, "virDomainSetVcpus", check)
        self._conn._invoke("domain_set_vcpus", True, self._ref, nvcpus, flags)
        return 0

    def setAutostart(self, autostart: int) -> int:
        self._conn._checked(True, "virDomainSetAutostart", lambda: None)
        self._conn._invoke("domain_set_autostart", True, self._ref, bool(autostart))
        return 0

    # ----------------------------------------------------------------- console
    def openConsole(self, dev_name: Optional[str], st: virStream, flags: int = 0) -> int:
        """Attach ``st`` to the domain's text console (``dev_name`` None: the first console or serial).

        One session per device: a second open fails with VIR_ERR_OPERATION_FAILED unless
        VIR_DOMAIN_CONSOLE_FORCE, which ends the other session (its ``recv`` returns b'')."""
        def check() -> None:
            if dev_name is not None and not isinstance(dev_name, str):
                raise DriverError(C.VIR_ERR_INVALID_ARG, "dev_name must be a device alias such as 'serial0', or None")
            _flags(flags)
            st._check_unused(self._conn)
        self._conn._checked(True, "virDomainOpenConsole", check)
        st._attach(self._conn._invoke("domain_open_console", True, self._ref, dev_name, flags), upload=None)
        return 0
