"""Files the Xen driver keeps: persistent definitions (libxl has no store of its own) and runtime state.

``<config_dir>/<name>.xml``        persistent domain XML (written atomically)
``<config_dir>/autostart/<name>``  autostart marker
``<state_dir>/<name>.xml``         the live XML of a running domain (with its id)
``<state_dir>/<name>.cfg``         the xl.cfg it was started from
``<save file>.xml``                the domain XML next to an ``xl save`` image
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ...filestore import atomic_write, check_file_name, clean_temp_files, store_document
from ...xml.domain import DomainDef, parse_domain


def default_config_dir() -> Path:
    env = os.environ.get("GUIAPP_XEN_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "guiapp" / "xen"


def default_state_dir(config_dir: Path) -> Path:
    env = os.environ.get("GUIAPP_XEN_STATE_DIR")
    return Path(env) if env else config_dir / "run"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a partial one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DriverError(C.VIR_ERR_WRITE_FAILED, f"{path.parent}: {exc.strerror or exc}", C.VIR_FROM_XEN) from None
    atomic_write(path, text, error_domain=C.VIR_FROM_XEN)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"cannot remove {path}: {exc.strerror or exc}",
                          C.VIR_FROM_XEN) from None


class Store:
    """The driver's files (see the module docstring)."""

    def __init__(self, config_dir: Path, state_dir: Path) -> None:
        self.config_dir = Path(config_dir)
        self.state_dir = Path(state_dir)
        #: files that could not be loaded, with the reason (shown, never deleted)
        self.broken: dict[str, str] = {}

    def _def_path(self, name: str) -> Path:
        check_file_name(name, ".xml", "domain", C.VIR_FROM_XEN)  # refused with the limit, before any write
        return self.config_dir / f"{name}.xml"

    # -- persistent definitions -------------------------------------------------
    def load_definitions(self) -> dict[str, DomainDef]:
        out: dict[str, DomainDef] = {}
        self.broken = {}
        if not self.config_dir.is_dir():
            return out
        for path in sorted(self.config_dir.glob("*.xml")):
            try:
                d = parse_domain(path.read_bytes(), hypervisor="xen")
            except (OSError, DriverError) as exc:
                self.broken[str(path)] = str(exc)
                continue
            out[d.name] = d
        return out

    def save_definition(self, d: DomainDef) -> None:
        """Store ``d`` atomically, only if it reads back as the same domain (a failed write keeps the old one)."""
        path = self._def_path(d.name)
        try:
            self.config_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DriverError(C.VIR_ERR_WRITE_FAILED, f"{self.config_dir}: {exc.strerror or exc}",
                              C.VIR_FROM_XEN) from None

        def read_back(raw: bytes) -> None:
            back = parse_domain(raw, hypervisor="xen")
            if back.name != d.name or back.uuid != d.uuid:
                raise DriverError(C.VIR_ERR_XML_ERROR, f"it reads back as domain '{back.name}'", C.VIR_FROM_XEN)
        store_document(path, d.to_xml(inactive=True, secure=False), read_back, f"domain '{d.name}'", C.VIR_FROM_XEN)

    def clean_temp_files(self) -> list[str]:
        """Remove temp files left by interrupted writes (only ours, only in our directories)."""
        removed = []
        for d in (self.config_dir, self.config_dir / "autostart", self.state_dir):
            removed += [str(d / n) for n in clean_temp_files(d)]
        return removed

    def remove_definition(self, name: str) -> None:
        _unlink(self._def_path(name))
        _unlink(self.config_dir / "autostart" / name)

    def autostart(self, name: str) -> bool:
        return (self.config_dir / "autostart" / name).exists()

    def set_autostart(self, name: str, on: bool) -> None:
        marker = self.config_dir / "autostart" / name
        if on:
            write_atomic(marker, f"{name}\n")
        else:
            _unlink(marker)

    # -- running domains ----------------------------------------------------------
    def save_status(self, d: DomainDef) -> None:
        write_atomic(self.state_dir / f"{d.name}.xml", d.to_xml(secure=False))

    def load_status(self, name: str) -> Optional[DomainDef]:
        path = self.state_dir / f"{name}.xml"
        try:
            return parse_domain(path.read_bytes(), hypervisor="xen")
        except (OSError, DriverError):
            return None

    def remove_status(self, name: str) -> None:
        _unlink(self.state_dir / f"{name}.xml")

    def write_cfg(self, name: str, text: str) -> Path:
        path = self.state_dir / f"{name}.cfg"
        write_atomic(path, text)
        return path

    # -- save images ----------------------------------------------------------------
    @staticmethod
    def save_sidecar(image: str, d: DomainDef) -> None:
        write_atomic(Path(image + ".xml"), d.to_xml(secure=False))

    @staticmethod
    def load_sidecar(image: str) -> Optional[str]:
        try:
            return Path(image + ".xml").read_text(encoding="utf-8")
        except OSError:
            return None


__all__ = ["Store", "write_atomic", "default_config_dir", "default_state_dir"]
