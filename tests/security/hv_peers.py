"""Real peers for the hypervisor security tests: Debian's libvirt-python and the Xen driver tests' fixtures.

(A helper module with its own name, imported by ``test_qemu_argv_injection``, ``test_xlcfg_injection`` and
``test_secrets``.)"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

import pytest

import guiapp.backend as libvirt

REAL_LIBVIRT = "/usr/lib/python3/dist-packages"


def real_libvirt() -> Optional[ModuleType]:
    """Debian's libvirt-python (quiet error handler), or None where it is not installed."""
    added = REAL_LIBVIRT not in sys.path
    if added:  # only for this import: Debian's other modules must not leak into later tests
        sys.path.append(REAL_LIBVIRT)
    try:
        import libvirt as real  # type: ignore[import-not-found]
    except ImportError:
        return None
    finally:
        if added:
            sys.path.remove(REAL_LIBVIRT)
    real.registerErrorHandler(lambda ctx, err: None, None)
    return real


def xen_fixtures() -> ModuleType:
    """tests/backend/drivers/xen/conftest.py (oxenstored, fake xl, real ``xl -N``), loaded under its own name."""
    name = "guiapp_tests_xen_conftest"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "backend" / "drivers" / "xen" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]


def session_conn(base: Path) -> Iterator[Any]:
    """A qemu:///session connection with its XDG dirs under ``base`` (for module-scoped fixtures)."""
    if not any(os.access(os.path.join(d, "qemu-system-x86_64"), os.X_OK)
               for d in os.environ.get("PATH", "").split(os.pathsep)):
        pytest.skip("qemu-system-x86_64 is not installed")
    (base / "run").mkdir(exist_ok=True)
    old = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "XDG_CONFIG_HOME")}
    os.environ["XDG_RUNTIME_DIR"] = str(base / "run")
    os.environ["XDG_CONFIG_HOME"] = str(base / "cfg")
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    c = libvirt.open("qemu:///session")
    try:
        yield c
    finally:
        c.close()
        libvirt.registerErrorHandler(None, None)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
