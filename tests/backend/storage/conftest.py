"""Fixtures of the storage tests: Debian's libvirt-python to compare with, a private qemu:///session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

import guiapp.backend as libvirt


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    yield
    libvirt.registerErrorHandler(None, None)


@pytest.fixture
def real() -> Any:
    """Debian's libvirt-python (skips when it is not installed)."""
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import libvirt as real_lib  # type: ignore[import-not-found]
    except ImportError:
        pytest.skip("python3-libvirt is not installed")
    finally:
        sys.path.remove("/usr/lib/python3/dist-packages")
    real_lib.registerErrorHandler(lambda ctx, err: None, None)
    return real_lib


@pytest.fixture
def session(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A qemu:///session connection whose config, runtime and images live under tmp_path."""
    for var, sub in (("XDG_RUNTIME_DIR", "run"), ("XDG_CONFIG_HOME", "cfg"), ("XDG_DATA_HOME", "data")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    conn = libvirt.open("qemu:///session")
    yield conn
    conn.close()
