"""Helpers shared by the test suite, one home each (``tests/`` is on ``sys.path`` via pyproject's pythonpath).

* :func:`load_module`: import a test file by path under a unique name (fixtures kept next to their tests);
* :func:`real_libvirt`: Debian's python3-libvirt, the real peer guiapp is compared with (skips without it).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TESTS = Path(__file__).resolve().parents[1]
DEBIAN_PYTHON = "/usr/lib/python3/dist-packages"


def load_module(relpath: str, name: str) -> ModuleType:
    """The module in ``tests/<relpath>``, imported once as ``name`` (no sys.path change)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TESTS / relpath)
        assert spec is not None and spec.loader is not None, relpath
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def real_libvirt() -> ModuleType:
    """Debian's libvirt-python (``import libvirt``), or skip the test when python3-libvirt is missing.

    Debian's dist-packages is on sys.path only for this import, so its other modules cannot leak into tests.
    """
    if "libvirt" in sys.modules:
        return sys.modules["libvirt"]
    added = DEBIAN_PYTHON not in sys.path
    if added:
        sys.path.append(DEBIAN_PYTHON)
    try:
        return pytest.importorskip("libvirt", reason="python3-libvirt is not installed")
    finally:
        if added:
            sys.path.remove(DEBIAN_PYTHON)
