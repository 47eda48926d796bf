"""Finishing the wizard on the job pool: create disks, define, optionally start; undo everything on failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.history_api import operation
from guiapp.backend.osinfo.netinstall import BootFiles, fetch_boot_files, install_pair, remove_files, start_domain

Progress = Callable[[int, str], None]


@dataclass
class DiskPlan:
    """A disk the wizard creates: a volume in ``pool`` (storage API), or else a file made with ``qemu-img``."""

    path: str
    format: str  # qcow2 | raw
    size_bytes: int
    create_parent: bool = False  # the default images folder is made when missing (files only)
    pool: Optional[str] = None  # create the disk as volume basename(path) of this pool
    start_pool: bool = False  # the pool is inactive: start it first (the user chose it for this disk)


@dataclass
class CreatePlan:
    uri: str
    name: str
    xml: str
    disks: list[DiskPlan] = field(default_factory=list)
    start: bool = False
    boot: Optional[BootFiles] = None  # a network install: fetch these, start the install XML, keep ``xml`` as final
    customize: bool = False  # define only; the VM window's Begin Installation starts it (with the install run)


@dataclass
class Created:
    name: str
    uuid: bytes
    started: bool
    disks: list[DiskPlan] = field(default_factory=list)  # the storage this finish made (Cancel Installation)
    install_xml: Optional[str] = None  # how the first start boots, when not as the definition does
    boot_files: list[str] = field(default_factory=list)  # fetched installer files, removed once it has started


class CreateError(Exception):
    """A failed finish: the cause, the step that failed and what (if anything) was left behind."""

    def __init__(self, cause: BaseException, step: str, remains: list[str], cleaned: list[str]) -> None:
        self.cause = cause
        self.step = step
        self.remains = remains
        self.cleaned = cleaned
        super().__init__(self._text())

    def _text(self) -> str:
        lines = [f"{self.step} failed: {self.cause}"]
        if self.remains:
            lines.append("These were left behind and must be removed by hand: " + "; ".join(self.remains) + ".")
        elif self.cleaned:
            lines.append("Nothing was left behind (undone: " + "; ".join(self.cleaned) + ").")
        else:
            lines.append("Nothing was left behind.")
        return "\n".join(lines)

    # libvirtError's accessors, so the error dialog shows the cause's code and domain
    def get_error_code(self) -> Optional[int]:
        getc = getattr(self.cause, "get_error_code", None)
        if getc is not None:
            return getc()
        return getattr(self.cause, "code", None)

    def get_error_domain(self) -> Optional[int]:
        getd = getattr(self.cause, "get_error_domain", None)
        if getd is not None:
            return getd()
        return getattr(self.cause, "domain", None)


def qemu_img() -> str:
    found = shutil.which("qemu-img")
    if found is None:
        raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                          "qemu-img is not installed, so no disk image can be created "
                          "(apt-get install qemu-utils, or choose an existing disk)")
    return found


def create_disk_image(plan: DiskPlan) -> None:
    """``qemu-img create`` a new image; never overwrites an existing file."""
    if plan.format not in ("qcow2", "raw"):
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"disk format '{plan.format}' is not supported; use qcow2 or raw")
    if plan.size_bytes <= 0:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"disk size must be positive, not {plan.size_bytes} bytes")
    if os.path.lexists(plan.path):
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"{plan.path} already exists; it was not overwritten")
    tool = qemu_img()
    parent = os.path.dirname(plan.path)
    if plan.create_parent and parent and not os.path.isdir(parent):
        os.makedirs(parent, exist_ok=True)  # the default images folder; kept (it is not a half-made guest)
    try:  # made here first, 0600 and never over an existing file; qemu-img then writes into it
        os.close(os.open(plan.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except FileExistsError:
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"{plan.path} already exists; it was not overwritten") from None
    except OSError as exc:
        raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                          f"cannot create disk image {plan.path}: {exc.strerror or exc}") from None
    argv = [tool, "create", "-q", "-f", plan.format, plan.path, str(plan.size_bytes)]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise DriverError(C.VIR_ERR_OPERATION_TIMEOUT, f"qemu-img create {plan.path} took over 10 minutes") from None
    if res.returncode != 0:
        msg = (res.stderr or res.stdout).strip() or f"exit status {res.returncode}"
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"cannot create disk image {plan.path}: {msg}")


def create_volume(conn: Any, plan: DiskPlan) -> Any:
    """Create ``plan`` as a volume of its pool (started first when asked); returns the virStorageVol."""
    from ..storage.rows import volume_xml

    assert plan.pool is not None
    pool = conn.storagePoolLookupByName(plan.pool)
    if plan.start_pool and not pool.isActive():
        pool.create(0)
    vol = pool.createXML(volume_xml(os.path.basename(plan.path), plan.format, plan.size_bytes), 0)
    if vol.path() != plan.path:  # the domain XML names plan.path: it must be this volume
        vol.delete(0)
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"pool '{plan.pool}' made the volume at {vol.path()}, "
                                                      f"not at {plan.path}; choose the path again")
    return vol


def run_create(conn: Any, plan: CreatePlan, progress: Progress = lambda _p, _t: None) -> Created:
    """Create the disks, define the domain and start it if asked.  Runs on the pool.

    On failure every step done by this run is undone (domain undefined, created
    images removed) and :class:`CreateError` says what failed and what remains.
    """
    created: list[Any] = []  # paths of files made, virStorageVol of volumes made
    dom = None
    step = "Preparing"
    # a network install runs its installer now, unless the user customizes first (Begin Installation starts it)
    start = (plan.start or plan.boot is not None) and not plan.customize
    steps = len(plan.disks) + 1 + (1 if start else 0) + (1 if plan.boot is not None else 0)
    done = 0
    try:
        if plan.boot is not None:
            step = "Fetching the installer kernel and initrd"
            created += fetch_boot_files(plan.boot, lambda p, t: progress(int(100 * p / 100 / steps), t))
            done += 1
        for disk in plan.disks:
            if disk.pool is not None:
                step = f"Creating volume {os.path.basename(disk.path)} in pool {disk.pool}"
                progress(int(100 * done / steps), step)
                created.append(create_volume(conn, disk))
            else:
                step = f"Creating disk image {disk.path}"
                progress(int(100 * done / steps), step)
                if not os.path.lexists(disk.path):
                    created.append(disk.path)  # whatever appears there from now on is ours
                create_disk_image(disk)
            done += 1
        step = f"Defining {plan.name}"
        progress(int(100 * done / steps), step)
        install_xml: Optional[str] = None
        xml = plan.xml
        if plan.boot is not None:
            install_xml, xml = install_pair(plan.xml, plan.boot)
        with operation("wizard"):  # the config history names where the first version came from
            dom = conn.defineXML(xml)
        done += 1
        boot_files = [p for p in created if isinstance(p, str) and plan.boot is not None
                      and p in (plan.boot.kernel_path, plan.boot.initrd_path)]
        started = False
        if start:
            step = f"Starting the installer of {plan.name}" if install_xml else f"Starting {plan.name}"
            progress(int(100 * done / steps), step)
            start_domain(conn, dom, install_xml)
            remove_files(boot_files)  # QEMU has read them
            boot_files, started = [], True
        progress(100, "Done: the installer runs; the guest boots from its disk afterwards" if install_xml and started
                 else "Done")
        return Created(dom.name(), dom.UUID(), started, list(plan.disks), install_xml, boot_files)
    except BaseException as exc:
        remains, cleaned = rollback(conn, dom, created, plan)
        raise CreateError(exc, step, remains, cleaned) from exc


def rollback(conn: Any, dom: Any, created: list[Any], plan: CreatePlan) -> tuple[list[str], list[str]]:
    """Undo a partial finish; returns (what remains, what was undone)."""
    remains: list[str] = []
    cleaned: list[str] = []
    if dom is not None:
        try:
            if dom.isActive():
                dom.destroy()
        except Exception:
            pass
        try:
            dom.undefine()
            cleaned.append(f"definition of '{plan.name}' removed")
        except Exception as exc:
            remains.append(f"the definition of '{plan.name}' on {plan.uri} (could not undefine it: {exc})")
    for path in created:
        if not isinstance(path, str):  # a volume
            try:
                where = f"volume {path.name()} of pool {path.storagePoolLookupByVolume().name()}"
                path.delete(0)
                cleaned.append(f"{where} deleted")
            except Exception as exc:
                remains.append(f"the volume {path.name()} ({exc})")
            continue
        try:
            os.unlink(path)
            cleaned.append(f"{path} deleted")
        except FileNotFoundError:
            pass
        except OSError as exc:
            remains.append(f"the disk image {path} ({exc.strerror})")
    return remains, cleaned


def cancel_install(conn: Any, uri: str, created: Created) -> list[str]:
    """Cancel Installation: stop and undefine the domain, delete the storage its finish made.  Runs on the pool.

    Returns what was removed; raises :class:`CreateError` naming what is left when something could not be.
    """
    dom = conn.lookupByUUID(created.uuid)
    made: list[Any] = []
    for disk in created.disks:
        if disk.pool is None:
            made.append(disk.path)
            continue
        try:
            made.append(conn.storagePoolLookupByName(disk.pool).storageVolLookupByName(os.path.basename(disk.path)))
        except Exception:  # removed by hand meanwhile: nothing to delete
            pass
    made += created.boot_files  # a network install's fetched kernel and initrd, not started yet
    remains, cleaned = rollback(conn, dom, made, CreatePlan(uri, created.name, ""))
    if remains:
        raise CreateError(DriverError(C.VIR_ERR_OPERATION_FAILED, "not everything could be removed"),
                          f"Cancelling the installation of {created.name}", remains, cleaned)
    return cleaned
