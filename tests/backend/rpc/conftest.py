"""RPC test fixtures: a private Debian libvirtd (tests/helpers/libvirtd.py)."""

import importlib.util
import sys
from pathlib import Path


def _load_libvirtd_fixtures():  # shared with tests/backend/drivers/remote (same module name)
    name = "guiapp_tests_libvirtd"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "helpers" / "libvirtd.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_lv = _load_libvirtd_fixtures()
libvirtd = _lv.libvirtd
own_libvirtd = _lv.own_libvirtd
