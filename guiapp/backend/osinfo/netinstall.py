"""Network install of a new guest: fetch the tree's installer kernel and initrd, then a two-phase create.

The two phases are virt-install's: the **install** definition boots the fetched
kernel and initrd directly (``<os><kernel>/<initrd>/<cmdline>``, with
``<on_reboot>destroy`` so the installer's final reboot stops the guest instead of
starting the installer again); the **final** definition is the same guest without
them, booting from its disk.  :func:`start_domain` defines the install
definition, starts it, then defines the final one over it while it runs: libvirt
keeps the running guest on the install definition and uses the final one from the
next start on.  This was chosen over ``createXML`` of a transient install
definition because the guest is a persistent, listed domain from the first moment
(a failed start leaves a definition the user can fix, not nothing).

The boot files go to the connection's image folder (the ``default`` pool's
directory) under random names and are removed once QEMU has loaded them (after the
start); a test connection writes nothing: each file is read through, with the same
limits, and thrown away.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from .. import constants as C
from ..errors import DriverError
from ..history_api import operation
from ..uri import parse_uri
from ..xml.domain import parse_domain
from .fetch import MAX_BOOT_FILE, TreeFetcher, check_tree_path

Progress = Callable[[int, str], None]
#: Longest a whole kernel or initrd download may take.
FETCH_DEADLINE = 30 * 60.0


@dataclass(frozen=True)
class BootFiles:
    """Where a tree's installer kernel and initrd come from and where they go on the connection's host."""

    tree_url: str
    kernel_rel: str
    initrd_rel: str
    kernel_path: str
    initrd_path: str
    write: bool  # False on test connections: fetched and checked, nothing written


def boot_dir(uri: str) -> Optional[Path]:
    """Where boot files for ``uri`` go: its default pool's folder; ``None`` for a test connection (no writes)."""
    from ..drivers.qemu.storage import images_dir

    u = parse_uri(uri)
    if u.scheme == "test":
        return None
    if u.scheme == "qemu" and u.is_local and u.path in ("/session", "/system"):
        return images_dir(u.path == "/system") / "boot"
    raise DriverError(C.VIR_ERR_NO_SUPPORT, f"network install is not supported on {uri}: the installer kernel "
                                            f"is fetched to this machine, so use a local qemu:///session or "
                                            f"qemu:///system connection (or Direct kernel boot with your own "
                                            f"files)", C.VIR_FROM_NONE)


def plan_boot_files(uri: str, tree_url: str, kernel_rel: str, initrd_rel: str) -> BootFiles:
    """Validate the tree URL and paths and choose fresh file names (nothing is fetched or written yet)."""
    fetcher = TreeFetcher(tree_url)
    check_tree_path(kernel_rel, "kernel")
    check_tree_path(initrd_rel, "initrd")
    folder = boot_dir(uri)
    tag = secrets.token_hex(6)
    where = folder if folder is not None else Path("/nonexistent/guiapp-test-connection/boot")
    return BootFiles(fetcher.url, kernel_rel, initrd_rel, str(where / f"netinstall-{tag}-kernel"),
                     str(where / f"netinstall-{tag}-initrd"), folder is not None)


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


def fetch_boot_files(files: BootFiles, progress: Progress = lambda _p, _t: None,
                     limit: int = MAX_BOOT_FILE, timeout: Optional[float] = None) -> list[str]:
    """Fetch kernel then initrd; returns the paths written (none on a test connection).

    A file is created exclusively (never over an existing one) and removed again
    when its download fails.
    """
    fetcher = TreeFetcher(files.tree_url) if timeout is None else TreeFetcher(files.tree_url, timeout=timeout)
    written: list[str] = []
    try:
        for i, (rel, path) in enumerate(((files.kernel_rel, files.kernel_path),
                                         (files.initrd_rel, files.initrd_path))):
            what = "kernel" if i == 0 else "initrd"

            def step(done: int, total: Optional[int], what: str = what, i: int = i) -> None:
                frac = done / total if total else 0.0
                progress(int(50 * (i + min(frac, 1.0))), f"Fetching the installer {what}: {done // 1024} KiB")

            deadline = time.monotonic() + FETCH_DEADLINE
            if not files.write:
                fetcher.copy(rel, _Discard(), limit, step, deadline)  # type: ignore[arg-type]
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            except OSError as exc:
                raise DriverError(C.VIR_ERR_WRITE_FAILED, f"cannot create {path} for the installer {what}: "
                                                          f"{exc.strerror}", C.VIR_FROM_NONE) from None
            written.append(path)
            with os.fdopen(fd, "wb") as out:
                fetcher.copy(rel, out, limit, step, deadline)
    except BaseException:
        remove_files(written)
        raise
    progress(100, "Installer kernel and initrd fetched")
    return written


def remove_files(paths: list[str]) -> None:
    """Remove fetched boot files (missing ones are fine)."""
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def install_pair(xml: str, files: BootFiles, hypervisor: Optional[str] = None) -> tuple[str, str]:
    """(install XML, final XML) from the wizard's document: kernel boot of ``files`` vs. boot from disk."""
    defn = parse_domain(xml, hypervisor=hypervisor)
    install = defn.copy()
    install.kernel = files.kernel_path
    install.initrd = files.initrd_path
    install.on_reboot = "destroy"
    install.refresh()
    final = defn.copy()
    final.kernel = final.initrd = final.cmdline = None
    if not final.boot_devs:
        final.boot_devs = ["hd"]
    final.refresh()
    return install.to_xml(), final.to_xml()


def install_config(final_xml: str, install_xml: str) -> str:
    """The definition of the install run: ``final_xml`` (with any customization) booting as ``install_xml`` does.

    As virt-install's two phases: the install run differs from the final definition only in how it boots
    (direct kernel, initrd and command line, boot device order) and in what a reboot does (an installer's
    reboot may end the run); every device, and every change made while customizing, comes from ``final_xml``.
    """
    final, inst = parse_domain(final_xml), parse_domain(install_xml)
    final.kernel, final.initrd, final.cmdline = inst.kernel, inst.initrd, inst.cmdline
    final.boot_devs = list(inst.boot_devs)
    final.on_reboot = inst.on_reboot
    return final.to_xml(secure=False)


def start_domain(conn: Any, dom: Any, install_xml: Optional[str] = None) -> None:
    """Start the defined domain ``dom``; with ``install_xml``, as that install run.

    The install run is defined, started, and the definition put back at once (also when the start fails):
    the running domain boots the installer while its persistent definition is the final one, which libvirt
    applies at the next start (define-while-running sets the next boot's configuration).
    """
    if not install_xml:
        dom.create()
        return
    final = dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE | C.VIR_DOMAIN_XML_SECURE)
    run = install_config(final, install_xml)
    with operation("install"):
        conn.defineXML(run)
    try:
        dom.create()
    finally:
        with operation("install"):
            conn.defineXML(final)


def start_install(conn: Any, install_xml: str, final_xml: str,
                  on_defined: Callable[[Any], None] = lambda _d: None) -> Any:
    """Define the final definition, start it as the install run, and return the domain.

    ``on_defined`` gets the domain as soon as it is defined, so a caller can undo
    the definition when the start fails.
    """
    dom = conn.defineXML(final_xml)
    on_defined(dom)
    start_domain(conn, dom, install_xml)
    return dom


__all__ = ["BootFiles", "boot_dir", "fetch_boot_files", "install_config", "install_pair", "plan_boot_files",
           "remove_files", "start_domain", "start_install"]
